package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Background maintenance: scrubbing, compaction and retention. Each runs on
// its own goroutine owned by the Store (started at Open, stopped by Close)
// when its interval is non-zero, and can be run once on demand. All of them
// write through the committer like any caller, in small requests, so ingest
// never waits for more than one of their groups.

func (s *Store) startBackground() {
	loop := func(every time.Duration, name string, f func(context.Context) error) {
		s.bgWG.Add(1)
		go func() {
			defer s.bgWG.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-s.bgCtx.Done():
					return
				case <-t.C:
					if err := f(s.bgCtx); err != nil && s.bgCtx.Err() == nil {
						s.log.Warn("background "+name+" failed", "err", err)
					}
				}
			}
		}()
	}
	if s.cfg.Scrub.Interval > 0 {
		loop(s.cfg.Scrub.Interval, "scrub", func(ctx context.Context) error { _, err := s.scrub(ctx); return err })
	}
	if s.cfg.Compaction.Interval > 0 {
		loop(s.cfg.Compaction.Interval, "compaction", func(ctx context.Context) error { _, err := s.compact(ctx); return err })
	}
	if s.cfg.Retention.Interval > 0 && len(s.cfg.Retention.Rules) > 0 {
		loop(s.cfg.Retention.Interval, "retention", s.applyRetention)
	}
}

// pacer limits a loop to rate bytes per second (0 = unlimited).
type pacer struct {
	rate  int64
	start time.Time
	bytes int64
}

func newPacer(rate int64) *pacer { return &pacer{rate: rate, start: time.Now()} }

func (p *pacer) wait(ctx context.Context, n int64) error {
	if p.rate <= 0 {
		return ctx.Err()
	}
	p.bytes += n
	due := p.start.Add(time.Duration(float64(p.bytes) / float64(p.rate) * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return ctx.Err()
}

// locRef is one record named by the location index.
type locRef struct {
	seg uint64
	off int64
	key []byte
}

// scanLocs returns up to limit location-index entries in [lower, upper).
func (s *Store) scanLocs(lower, upper []byte, limit int) ([]locRef, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []locRef
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		seg, off, okk := decodeLocKey(it.Key())
		_, key, okv := decodeLocValue(it.Value())
		if !okk || !okv {
			return out, fmt.Errorf("%w: malformed location index entry %x", ErrCorrupt, it.Key())
		}
		out = append(out, locRef{seg: seg, off: off, key: append([]byte{}, key...)})
	}
	return out, it.Error()
}

// --- scrubbing ------------------------------------------------------------

// ScrubReport summarizes one scrub pass.
type ScrubReport struct {
	Records       int     // records verified
	Bytes         int64   // shard bytes read (all volumes)
	RepairedShard int     // shards rewritten
	Unrecoverable []error // records that could not be rebuilt (each an *UnrecoverableError or *CorruptError)
}

// Scrub reads every shard of every live record, checks headers and
// checksums, and rebuilds bad or missing shards in place. It returns an
// error only if the pass could not run; damaged records are listed in the
// report.
func (s *Store) Scrub(ctx context.Context) (ScrubReport, error) {
	if !s.enter() {
		return ScrubReport{}, ErrClosed
	}
	defer s.exit()
	ctx, cancel := s.withStoreCtx(ctx)
	defer cancel()
	return s.scrub(ctx)
}

func (s *Store) scrub(ctx context.Context) (rep ScrubReport, err error) {
	s.scrubMu.Lock()
	defer s.scrubMu.Unlock()
	repairs0 := s.ctr.repairs.Load()
	defer func() { rep.RepairedShard = int(s.ctr.repairs.Load() - repairs0) }()
	p := newPacer(s.cfg.Scrub.BytesPerSecond)
	lower, upper := []byte{pfxLoc}, []byte{pfxLoc + 1}
	for {
		refs, err := s.scanLocs(lower, upper, 256)
		if err != nil {
			return rep, err
		}
		if len(refs) == 0 {
			break
		}
		for _, r := range refs {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			e, err := s.lookup(r.key)
			if err != nil || e.inline() || e.Segment != r.seg || e.Offset != r.off {
				continue // changed since the scan
			}
			_, err = s.readValue(r.key, &e, true)
			switch {
			case errors.Is(err, errSegmentGone):
				continue
			case err != nil:
				rep.Unrecoverable = append(rep.Unrecoverable, err)
				s.log.Error("scrub found an unrecoverable record", "err", err)
			}
			rep.Records++
			n := int64(s.codec.n()) * e.recordSize()
			rep.Bytes += n
			s.ctr.scrubbedRecords.Add(1)
			if err := p.wait(ctx, n); err != nil {
				return rep, err
			}
		}
		last := refs[len(refs)-1]
		lower = append(locKey(last.seg, last.off), 0)
	}
	s.ctr.scrubPasses.Add(1)
	return rep, nil
}

// --- compaction -----------------------------------------------------------

// CompactReport summarizes one compaction round.
type CompactReport struct {
	Segments       int   // segments removed
	MovedRecords   int   // live records copied forward
	MovedBytes     int64 // per volume
	ReclaimedBytes int64 // per volume
}

// Compact removes every sealed segment whose dead fraction is at least
// Compaction.MinGarbageRatio, first copying its live records to the active
// segment. Writes and reads continue meanwhile.
func (s *Store) Compact(ctx context.Context) (CompactReport, error) {
	if !s.enter() {
		return CompactReport{}, ErrClosed
	}
	defer s.exit()
	ctx, cancel := s.withStoreCtx(ctx)
	defer cancel()
	return s.compact(ctx)
}

func (s *Store) compact(ctx context.Context) (CompactReport, error) {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	var rep CompactReport
	var cands []*segment
	s.segs.mu.Lock()
	for _, g := range s.segs.segs {
		if g == s.segs.active {
			continue
		}
		held := g.live + g.tomb
		if held <= 0 || float64(g.size-held) >= s.cfg.Compaction.MinGarbageRatio*float64(g.size) {
			cands = append(cands, g)
		}
	}
	s.segs.mu.Unlock()
	sort.Slice(cands, func(i, j int) bool { return cands[i].id < cands[j].id })
	p := newPacer(s.cfg.Compaction.BytesPerSecond)
	var errs []error
	for _, g := range cands {
		if err := s.compactSegment(ctx, g, p, &rep); err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

// compactSegment moves g's live records forward, makes the moves durable in
// the index (a checkpoint past them, so that replay never needs g), then
// unlinks g's files.
func (s *Store) compactSegment(ctx context.Context, g *segment, p *pacer, rep *CompactReport) error {
	lower, upper := locKey(g.id, 0), locKey(g.id+1, 0)
	for {
		refs, err := s.scanLocs(lower, upper, 64)
		if err != nil {
			return err
		}
		if len(refs) == 0 {
			break
		}
		req := &request{}
		var moved int64
		for _, r := range refs {
			e, err := s.lookup(r.key)
			if err != nil || !e.located() || e.Segment != g.id || e.Offset != r.off {
				continue
			}
			v := e.Inline // an inline value's record moves too: it is what a rebuilt index finds
			if !e.inline() {
				if v, err = s.readValue(r.key, &e, false); err != nil {
					req.release()
					return fmt.Errorf("storage: compacting segment %d: %w", g.id, err)
				}
			}
			tr := trailer{Op: opMove, Flags: flagsSingle | flagMoveVersion, KeyLen: e.KeyLen, ValueLen: e.ValueLen, Epoch: e.Epoch,
				Time: e.Time, CondA: e.Version, CondB: g.id}
			if e.HasEpoch {
				tr.Flags |= flagHasEpoch
			}
			req.recs = append(req.recs, s.codec.encode(tr, r.key, v))
			moved += e.recordSize()
		}
		if len(req.recs) > 0 {
			if err := s.submit(ctx, req); err != nil {
				return fmt.Errorf("storage: compacting segment %d: %w", g.id, err)
			}
			rep.MovedRecords += req.applied
			rep.MovedBytes += moved
			s.ctr.movedBytes.Add(uint64(moved))
		}
		if err := p.wait(ctx, moved*int64(s.codec.n())); err != nil {
			return err
		}
		last := refs[len(refs)-1]
		lower = append(locKey(last.seg, last.off), 0)
	}
	if err := s.carryTombstones(ctx, g); err != nil {
		return fmt.Errorf("storage: compacting segment %d: %w", g.id, err)
	}
	if err := s.submit(ctx, &request{checkpoint: true}); err != nil {
		return fmt.Errorf("storage: compacting segment %d: checkpoint: %w", g.id, err)
	}
	if left, err := s.scanLocs(locKey(g.id, 0), upper, 1); err != nil || len(left) > 0 {
		return fmt.Errorf("storage: compacting segment %d: live records remain (%v); segment kept", g.id, err)
	}
	s.segs.mu.Lock()
	size := g.size
	s.segs.mu.Unlock()
	s.segs.remove(g)
	var errs []error
	for _, v := range s.vols {
		if err := v.fs.Remove(v.segPath(g.id)); err != nil {
			errs = append(errs, err)
		}
		if err := v.fs.SyncDir(v.segDir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.db.Delete(brokenKey(g.id), pebble.NoSync); err != nil {
		errs = append(errs, err)
	}
	if err := s.db.DeleteRange(tombKey(g.id, 0), tombKey(g.id+1, 0), pebble.NoSync); err != nil {
		errs = append(errs, err)
	}
	rep.Segments++
	rep.ReclaimedBytes += size
	s.ctr.compactedSegments.Add(1)
	s.ctr.reclaimedBytes.Add(uint64(size))
	return errors.Join(errs...)
}

// carryTombstones copies forward the tombstones of segment g that must
// outlive it: those whose origin segment, or an older one, still exists
// (it may hold a put they deleted, which an index rebuilt from the log
// would otherwise bring back). The others are dropped with g.
func (s *Store) carryTombstones(ctx context.Context, g *segment) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: tombKey(g.id, 0), UpperBound: tombKey(g.id+1, 0)})
	if err != nil {
		return err
	}
	var tombs []tomb
	for ok := it.First(); ok; ok = it.Next() {
		t, err := decodeTomb(it.Value())
		if err != nil {
			it.Close()
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		tombs = append(tombs, t)
	}
	if err := it.Close(); err != nil {
		return err
	}
	s.segs.mu.Lock()
	oldest := uint64(1<<64 - 1)
	for id := range s.segs.segs {
		if id != g.id {
			oldest = min(oldest, id)
		}
	}
	s.segs.mu.Unlock()
	now := s.opts.now().UnixNano()
	for len(tombs) > 0 {
		req := &request{}
		for _, t := range tombs[:min(64, len(tombs))] {
			if oldest > t.Origin {
				continue // every segment that could hold what it deleted is gone
			}
			req.recs = append(req.recs, s.codec.encode(trailer{Op: t.Op, Flags: flagsSingle | flagCarried,
				KeyLen: uint16(len(t.Key)), Time: now, CondA: t.Version, CondB: t.Origin}, t.Key, nil))
		}
		tombs = tombs[min(64, len(tombs)):]
		if len(req.recs) > 0 {
			if err := s.submit(ctx, req); err != nil {
				return err
			}
		}
	}
	return nil
}

// --- retention ------------------------------------------------------------

// PruneRule selects keys for Prune: those under Prefix that carry an epoch
// tag below BeforeEpoch, or were written before OlderThan. A zero
// BeforeEpoch or OlderThan turns that criterion off.
type PruneRule struct {
	Prefix      []byte
	BeforeEpoch uint64
	OlderThan   time.Time
}

// Prune deletes the keys the rule selects and returns how many it removed.
// It works in small batches through the committer, so writes continue. A key
// rewritten while Prune runs keeps its new value.
func (s *Store) Prune(ctx context.Context, r PruneRule) (int, error) {
	if !s.enter() {
		return 0, ErrClosed
	}
	defer s.exit()
	ctx, cancel := s.withStoreCtx(ctx)
	defer cancel()
	return s.prune(ctx, r)
}

func (s *Store) prune(ctx context.Context, r PruneRule) (int, error) {
	total := 0
	if r.BeforeEpoch > 0 {
		n, err := s.pruneRange(ctx, []byte{pfxEpoch}, u64Key(pfxEpoch, r.BeforeEpoch, nil), r.Prefix,
			func(e *entry) bool { return e.HasEpoch && e.Epoch < r.BeforeEpoch })
		total += n
		if err != nil {
			return total, err
		}
	}
	if !r.OlderThan.IsZero() {
		t := r.OlderThan.UnixNano()
		n, err := s.pruneRange(ctx, []byte{pfxTime}, timeKey(t, nil), r.Prefix,
			func(e *entry) bool { return e.Time < t })
		total += n
		if err != nil {
			return total, err
		}
	}
	s.ctr.pruned.Add(uint64(total))
	return total, nil
}

// pruneRange walks an 'e' or 't' index range ([lower, upper), keys are
// prefix byte ‖ uint64 ‖ user key) and deletes matching keys.
func (s *Store) pruneRange(ctx context.Context, lower, upper, prefix []byte, match func(*entry) bool) (int, error) {
	total := 0
	for {
		it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
		if err != nil {
			return total, err
		}
		req := &request{}
		var last []byte
		scanned := 0
		now := s.opts.now().UnixNano()
		for ok := it.First(); ok && scanned < 512; ok = it.Next() {
			scanned++
			ik := it.Key()
			last = append(last[:0], ik...)
			if len(ik) < 10 {
				continue
			}
			key := ik[9:]
			if !bytes.HasPrefix(key, prefix) {
				continue
			}
			e, err := s.lookup(key)
			if err != nil || !match(&e) {
				continue
			}
			key = append([]byte{}, key...)
			req.recs = append(req.recs, s.codec.encode(trailer{Op: opDeleteIf, Flags: flagsSingle,
				KeyLen: uint16(len(key)), Time: now, CondA: e.Version}, key, nil))
		}
		err = it.Error()
		it.Close()
		if err != nil {
			req.release()
			return total, err
		}
		if len(req.recs) > 0 {
			if err := s.submit(ctx, req); err != nil {
				return total, err
			}
			total += req.applied
		}
		if scanned < 512 {
			return total, ctx.Err()
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
		lower = append(append([]byte{}, last...), 0)
	}
}

// applyRetention runs the configured rules once.
func (s *Store) applyRetention(ctx context.Context) error {
	var errs []error
	for _, rule := range s.cfg.Retention.Rules {
		r := PruneRule{Prefix: rule.Prefix}
		if rule.KeepEpochs > 0 && s.epochSet.Load() {
			if cur := s.epoch.Load(); cur >= rule.KeepEpochs {
				r.BeforeEpoch = cur - rule.KeepEpochs + 1
			}
		}
		if rule.MaxAge > 0 {
			r.OlderThan = s.opts.now().Add(-rule.MaxAge)
		}
		if r.BeforeEpoch == 0 && r.OlderThan.IsZero() {
			continue
		}
		n, err := s.prune(ctx, r)
		if err != nil {
			errs = append(errs, err)
		}
		if n > 0 {
			s.log.Info("pruned", "prefix", string(rule.Prefix), "keys", n)
		}
	}
	return errors.Join(errs...)
}

// ApplyRetention runs the configured retention rules once (the background
// pruner does this every Retention.Interval) and returns how many keys were
// removed.
func (s *Store) ApplyRetention(ctx context.Context) (int, error) {
	if !s.enter() {
		return 0, ErrClosed
	}
	defer s.exit()
	ctx, cancel := s.withStoreCtx(ctx)
	defer cancel()
	before := s.ctr.pruned.Load()
	err := s.applyRetention(ctx)
	return int(s.ctr.pruned.Load() - before), err
}
