package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// The committer is the single goroutine that appends to the log. Callers
// encode their records (the erasure coding runs on their goroutines), queue
// them, and wait. The committer takes everything queued (a group), assigns
// log positions, writes each volume's shards and fdatasyncs all volumes in
// parallel, applies the group to the index in one Pebble batch, and only
// then answers. One fsync round is shared by every write in the group.
//
// The log is the index's write-ahead log: each record carries everything
// needed to rebuild its index entry. The index batch is committed without
// fsync and made durable at checkpoints (every CheckpointInterval or
// CheckpointBytes, or every group with SyncIndex); Open replays the log from
// the last checkpoint. Either way an acknowledged write is on disk in full.

type request struct {
	recs       []*encoded
	ctl        func(b *pebble.Batch) // run by the committer before the group is written
	checkpoint bool                  // force an fsync'd checkpoint after this request
	applied    int                   // conditional records that took effect (set before done)
	abandoned  bool                  // a hung volume\'s write may still read the records: do not release them
	done       chan error
}

func (r *request) release() {
	if r.abandoned {
		return // the garbage collector reclaims them once the hung call returns
	}
	for _, rec := range r.recs {
		rec.release()
	}
}

func (r *request) bytes() int64 {
	var n int64
	for _, rec := range r.recs {
		n += rec.size()
	}
	return n
}

// committerState is owned by the committer goroutine (and by recover before
// it starts).
type committerState struct {
	nextSeq   uint64
	cp        checkpoint // last durable checkpoint
	sinceCP   int64      // log bytes written since it
	dirty     bool       // index changed since it
	groupRecs []*encoded
}

func (s *Store) commitLoop() {
	defer close(s.commitDone)
	tick := time.NewTicker(s.cfg.Log.CheckpointInterval)
	defer tick.Stop()
	for {
		select {
		case req, ok := <-s.queue:
			if !ok {
				s.finalCheckpoint()
				return
			}
			group := []*request{req}
			bytes := req.bytes()
			closed := false
		drain:
			for bytes < s.cfg.Log.MaxGroupBytes && len(group) < 4096 {
				select {
				case r, ok := <-s.queue:
					if !ok {
						closed = true
						break drain
					}
					group = append(group, r)
					bytes += r.bytes()
				default:
					break drain
				}
			}
			s.commitGroup(group)
			if closed {
				s.finalCheckpoint()
				return
			}
		case <-tick.C:
			if s.cm.dirty && s.failure() == nil {
				if err := s.writeCheckpoint(nil); err != nil {
					s.fail(err)
				}
			}
		}
	}
}

func (s *Store) finalCheckpoint() {
	if s.cm.dirty && s.failure() == nil {
		if err := s.writeCheckpoint(nil); err != nil {
			s.log.Error("final checkpoint failed; the next Open replays the log", "err", err)
		}
	}
}

// writeCheckpoint records that the log up to the end of the active segment is
// in the index, fsyncing the index (and b, if given, in the same commit).
func (s *Store) writeCheckpoint(b *pebble.Batch) error {
	s.segs.mu.Lock()
	cp := checkpoint{Segment: s.segs.active.id, Offset: s.segs.active.size, NextSeq: s.cm.nextSeq}
	s.segs.mu.Unlock()
	if b == nil {
		b = s.db.NewBatch()
	}
	b.Set(metaCheckpoint, cp.encode(), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("storage: index checkpoint: %w", err)
	}
	s.cm.cp = cp
	s.cm.sinceCP = 0
	s.cm.dirty = false
	s.ctr.checkpoints.Add(1)
	return nil
}

func (s *Store) answer(group []*request, err error) {
	for _, r := range group {
		r.release()
		r.done <- err
	}
}

// errVolumeOffline: a volume the group did not write because it is offline.
var errVolumeOffline = errors.New("volume offline")

func (s *Store) commitGroup(group []*request) {
	if err := s.failure(); err != nil {
		s.answer(group, err)
		return
	}
	if s.metaRO {
		for _, r := range group {
			var err error
			if len(r.recs) > 0 || r.checkpoint {
				err = fmt.Errorf("%w: %s", ErrReadOnly, *s.readOnly.Load())
			}
			s.answer([]*request{r}, err)
		}
		return
	}
	b := s.db.NewIndexedBatch()
	for _, r := range group {
		if r.ctl != nil {
			r.ctl(b)
		}
	}
	// Refuse record writes while read-only or without a write quorum; the
	// rest of the group (checkpoints, control requests) goes on.
	hasRecs := false
	for _, r := range group {
		hasRecs = hasRecs || len(r.recs) > 0
	}
	if hasRecs {
		var refuse error
		if p := s.readOnly.Load(); p != nil {
			refuse = fmt.Errorf("%w: %s", ErrReadOnly, *p)
		} else if s.missing() > s.codec.m {
			refuse = s.quorumError()
		}
		if refuse != nil {
			kept := group[:0:0]
			for _, r := range group {
				if len(r.recs) > 0 {
					s.answer([]*request{r}, refuse)
				} else {
					kept = append(kept, r)
				}
			}
			group = kept
		}
	}

	s.segs.mu.Lock()
	act := s.segs.active
	needRoll := act.broken || act.size >= s.cfg.Log.SegmentSize
	s.segs.mu.Unlock()
	if needRoll && hasRecs && len(group) > 0 {
		if err := s.roll(); err != nil {
			b.Close()
			s.answer(group, err)
			return
		}
		s.segs.mu.Lock()
		act = s.segs.active
		s.segs.mu.Unlock()
	}

	recs := s.cm.groupRecs[:0]
	start := act.size
	off := start
	forceCP := false
	for _, r := range group {
		forceCP = forceCP || r.checkpoint
		for _, rec := range r.recs {
			rec.seq = s.cm.nextSeq
			s.cm.nextSeq++
			rec.seg, rec.off = act.id, off
			off += rec.size()
			recs = append(recs, rec)
		}
	}
	s.cm.groupRecs = recs[:0]

	if len(recs) > 0 {
		errs, stuck := s.writeRecords(act, recs)
		if stuck {
			// A hung volume's call may still read the records and this
			// group's list of them: leave both to the garbage collector.
			for _, r := range group {
				r.abandoned = true
			}
			s.cm.groupRecs = nil
		}
		var ioErrs []error
		for v, err := range errs {
			if err != nil && err != errVolumeOffline {
				ioErrs = append(ioErrs, err)
				if !errors.Is(err, errIOTimeout) {
					s.setOffline(v, err.Error())
				}
			}
		}
		// The write quorum: at most m volumes may lack this group or be
		// healing.
		short := 0
		for v, err := range errs {
			if err != nil || s.health[v].get() != volOnline {
				short++
			}
		}
		if short > s.codec.m {
			s.segs.mu.Lock()
			act.broken = true
			act.size = off // whatever landed there is garbage; never reuse the range
			s.segs.mu.Unlock()
			b.Close()
			err := s.quorumError()
			if len(ioErrs) > 0 {
				err = fmt.Errorf("storage: writing segment %d: %w (%w)", act.id, err, errors.Join(ioErrs...))
			}
			s.answer(group, err)
			return
		}
		for v, err := range errs {
			if err != nil {
				s.markMissing(b, v, LogPosition{Segment: act.id, Offset: start})
			}
		}
		s.segs.mu.Lock()
		act.size = off
		s.segs.mu.Unlock()
		s.ctr.groups.Add(1)
		s.ctr.groupRecords.Add(uint64(len(recs)))
	}

	delta := statDelta{}
	for _, r := range group {
		for _, rec := range r.recs {
			applied, err := s.applyRecord(b, logged{tr: rec.tr, key: rec.key, value: rec.value, seg: rec.seg, off: rec.off,
				seq: rec.seq, shardLen: uint32(rec.shardLen), payloadLen: uint32(rec.payloadLen), crcs: rec.crcs}, delta)
			if err != nil {
				b.Close()
				s.fail(err)
				s.answer(group, s.failure())
				return
			}
			if applied && (rec.tr.Op == opDeleteIf || rec.tr.Op == opMove) {
				r.applied++
			}
		}
	}
	s.cm.sinceCP += off - start
	s.cm.dirty = s.cm.dirty || len(recs) > 0 || b.Len() > 0
	var err error
	if s.cfg.Log.SyncIndex || forceCP || s.cm.sinceCP >= s.cfg.Log.CheckpointBytes {
		err = s.writeCheckpoint(b)
	} else {
		err = b.Commit(pebble.NoSync)
	}
	if err != nil {
		s.fail(err)
		s.answer(group, s.failure())
		return
	}
	s.segs.apply(delta)
	s.answer(group, nil)
}

// roll seals the active segment and starts a new one on every volume that
// takes writes (the others get theirs when they are healed).
func (s *Store) roll() error {
	s.segs.mu.Lock()
	id := s.segs.nextID
	s.segs.mu.Unlock()
	g := s.segs.newSegment(id)
	for v := range s.vols {
		if !s.usable(v) {
			continue
		}
		if err := s.volIO(v, func() error { _, err := g.file(v, true); return err }); err != nil && !errors.Is(err, errIOTimeout) {
			s.setOffline(v, fmt.Sprintf("creating segment %d: %v", id, err))
		}
	}
	if s.missing() > s.codec.m {
		g.closeFiles()
		for v := range s.vols {
			if s.usable(v) {
				_ = s.vols[v].fs.Remove(s.vols[v].segPath(id))
			}
		}
		return fmt.Errorf("storage: starting segment %d: %w", id, s.quorumError())
	}
	s.segs.mu.Lock()
	if s.segs.active != nil {
		s.segs.active.sealed = true
	}
	s.segs.segs[id] = g
	s.segs.active = g
	s.segs.nextID = id + 1
	s.segs.mu.Unlock()
	return nil
}

// preallocChunk is how far ahead of the writes segment space is reserved.
const preallocChunk = 64 << 20

// stagingMax: pieces smaller than this are copied into one buffer per
// volume so a group of small records costs one pwrite per volume; larger
// ones are written directly from the caller's memory.
const stagingMax = 256 << 10

// writeRecords writes a group's shards to every volume that takes writes
// and fdatasyncs them, one goroutine per volume, under the I/O deadline. It
// returns each volume's error (errVolumeOffline for those not written) and
// whether a volume missed the deadline (its call may still be running).
func (s *Store) writeRecords(g *segment, recs []*encoded) (errs []error, stuck bool) {
	n := len(s.vols)
	errs = make([]error, n)
	calls := make([]*ioCall, n)
	for v := 0; v < n; v++ {
		if !s.usable(v) {
			errs[v] = errVolumeOffline
			continue
		}
		calls[v] = s.startIO(v, func() error { return s.writeVolume(g, v, recs) })
	}
	var timeout <-chan time.Time
	if d := s.cfg.Volumes.IOTimeout; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	for v, c := range calls {
		if c == nil {
			continue
		}
		select {
		case errs[v] = <-c.done:
		case <-timeout:
			timeout = nil
			stuck = true
			for w := v; w < n; w++ {
				if calls[w] == nil {
					continue
				}
				select {
				case errs[w] = <-calls[w].done:
				default:
					calls[w].abandon()
					errs[w] = fmt.Errorf("volume %d (%s): %w", w, s.vols[w].path, errIOTimeout)
				}
			}
			return errs, stuck
		}
	}
	return errs, false
}

func (s *Store) writeVolume(g *segment, v int, recs []*encoded) error {
	f, err := g.file(v, true)
	if err != nil {
		return fmt.Errorf("volume %d (%s): %w", v, s.vols[v].path, err)
	}
	// Reserve the space ahead in chunks, so appends find their blocks
	// allocated (and contiguous) instead of allocating on every write.
	if end := recs[len(recs)-1].off + recs[len(recs)-1].size(); end > g.prealloc[v] {
		chunk := max(min(s.cfg.Log.SegmentSize, preallocChunk), end-g.prealloc[v])
		if err := f.Preallocate(g.prealloc[v], chunk); err == nil {
			g.prealloc[v] += chunk
		} else {
			g.prealloc[v] = end // not worth failing the write over; the write itself will say
		}
	}
	stageBuf := getBuf(stagingMax * 2)
	defer putBuf(stageBuf)
	stage := (*stageBuf)[:0]
	stageOff := recs[0].off
	pos := stageOff // file position of the next byte to write
	flush := func() error {
		if len(stage) == 0 {
			return nil
		}
		_, err := f.WriteAt(stage, stageOff)
		stage = stage[:0]
		return err
	}
	for _, r := range recs {
		var hdr [headerSize]byte
		h := shardHeader{Shard: uint8(v), K: uint8(s.codec.k), M: uint8(s.codec.m), Segment: r.seg, Offset: r.off,
			Seq: r.seq, PayloadLen: uint32(r.payloadLen), ShardLen: uint32(r.shardLen), DataCRC: r.crcs[v]}
		h.encode(hdr[:])
		pieces := append([][]byte{hdr[:]}, r.shards[v]...)
		for _, p := range pieces {
			if len(p) < stagingMax {
				if len(stage)+len(p) > cap(stage) {
					if err := flush(); err != nil {
						return fmt.Errorf("volume %d (%s): %w", v, s.vols[v].path, err)
					}
				}
				if len(stage) == 0 {
					stageOff = pos
				}
				stage = append(stage, p...)
			} else {
				if err := flush(); err != nil {
					return fmt.Errorf("volume %d (%s): %w", v, s.vols[v].path, err)
				}
				if _, err := f.WriteAt(p, pos); err != nil {
					return fmt.Errorf("volume %d (%s): %w", v, s.vols[v].path, err)
				}
			}
			pos += int64(len(p))
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("volume %d (%s): %w", v, s.vols[v].path, err)
	}
	if err := f.SyncData(); err != nil {
		return fmt.Errorf("volume %d (%s): fdatasync: %w", v, s.vols[v].path, err)
	}
	return nil
}

// logged is one log record as the index sees it.
type logged struct {
	tr         trailer
	key        []byte
	value      []byte // needed only when the value goes inline
	seg        uint64
	off        int64
	seq        uint64
	shardLen   uint32
	payloadLen uint32
	crcs       []uint32
}

func locValue(shardLen uint32, key []byte) []byte {
	b := make([]byte, 4+len(key))
	binary.LittleEndian.PutUint32(b, shardLen)
	copy(b[4:], key)
	return b
}

func decodeLocValue(b []byte) (shardLen uint32, key []byte, ok bool) {
	if len(b) < 5 {
		return 0, nil, false
	}
	return binary.LittleEndian.Uint32(b), b[4:], true
}

// getEntry reads key's entry through the batch (so earlier records of the
// same group are seen).
func getEntry(b *pebble.Batch, key []byte) (entry, bool, error) {
	v, closer, err := b.Get(indexKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return entry{}, false, nil
	}
	if err != nil {
		return entry{}, false, err
	}
	defer closer.Close()
	e, err := decodeEntry(v)
	if err != nil {
		return e, false, &CorruptError{Key: key, Where: "index entry", Detail: err.Error()}
	}
	return e, true, nil
}

// unlink removes e's secondary index entries and its live bytes.
func unlink(b *pebble.Batch, key []byte, e *entry, d statDelta) {
	if !e.inline() {
		b.Delete(locKey(e.Segment, e.Offset), nil)
		d.add(e.Segment, -e.recordSize(), -1)
	}
	if e.HasEpoch {
		b.Delete(u64Key(pfxEpoch, e.Epoch, key), nil)
	}
	b.Delete(timeKey(e.Time, key), nil)
}

// link sets e as key's entry with its secondary index entries.
func link(b *pebble.Batch, key []byte, e *entry, d statDelta) {
	if !e.inline() {
		b.Set(locKey(e.Segment, e.Offset), locValue(e.ShardLen, key), nil)
		d.add(e.Segment, e.recordSize(), 1)
	}
	if e.HasEpoch {
		b.Set(u64Key(pfxEpoch, e.Epoch, key), nil, nil)
	}
	b.Set(timeKey(e.Time, key), nil, nil)
	b.Set(indexKey(key), e.encode(), nil)
}

// applyRecord applies one log record to the index. It is used both by the
// committer and by replay, and is correct when replay re-applies records the
// index already holds: puts and deletes set the key's state outright, and
// moves and conditional deletes check the state they expect.
func (s *Store) applyRecord(b *pebble.Batch, r logged, d statDelta) (applied bool, err error) {
	cur, exists, err := getEntry(b, r.key)
	if err != nil {
		return false, err
	}
	switch r.tr.Op {
	case opPut:
		if exists {
			unlink(b, r.key, &cur, d)
		}
		e := entry{Version: r.seq, Time: r.tr.Time, Epoch: r.tr.Epoch, HasEpoch: r.tr.Flags&flagHasEpoch != 0,
			ValueLen: r.tr.ValueLen, KeyLen: r.tr.KeyLen}
		if int(r.tr.ValueLen) <= s.cfg.Log.InlineMax {
			e.Inline = r.value
			if e.Inline == nil {
				e.Inline = []byte{}
			}
		} else {
			e.Segment, e.Offset, e.Seq = r.seg, r.off, r.seq
			e.ShardLen, e.PayloadLen, e.CRCs = r.shardLen, r.payloadLen, r.crcs
		}
		link(b, r.key, &e, d)
		return true, nil
	case opDelete:
		if exists {
			unlink(b, r.key, &cur, d)
			b.Delete(indexKey(r.key), nil)
		}
		return exists, nil
	case opDeleteIf:
		if exists && cur.Version == r.tr.CondA {
			unlink(b, r.key, &cur, d)
			b.Delete(indexKey(r.key), nil)
			return true, nil
		}
		return false, nil
	case opMove:
		if exists && !cur.inline() && cur.Segment == r.tr.CondA && cur.Offset == int64(r.tr.CondB) {
			unlink(b, r.key, &cur, d)
			cur.Segment, cur.Offset, cur.Seq = r.seg, r.off, r.seq
			cur.ShardLen, cur.PayloadLen, cur.CRCs = r.shardLen, r.payloadLen, r.crcs
			link(b, r.key, &cur, d)
			return true, nil
		}
		return false, nil
	}
	return false, fmt.Errorf("storage: unknown log op %d", r.tr.Op)
}
