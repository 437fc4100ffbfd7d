package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// recover brings the index up to date with the log at Open (and runs the
// same scan for Check and Repair).
//
// The checkpoint names the log position up to which the fsync'd index is
// complete. Every segment from there on is scanned in order; a record is
// accepted when at least k of its shards carry a valid header for this
// position and a matching checksum (it is then fully recoverable, whether or
// not it was acknowledged). Records of a batch are applied only once the
// batch's last record is seen, so an interrupted batch stays invisible.
// Missing shards of accepted records are rebuilt on the spot.
//
// A record that is not accepted is either a torn tail or damage. The
// committer writes a segment strictly in order and retires it after a failed
// write, so the last write of a crash can only be followed by nothing valid
// in its segment: a bad record with no accepted record after it in the same
// segment is a torn tail and is dropped (it was never acknowledged). A bad
// record with an accepted record after it is damage to written data: Open
// fails with a *CorruptError naming the segment, offset and volumes, and
// replays nothing past it; Check lists every such record; Repair drops them,
// with the records of batches they break (the records of the batch before
// the damage, and those after it up to the first that starts a batch), and
// says what it dropped.
//
// Finally a new active segment is started (never appending after a torn
// tail) and a checkpoint at its start is fsync'd with the index.
func (s *Store) recover(mode replayMode) (*LogReport, error) {
	rep := &LogReport{}
	cp := checkpoint{NextSeq: 1}
	if b, closer, err := s.db.Get(metaCheckpoint); err == nil {
		c, derr := decodeCheckpoint(b)
		closer.Close()
		if derr != nil {
			return rep, fmt.Errorf("%w: %s in %s; the metadata database is damaged (zgda storage rebuild-index rebuilds it from the volumes)", ErrCorrupt, derr, s.cfg.Dir)
		}
		cp = c
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return rep, fmt.Errorf("storage: reading checkpoint: %w", err)
	}
	s.cm.nextSeq = max(cp.NextSeq, 1)
	s.segs.nextID = max(s.segs.nextID, cp.Segment+1)
	rep.Checkpoint = LogPosition{Segment: cp.Segment, Offset: cp.Offset}

	apply := mode != replayCheck
	healShards := mode != replayCheck
	b := s.db.NewIndexedBatch()
	defer func() { b.Close() }()
	for v := range s.vols {
		if s.health[v].get() == volOffline {
			// It may miss anything written since the checkpoint.
			s.markMissing(b, v, rep.Checkpoint)
		}
	}
	delta := statDelta{}
	for _, id := range s.segs.sortedIDs() {
		if id < cp.Segment {
			continue
		}
		off := int64(0)
		if id == cp.Segment {
			off = cp.Offset
		}
		g := s.segs.segs[id]
		rep.Segments++
		// A segment retired after a failed group ends, for replay, where
		// that group began: nothing from there on was acknowledged.
		brokenAt := int64(-1)
		if v, closer, err := s.db.Get(brokenKey(id)); err == nil {
			if p, derr := decodePos(v); derr == nil {
				brokenAt = p.Offset
			}
			closer.Close()
		}
		var pending []logged
		skipping := false // dropping the rest of a batch that a damaged record broke
		var dropped *DroppedRecords
		for {
			if brokenAt >= 0 && off >= brokenAt {
				if len(pending) > 0 {
					s.log.Info("dropped an interrupted batch before a failed group", "segment", id, "records", len(pending))
				}
				break
			}
			rec, next, faults, ok := s.scanRecord(g, off, healShards)
			if !ok {
				q, found := s.nextValidRecord(g, off)
				if !found {
					if s.segFileEnd(g) > off {
						rep.TornTails = append(rep.TornTails, LogPosition{Segment: id, Offset: off})
						s.log.Info("dropped a torn tail (the unacknowledged last write of a crash)", "segment", id, "offset", off,
							"interrupted_batch_records", len(pending))
					} else if len(pending) > 0 {
						s.log.Info("dropped an interrupted batch at the end of the log", "segment", id, "records", len(pending))
					}
					break
				}
				cerr := s.corruptRecord(g, off, q, faults)
				if mode == replayOpen {
					return rep, cerr
				}
				dropped = &DroppedRecords{Segment: id, Offset: off, End: q, Err: cerr}
				for _, r := range pending {
					dropped.BatchKeys = append(dropped.BatchKeys, append([]byte{}, r.key...))
				}
				if apply {
					// The index may already point at what is dropped (its
					// unsynced commits can outlive a process crash).
					for _, r := range pending {
						if err := unindexRecord(b, r, delta); err != nil {
							return rep, err
						}
					}
					if err := s.unindex(b, id, off, q, delta); err != nil {
						return rep, err
					}
				}
				rep.Corrupt = append(rep.Corrupt, dropped)
				pending = pending[:0]
				skipping = true
				off = q
				continue
			}
			rep.Records++
			s.cm.nextSeq = max(s.cm.nextSeq, rec.seq+1)
			off = next
			end := rec.tr.Flags&flagBatchEnd != 0
			if skipping && rec.tr.Flags&flagBatchStart != 0 {
				skipping = false // a new batch: the damage did not begin it
			}
			if skipping {
				// The damaged record may have begun this batch: never
				// apply half a batch.
				dropped.BatchKeys = append(dropped.BatchKeys, append([]byte{}, rec.key...))
				skipping = !end
				if apply {
					if err := unindexRecord(b, rec, delta); err != nil {
						return rep, err
					}
				}
				continue
			}
			pending = append(pending, rec)
			if !end {
				continue
			}
			if apply {
				for _, r := range pending {
					if _, err := s.applyRecord(b, r, delta); err != nil {
						return rep, fmt.Errorf("storage: replaying segment %d: %w", id, err)
					}
					s.ctr.replayedRecords.Add(1)
				}
				if b.Len() > 32<<20 {
					if err := b.Commit(pebble.NoSync); err != nil {
						return rep, fmt.Errorf("storage: replay: %w", err)
					}
					b.Close()
					b = s.db.NewIndexedBatch()
				}
			}
			pending = pending[:0]
		}
	}
	if !apply {
		return rep, nil
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return rep, fmt.Errorf("storage: replay: %w", err)
	}

	if err := s.loadStats(); err != nil {
		return rep, err
	}
	if err := s.roll(); err != nil {
		return rep, err
	}
	s.cm.dirty = true
	s.cm.indexed = LogPosition{Segment: s.segs.active.id}
	if err := s.writeCheckpoint(nil); err != nil {
		return rep, err
	}
	return rep, nil
}

// replayMode says what recover does with a damaged record.
type replayMode int

const (
	replayOpen   replayMode = iota // fail with a *CorruptError
	replayCheck                    // report it; write nothing
	replayRepair                   // drop it and the batches it breaks; report it
)

// corruptRecord builds the error for a damaged record at off in g, with the
// next accepted record at next.
func (s *Store) corruptRecord(g *segment, off, next int64, faults []ShardFault) *CorruptError {
	var parts []string
	for _, f := range faults {
		parts = append(parts, fmt.Sprintf("volume %d (%s): %s", f.Volume, f.Path, f.Reason))
	}
	return &CorruptError{
		Where: fmt.Sprintf("log record in segment %d at offset %d", g.id, off),
		Detail: fmt.Sprintf("%d of %d shards unusable, at most %d can be rebuilt [%s]; an intact record follows at offset %d, so this is damage to written data, not the torn tail of a crash, and nothing after it was replayed; run 'zgda storage check' to list the damage and 'zgda storage repair' to drop the damaged records",
			len(faults), s.codec.n(), s.codec.m, strings.Join(parts, "; "), next),
		Segment: g.id, Offset: off, Next: next, Faults: faults,
	}
}

// scanRecord reads the record at off in segment g from every volume. It
// returns ok=false when no record at off has k good shards, with the
// reasons of the bad ones. With heal, missing or damaged shards of an
// accepted record are rewritten.
func (s *Store) scanRecord(g *segment, off int64, heal bool) (rec logged, next int64, faults []ShardFault, ok bool) {
	k, m, n := s.codec.k, s.codec.m, s.codec.n()
	hdrs := make([]*shardHeader, n)
	why := make([]string, n)
	votes := map[[2]uint64]int{} // (payloadLen, seq) → count
	for v := 0; v < n; v++ {
		if !s.usable(v) {
			why[v] = "volume offline"
			continue
		}
		f, err := g.file(v, false)
		if err != nil {
			why[v] = "missing segment file"
			continue
		}
		var hb [headerSize]byte
		if _, err := f.ReadAt(hb[:], off); err != nil {
			why[v] = readReason(err)
			continue
		}
		h, err := decodeShardHeader(hb[:])
		if err != nil {
			why[v] = "bad header: " + err.Error()
			continue
		}
		if int(h.Shard) != v || int(h.K) != k || int(h.M) != m || h.Segment != g.id || h.Offset != off {
			why[v] = "bad header: does not describe this position"
			continue
		}
		hdrs[v] = &h
		votes[[2]uint64{uint64(h.PayloadLen), h.Seq}]++
	}
	fail := func() (logged, int64, []ShardFault, bool) {
		for v := 0; v < n; v++ {
			if why[v] != "" {
				faults = append(faults, ShardFault{Volume: v, Path: s.vols[v].path, Reason: why[v]})
			}
		}
		return logged{}, 0, faults, false
	}
	var best [2]uint64
	bestN := 0
	for key, c := range votes {
		if c > bestN || (c == bestN && (key[1] < best[1] || key[1] == best[1] && key[0] < best[0])) {
			best, bestN = key, c
		}
	}
	if bestN < k {
		return fail()
	}
	payloadLen := int(best[0])
	S := int(shardLenFor(payloadLen, k))
	shards := make([][]byte, n)
	buf := make([]byte, k*S)
	good := 0
	var bad []int
	for v := 0; v < n; v++ {
		h := hdrs[v]
		if h == nil || uint64(h.PayloadLen) != best[0] || h.Seq != best[1] {
			if why[v] == "" {
				why[v] = "bad header: another record"
			}
			bad = append(bad, v)
			continue
		}
		var dst []byte
		if v < k {
			dst = buf[v*S : (v+1)*S : (v+1)*S]
		} else {
			dst = make([]byte, S)
		}
		f, _ := g.file(v, false)
		if _, err := f.ReadAt(dst, off+headerSize); err != nil {
			why[v] = readReason(err)
			bad = append(bad, v)
			continue
		}
		if crc(dst) != h.DataCRC {
			why[v] = "checksum mismatch"
			bad = append(bad, v)
			continue
		}
		shards[v] = dst
		good++
	}
	if good < k {
		return fail()
	}
	if len(bad) > 0 {
		for _, v := range bad {
			if v < k {
				shards[v] = buf[v*S : v*S : (v+1)*S]
			}
		}
		if err := s.codec.rs.Reconstruct(shards); err != nil {
			return fail()
		}
	}
	crcs := make([]uint32, n)
	for v := 0; v < n; v++ {
		if hdrs[v] != nil && !slices.Contains(bad, v) {
			crcs[v] = hdrs[v].DataCRC
		} else {
			crcs[v] = crc(shards[v])
		}
	}
	value, key, tr, err := decodeRecord(buf[:payloadLen])
	if err != nil {
		for v := 0; v < n; v++ {
			if why[v] == "" {
				why[v] = "shards check out but the record does not parse: " + err.Error()
			}
		}
		return fail()
	}
	rec = logged{tr: tr, key: key, seg: g.id, off: off, seq: best[1],
		shardLen: uint32(S), payloadLen: uint32(payloadLen), crcs: crcs}
	if int(tr.ValueLen) <= s.cfg.Log.InlineMax {
		rec.value = value
	}
	if heal && len(bad) > 0 {
		e := entry{Segment: g.id, Offset: off, Seq: best[1], ShardLen: uint32(S), PayloadLen: uint32(payloadLen), CRCs: crcs}
		for _, v := range bad {
			s.repairShard(g, key, &e, v, shards[v], "missing or damaged at replay: "+why[v])
		}
	}
	return rec, off + headerSize + int64(S), nil, true
}

// nextValidRecord finds the first accepted record after off in g: it looks
// for shard headers that name their own position in this segment on any
// volume, and tries each as a record.
func (s *Store) nextValidRecord(g *segment, off int64) (int64, bool) {
	from := off + 1
	for {
		best := int64(-1)
		for v := range s.vols {
			if p, ok := s.nextHeader(g, v, from); ok && (best < 0 || p < best) {
				best = p
			}
		}
		if best < 0 {
			return 0, false
		}
		if _, _, _, ok := s.scanRecord(g, best, false); ok {
			return best, true
		}
		from = best + 1
	}
}

// nextHeader returns the position of the first well-formed shard header at
// or after from in volume v's file of g that names that position.
func (s *Store) nextHeader(g *segment, v int, from int64) (int64, bool) {
	if !s.usable(v) {
		return 0, false
	}
	f, err := g.file(v, false)
	if err != nil {
		return 0, false
	}
	const chunk = 1 << 20
	buf := make([]byte, chunk+headerSize)
	for pos := from; ; pos += chunk {
		n, err := f.ReadAt(buf, pos)
		if n < headerSize {
			return 0, false
		}
		b := buf[:n]
		for i := 0; i+headerSize <= n; {
			j := bytes.Index(b[i:n-headerSize+len(shardMagic)], shardMagic[:])
			if j < 0 {
				break
			}
			p := i + j
			if h, herr := decodeShardHeader(b[p : p+headerSize]); herr == nil && h.Segment == g.id &&
				h.Offset == pos+int64(p) && int(h.Shard) == v && int(h.K) == s.codec.k && int(h.M) == s.codec.m {
				return pos + int64(p), true
			}
			i = p + 1
		}
		if err != nil && !errors.Is(err, io.EOF) || n < len(buf) {
			return 0, false
		}
	}
}

// unindex removes, through b, the index entries of keys whose value lives
// in segment seg at an offset in [lo, hi).
func (s *Store) unindex(b *pebble.Batch, seg uint64, lo, hi int64, d statDelta) error {
	refs, err := s.scanLocs(locKey(seg, lo), locKey(seg, hi), 1<<30)
	if err != nil {
		return fmt.Errorf("storage: repair: %w", err)
	}
	for _, r := range refs {
		e, ok, err := getEntry(b, r.key)
		if err != nil {
			return err
		}
		// An inline value survives its damaged record: the index holds it,
		// and compacting the segment writes it a fresh one.
		if ok && !e.inline() && e.Segment == seg && e.Offset >= lo && e.Offset < hi {
			unlink(b, r.key, &e, d)
			b.Delete(indexKey(r.key), nil)
			s.log.Warn("repair removed an index entry that pointed into a dropped record", "key", showKey(r.key),
				"segment", seg, "offset", e.Offset)
		}
	}
	return nil
}

// unindexRecord removes key's index entry if the put r wrote it.
func unindexRecord(b *pebble.Batch, r logged, d statDelta) error {
	if r.tr.Op != opPut {
		return nil
	}
	e, ok, err := getEntry(b, r.key)
	if err != nil || !ok || e.Version != r.seq {
		return err
	}
	unlink(b, r.key, &e, d)
	b.Delete(indexKey(r.key), nil)
	return nil
}

// segFileEnd returns the largest size of g's files.
func (s *Store) segFileEnd(g *segment) int64 {
	var end int64
	for v := range s.vols {
		if !s.usable(v) {
			continue
		}
		f, err := g.file(v, false)
		if err != nil {
			continue
		}
		if n, err := f.Size(); err == nil {
			end = max(end, n)
		}
	}
	return end
}

// loadStats recomputes each segment's live bytes from the index.
func (s *Store) loadStats() error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pfxLoc}, UpperBound: []byte{pfxLoc + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for g := range s.segs.segs {
		s.segs.segs[g].live, s.segs.segs[g].liveCount = 0, 0
		s.segs.segs[g].tomb, s.segs.segs[g].tombCount = 0, 0
	}
	for ok := it.First(); ok; ok = it.Next() {
		seg, off, okk := decodeLocKey(it.Key())
		shardLen, _, okv := decodeLocValue(it.Value())
		if !okk || !okv {
			return fmt.Errorf("%w: malformed location index entry %x", ErrCorrupt, it.Key())
		}
		g := s.segs.segs[seg]
		if g == nil {
			// The index points into a segment no volume has. Keep a table
			// entry so reads report the shards as missing rather than
			// treating the key as compacted away.
			g = s.segs.newSegment(seg)
			g.sealed = true
			s.segs.segs[seg] = g
			s.segs.nextID = max(s.segs.nextID, seg+1)
		}
		if shardLen&locInline == 0 {
			g.liveCount++
		}
		shardLen &^= locInline
		g.live += headerSize + int64(shardLen)
		g.size = max(g.size, off+headerSize+int64(shardLen))
	}
	if err := it.Error(); err != nil {
		return err
	}
	tit, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pfxTomb}, UpperBound: []byte{pfxTomb + 1}})
	if err != nil {
		return err
	}
	defer tit.Close()
	for ok := tit.First(); ok; ok = tit.Next() {
		seg, _, okk := decodeLocKey(tit.Key())
		t, err := decodeTomb(tit.Value())
		if !okk || err != nil {
			return fmt.Errorf("%w: malformed tombstone index entry %x", ErrCorrupt, tit.Key())
		}
		if g := s.segs.segs[seg]; g != nil {
			g.tomb += headerSize + int64(shardLenFor(len(t.Key)+trailerSize, s.codec.k))
			g.tombCount++
		}
	}
	return tit.Error()
}
