package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// The committer is the single goroutine that appends to the log. Callers
// encode their records (the erasure coding runs on their goroutines), queue
// them, and wait. The committer takes everything queued (a group), assigns
// log positions and queues the group on every volume's writer, which writes
// its shards and then fdatasyncs them (volWriter); while that sync runs the
// committer takes the next group, whose writes go out behind it. It then
// waits for the first group's volumes, decides on the write quorum, applies
// the group to the index in one Pebble batch, and only then answers. One
// fsync round is shared by every write in the group. While the committer
// is idle, a caller with a plain write may take its place (lead, under
// commitMu) for its own group.
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

// committerState is owned by whoever holds commitMu: the committer
// goroutine, or a caller leading its group (and recover before either).
type committerState struct {
	nextSeq uint64
	cp      checkpoint  // last durable checkpoint
	sinceCP int64       // log bytes written since it
	dirty   bool        // index changed since it
	indexed LogPosition // end of the last group applied to the index
	wantCP  bool        // the checkpoint interval passed while groups were in flight
}

func (s *Store) commitLoop() {
	defer close(s.commitDone)
	tick := time.NewTicker(s.cfg.Log.CheckpointInterval)
	defer tick.Stop()
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	var prev *flight // written, its syncs under way, not yet answered
	finish := func() {
		if prev != nil {
			s.finishGroup(prev)
			prev = nil
		}
	}
	defer finish()
	for {
		var req *request
		var ok bool
		if prev != nil {
			// Pipelining: take the next group while the previous one
			// syncs, but when none waits, finish it before blocking.
			select {
			case req, ok = <-s.queue:
			case <-tick.C:
				// Under steady load the pipeline never drains: the
				// next group answered carries the checkpoint.
				s.cm.wantCP = s.cm.dirty
				continue
			default:
				finish()
				continue
			}
		} else {
			// Idle: a caller that finds the committer here may run its
			// group on its own goroutine (lead), and hands back what it
			// leaves in flight.
			s.commitMu.Unlock()
			ticked, kicked := false, false
			select {
			case req, ok = <-s.queue:
			case <-tick.C:
				ticked = true
			case <-s.kick:
				kicked = true
			}
			s.commitMu.Lock()
			prev, s.handoff = s.handoff, nil
			switch {
			case ticked && prev != nil:
				s.cm.wantCP = s.cm.dirty
				continue
			case ticked:
				if s.cm.dirty && s.failure() == nil {
					if err := s.writeCheckpoint(nil); err != nil {
						s.fail(err)
					}
				}
				continue
			case kicked:
				continue
			}
		}
		if !ok {
			finish()
			s.finalCheckpoint()
			return
		}
		group, closed := s.gather(req)
		if s.barrier(group) {
			finish()
		}
		cur := s.writeGroup(group)
		finish()
		prev = cur
		if closed {
			finish()
			s.finalCheckpoint()
			return
		}
	}
}

// gather makes a group of req and whatever else is queued.
func (s *Store) gather(req *request) (group []*request, closed bool) {
	group = []*request{req}
	bytes := req.bytes()
	for bytes < s.cfg.Log.MaxGroupBytes && len(group) < 4096 {
		select {
		case r, ok := <-s.queue:
			if !ok {
				return group, true
			}
			group = append(group, r)
			bytes += r.bytes()
		default:
			return group, false
		}
	}
	return group, false
}

// lead runs req's group on the caller's goroutine, in place of an idle
// committer: the caller then waits for its volumes' writes itself, and the
// group costs two goroutine wake-ups instead of four (caller → committer →
// volume writer → committer → caller). It holds commitMu, which the
// committer holds whenever it is not idle, so exactly one of them runs the
// committer's work at a time; the volume I/O stays on the volume writers,
// under the same I/O deadline. Pipelining is kept: a group queued while
// req's was being written is written behind it before req's is finished,
// and handed to the committer, which finishes it. Only plain record
// writes lead (control requests and checkpoints go through the queue), so
// the group in flight is never behind a barrier.
func (s *Store) lead(req *request) {
	cur := s.writeGroup([]*request{req})
	var next *flight
	if cur != nil {
		// writeGroup just made the volume writers runnable behind this
		// goroutine; yield so that they start their writes now, not when
		// it blocks (the runtime waits before another P takes a goroutine
		// queued this way: about 20 µs of a 128 KiB Put on two cores).
		runtime.Gosched()
		s.stageIndex(cur)
		select {
		case r, ok := <-s.queue:
			if ok {
				group, _ := s.gather(r)
				if s.barrier(group) {
					s.finishGroup(cur)
					cur = nil
				}
				next = s.writeGroup(group)
			}
		default:
		}
		if cur != nil {
			s.finishGroup(cur)
		}
	}
	s.handoff = next
	s.commitMu.Unlock()
	if next != nil {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// barrier reports whether group must wait for the group in flight to be
// answered before it is written: control requests and checkpoints see a
// settled log, and a segment is sealed only once its last group is known.
func (s *Store) barrier(group []*request) bool {
	for _, r := range group {
		if r.ctl != nil || r.checkpoint {
			return true
		}
	}
	s.segs.mu.Lock()
	defer s.segs.mu.Unlock()
	act := s.segs.active
	return act == nil || act.broken || act.size >= s.cfg.Log.SegmentSize
}

func (s *Store) finalCheckpoint() {
	if s.cm.dirty && s.failure() == nil {
		if err := s.writeCheckpoint(nil); err != nil {
			s.log.Error("final checkpoint failed; the next Open replays the log", "err", err)
		}
	}
}

// writeCheckpoint records that the log up to the end of the last group
// applied to the index (s.cm.indexed; a group in flight is past it) is in
// the index, fsyncing the index (and b, if given, in the same commit).
func (s *Store) writeCheckpoint(b *pebble.Batch) error {
	cp := checkpoint{Segment: s.cm.indexed.Segment, Offset: s.cm.indexed.Offset, NextSeq: s.cm.nextSeq}
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
	s.cm.wantCP = false
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

// flight is a group written to the volumes whose syncs may still run.
type flight struct {
	group    []*request
	b        *pebble.Batch
	act      *segment
	recs     []*encoded
	start    int64 // its range in act
	end      int64
	forceCP  bool
	jobs     []*ioCall // per volume; nil where not written
	errs     []error   // per volume, for volumes not written
	doomed   error     // answer this instead (an earlier group failed in the same segment)
	staged   bool      // its records are applied to b (stageIndex)
	stageErr error     // why staging failed: the store fails once the writes return
	delta    statDelta // live-byte changes of the staged records
	answered bool
}

// writeGroup starts a group: control requests, refusals, the roll, log
// positions, and the writes, queued on each volume behind the previous
// group's. It returns nil when nothing is left to finish.
func (s *Store) writeGroup(group []*request) *flight {
	if err := s.failure(); err != nil {
		s.answer(group, err)
		return nil
	}
	if s.metaRO {
		for _, r := range group {
			var err error
			if len(r.recs) > 0 || r.checkpoint {
				err = fmt.Errorf("%w: %s", ErrReadOnly, *s.readOnly.Load())
			}
			s.answer([]*request{r}, err)
		}
		return nil
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
			hasRecs = false
		}
	}

	s.segs.mu.Lock()
	act := s.segs.active
	needRoll := act.broken || act.size >= s.cfg.Log.SegmentSize
	s.segs.mu.Unlock()
	if needRoll && hasRecs {
		if err := s.roll(); err != nil {
			b.Close()
			s.answer(group, err)
			return nil
		}
		s.segs.mu.Lock()
		act = s.segs.active
		s.segs.mu.Unlock()
	}

	f := &flight{group: group, b: b, act: act, errs: make([]error, len(s.vols)), jobs: make([]*ioCall, len(s.vols))}
	s.segs.mu.Lock()
	f.start = act.size
	s.segs.mu.Unlock()
	off := f.start
	for _, r := range group {
		f.forceCP = f.forceCP || r.checkpoint
		for _, rec := range r.recs {
			rec.seq = s.cm.nextSeq
			s.cm.nextSeq++
			rec.seg, rec.off = act.id, off
			off += rec.size()
			f.recs = append(f.recs, rec)
		}
	}
	f.end = off
	if len(f.recs) == 0 {
		return f
	}
	s.segs.mu.Lock()
	act.size = off // positions are taken, whatever happens to the write
	s.segs.mu.Unlock()
	var use []int
	for v := range s.vols {
		if !s.usable(v) {
			f.errs[v] = errVolumeOffline
			continue
		}
		use = append(use, v)
	}
	bars := s.syncBarriers(use)
	for _, v := range use {
		f.jobs[v] = s.writers[v].submit(s, v, act, f.recs, bars[v])
	}
	return f
}

// finishGroup waits for a group's writes and syncs (under the I/O
// deadline), decides on the write quorum, applies the group to the index
// and answers it.
func (s *Store) finishGroup(f *flight) {
	errs := f.errs
	stuck := false
	var timeout <-chan time.Time
	if d := s.cfg.Volumes.IOTimeout; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	for v, c := range f.jobs {
		if c == nil {
			continue
		}
		select {
		case errs[v] = <-c.done:
		case <-timeout:
			timeout = nil
			stuck = true
			for w := v; w < len(f.jobs); w++ {
				if f.jobs[w] == nil {
					continue
				}
				select {
				case errs[w] = <-f.jobs[w].done:
				default:
					f.jobs[w].abandon()
					errs[w] = fmt.Errorf("volume %d (%s): %w", w, s.vols[w].path, errIOTimeout)
				}
			}
		}
		if stuck {
			break
		}
	}
	if stuck {
		// A hung volume's call may still read the records: leave them to
		// the garbage collector.
		for _, r := range f.group {
			r.abandoned = true
		}
	}
	// A group written behind one that then failed in the same segment is
	// past the segment's recorded end: replay drops it, so it must not be
	// acknowledged either (nor applied).
	s.segs.mu.Lock()
	if len(f.recs) > 0 && f.act.brokenErr != nil && f.doomed == nil {
		f.doomed = fmt.Errorf("storage: writing segment %d: an earlier write in it failed, so this one was not acknowledged: %w", f.act.id, f.act.brokenErr)
	}
	s.segs.mu.Unlock()
	if f.doomed != nil {
		f.b.Close()
		s.answer(f.group, f.doomed)
		return
	}
	b, act := f.b, f.act
	if len(f.recs) > 0 {
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
			err := s.quorumError()
			if len(ioErrs) > 0 {
				err = fmt.Errorf("storage: writing segment %d: %w (%w)", act.id, err, errors.Join(ioErrs...))
			}
			s.breakSegment(f, err)
			b.Close()
			s.answer(f.group, err)
			return
		}
		for v, err := range errs {
			if err != nil {
				s.markMissing(b, v, LogPosition{Segment: act.id, Offset: f.start})
			}
		}
		s.ctr.groups.Add(1)
		s.ctr.groupRecords.Add(uint64(len(f.recs)))
	}

	if !f.staged {
		s.stageIndex(f)
	}
	if f.stageErr != nil {
		b.Close()
		s.fail(f.stageErr)
		s.answer(f.group, s.failure())
		return
	}
	delta := f.delta
	if len(f.recs) > 0 {
		s.cm.indexed = LogPosition{Segment: act.id, Offset: f.end}
	}
	s.cm.sinceCP += f.end - f.start
	s.cm.dirty = s.cm.dirty || len(f.recs) > 0 || b.Len() > 0
	var err error
	if s.cfg.Log.SyncIndex || f.forceCP || s.cm.wantCP || s.cm.sinceCP >= s.cfg.Log.CheckpointBytes {
		err = s.writeCheckpoint(b)
	} else {
		err = b.Commit(pebble.NoSync)
	}
	if err != nil {
		s.fail(err)
		s.answer(f.group, s.failure())
		return
	}
	s.segs.apply(delta)
	s.answer(f.group, nil)
}

// stageIndex applies f's records to its index batch (not yet committed),
// so that a caller leading its own group does this while the volumes sync.
// It must run after every earlier group's has, which holds for the group a
// caller leads (none is in flight) and in finishGroup. A group that then
// fails has its batch closed, so nothing staged takes effect.
func (s *Store) stageIndex(f *flight) {
	f.staged = true
	f.delta = statDelta{}
	for _, r := range f.group {
		for _, rec := range r.recs {
			applied, err := s.applyRecord(f.b, logged{tr: rec.tr, key: rec.key, value: rec.value, seg: rec.seg, off: rec.off,
				seq: rec.seq, shardLen: uint32(rec.shardLen), payloadLen: uint32(rec.payloadLen), crcs: rec.crcs}, f.delta)
			if err != nil {
				f.stageErr = err
				return
			}
			if applied && (rec.tr.Op == opDeleteIf || rec.tr.Op == opMove) {
				r.applied++
			}
		}
	}
}

// breakSegment retires f's segment after its group failed: no more records
// go there, and the first unacknowledged offset is recorded (fsync'd) so
// that replay treats everything from it on as a torn tail, even a group
// written behind it that reached the disk.
func (s *Store) breakSegment(f *flight, why error) {
	s.segs.mu.Lock()
	f.act.broken = true
	f.act.brokenErr = why
	s.segs.mu.Unlock()
	wb := s.db.NewBatch()
	wb.Set(brokenKey(f.act.id), encodePos(LogPosition{Segment: f.act.id, Offset: f.start}), nil)
	if err := wb.Commit(pebble.Sync); err != nil {
		s.fail(fmt.Errorf("recording that segment %d ends at %d: %w (after %v)", f.act.id, f.start, err, why))
	}
}

func brokenKey(seg uint64) []byte { return u64Key('m', seg, []byte("broken")) }

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
		if err := s.volIO(v, func() error {
			f, err := g.file(v, true)
			if err == nil {
				// Reserve its first stretch now, off the write path.
				_ = f.Preallocate(0, min(s.cfg.Log.SegmentSize, preallocChunk))
				g.prealloc[v] = min(s.cfg.Log.SegmentSize, preallocChunk)
			}
			return err
		}); err != nil && !errors.Is(err, errIOTimeout) {
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

// locInline marks, in a location entry's shard length, an inline value's
// record (counted in its segment's live bytes, not its live records).
const locInline = 1 << 31

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

// setValue points e at the value of put (or move) r: inline when small
// (still remembering the record, see entry.Logged), else in its segment.
func setValue(e *entry, r logged, inlineMax int) {
	e.Segment, e.Offset, e.Seq, e.ShardLen = r.seg, r.off, r.seq, r.shardLen
	if int(r.tr.ValueLen) <= inlineMax {
		e.Inline, e.Logged = r.value, true
		if e.Inline == nil {
			e.Inline = []byte{}
		}
		return
	}
	e.PayloadLen, e.CRCs = r.payloadLen, r.crcs
}

// counted is 1 for a value that lives in its segment (a live record), 0
// for an inline one whose record is only kept.
func (e *entry) counted() int64 {
	if e.inline() {
		return 0
	}
	return 1
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
	if e.located() {
		b.Delete(locKey(e.Segment, e.Offset), nil)
		d.add(e.Segment, -e.recordSize(), -e.counted())
	}
	if e.HasEpoch {
		b.Delete(u64Key(pfxEpoch, e.Epoch, key), nil)
	}
	b.Delete(timeKey(e.Time, key), nil)
}

// link sets e as key's entry with its secondary index entries.
func link(b *pebble.Batch, key []byte, e *entry, d statDelta) {
	if e.located() {
		sl := e.ShardLen
		if e.inline() {
			sl |= locInline
		}
		b.Set(locKey(e.Segment, e.Offset), locValue(sl, key), nil)
		d.add(e.Segment, e.recordSize(), e.counted())
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
		setValue(&e, r, s.cfg.Log.InlineMax)
		link(b, r.key, &e, d)
		return true, nil
	case opDelete, opDeleteIf:
		// A delete that took effect, or one compaction carried forward, is
		// kept in the index as a tombstone: an index rebuilt from the log
		// needs it for as long as the puts it deleted may still be there.
		carried := r.tr.Flags&flagCarried != 0
		t := tomb{Op: r.tr.Op, Version: r.seq, Origin: r.seg, Key: r.key}
		if carried || r.tr.Op == opDeleteIf {
			t.Version = r.tr.CondA
		}
		if carried {
			t.Origin = r.tr.CondB
		}
		eff := exists && (r.tr.Op == opDelete && cur.Version < t.Version || r.tr.Op == opDeleteIf && cur.Version == t.Version)
		if eff {
			unlink(b, r.key, &cur, d)
			b.Delete(indexKey(r.key), nil)
		}
		if eff || carried {
			b.Set(tombKey(r.seg, r.off), t.encode(), nil)
			d.addTomb(r.seg, headerSize+int64(r.shardLen), 1)
		}
		return eff, nil
	case opMove:
		var here bool
		if r.tr.Flags&flagMoveVersion != 0 {
			here = exists && cur.located() && cur.Version == r.tr.CondA && cur.Segment == r.tr.CondB
		} else {
			here = exists && !cur.inline() && cur.Segment == r.tr.CondA && cur.Offset == int64(r.tr.CondB)
		}
		if here {
			unlink(b, r.key, &cur, d)
			cur.Segment, cur.Offset, cur.Seq, cur.ShardLen = r.seg, r.off, r.seq, r.shardLen
			if !cur.inline() {
				cur.PayloadLen, cur.CRCs = r.payloadLen, r.crcs
			}
			link(b, r.key, &cur, d)
			return true, nil
		}
		return false, nil
	}
	return false, fmt.Errorf("storage: unknown log op %d", r.tr.Op)
}
