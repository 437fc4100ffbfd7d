package storage

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// recover brings the index up to date with the log at Open.
//
// The checkpoint names the log position up to which the fsync'd index is
// complete. Every segment from there on is scanned in order; a record is
// accepted when at least k of its shards carry a valid header for this
// position and a matching checksum (it is then fully recoverable, whether or
// not it was acknowledged), and the scan of a segment stops at the first
// record that is not (a torn tail: the committer writes a segment strictly
// in order, and a failed write retires the segment). Records of a batch are
// applied only once the batch's last record is seen, so an interrupted batch
// stays invisible. Missing shards of accepted records are rebuilt on the
// spot. Finally a new active segment is started (never appending after a
// torn tail) and a checkpoint at its start is fsync'd with the index.
func (s *Store) recover() error {
	cp := checkpoint{NextSeq: 1}
	if b, closer, err := s.db.Get(metaCheckpoint); err == nil {
		c, derr := decodeCheckpoint(b)
		closer.Close()
		if derr != nil {
			return fmt.Errorf("%w: %s in %s; the metadata database is damaged", ErrCorrupt, derr, s.cfg.Dir)
		}
		cp = c
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("storage: reading checkpoint: %w", err)
	}
	s.cm.nextSeq = max(cp.NextSeq, 1)
	s.segs.nextID = max(s.segs.nextID, cp.Segment+1)

	b := s.db.NewIndexedBatch()
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
		var pending []logged
		for {
			rec, next, ok := s.scanRecord(g, off)
			if !ok {
				break
			}
			s.cm.nextSeq = max(s.cm.nextSeq, rec.seq+1)
			pending = append(pending, rec)
			if rec.tr.Flags&flagBatchEnd != 0 {
				for _, r := range pending {
					if _, err := s.applyRecord(b, r, delta); err != nil {
						b.Close()
						return fmt.Errorf("storage: replaying segment %d: %w", id, err)
					}
					s.ctr.replayedRecords.Add(1)
				}
				pending = pending[:0]
				if b.Len() > 32<<20 {
					if err := b.Commit(pebble.NoSync); err != nil {
						return fmt.Errorf("storage: replay: %w", err)
					}
					b = s.db.NewIndexedBatch()
				}
			}
			off = next
		}
		if len(pending) > 0 {
			s.log.Info("dropped an interrupted batch at the end of the log", "segment", id, "records", len(pending))
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("storage: replay: %w", err)
	}

	if err := s.loadStats(); err != nil {
		return err
	}
	if err := s.roll(); err != nil {
		return err
	}
	s.cm.dirty = true
	if err := s.writeCheckpoint(nil); err != nil {
		return err
	}
	return nil
}

// scanRecord reads the record at off in segment g from every volume. It
// returns ok=false at the end of the valid log in this segment.
func (s *Store) scanRecord(g *segment, off int64) (logged, int64, bool) {
	k, m, n := s.codec.k, s.codec.m, s.codec.n()
	hdrs := make([]*shardHeader, n)
	votes := map[[2]uint64]int{} // (payloadLen, seq) → count
	for v := 0; v < n; v++ {
		f, err := g.file(v, false)
		if err != nil {
			continue
		}
		var hb [headerSize]byte
		if _, err := f.ReadAt(hb[:], off); err != nil {
			continue
		}
		h, err := decodeShardHeader(hb[:])
		if err != nil || int(h.Shard) != v || int(h.K) != k || int(h.M) != m || h.Segment != g.id || h.Offset != off {
			continue
		}
		hdrs[v] = &h
		votes[[2]uint64{uint64(h.PayloadLen), h.Seq}]++
	}
	var best [2]uint64
	bestN := 0
	for key, c := range votes {
		if c > bestN {
			best, bestN = key, c
		}
	}
	if bestN < k {
		return logged{}, 0, false
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
			bad = append(bad, v)
			continue
		}
		if crc(dst) != h.DataCRC {
			bad = append(bad, v)
			continue
		}
		shards[v] = dst
		good++
	}
	if good < k {
		return logged{}, 0, false
	}
	if len(bad) > 0 {
		for _, v := range bad {
			if v < k {
				shards[v] = buf[v*S : v*S : (v+1)*S]
			}
		}
		if err := s.codec.rs.Reconstruct(shards); err != nil {
			return logged{}, 0, false
		}
	}
	crcs := make([]uint32, n)
	for v := 0; v < n; v++ {
		if hdrs[v] != nil && !contains(bad, v) {
			crcs[v] = hdrs[v].DataCRC
		} else {
			crcs[v] = crc(shards[v])
		}
	}
	value, key, tr, err := decodeRecord(buf[:payloadLen])
	if err != nil {
		s.log.Error("log record passes its checksums but does not parse; treating it as the end of the segment",
			"segment", g.id, "offset", off, "err", err)
		return logged{}, 0, false
	}
	rec := logged{tr: tr, key: key, seg: g.id, off: off, seq: best[1],
		shardLen: uint32(S), payloadLen: uint32(payloadLen), crcs: crcs}
	if int(tr.ValueLen) <= s.cfg.Log.InlineMax {
		rec.value = value
	}
	if len(bad) > 0 {
		e := entry{Segment: g.id, Offset: off, Seq: best[1], ShardLen: uint32(S), PayloadLen: uint32(payloadLen), CRCs: crcs}
		for _, v := range bad {
			s.repairShard(g, key, &e, v, shards[v], "missing or damaged at replay")
		}
	}
	return rec, off + headerSize + int64(S), true
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
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
		g.live += headerSize + int64(shardLen)
		g.liveCount++
		g.size = max(g.size, off+headerSize+int64(shardLen))
	}
	return it.Error()
}
