package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Heal passes rebuild the shards a returning or replaced volume missed, from
// its heal mark (health.go) to the end of the log.

// startHeal starts a heal pass for volume v unless one runs.
func (s *Store) startHeal(v int) {
	h := s.health[v]
	if !h.healing.CompareAndSwap(false, true) {
		return
	}
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		defer h.healing.Store(false)
		if err := s.heal(s.bgCtx, v); err != nil && s.bgCtx.Err() == nil {
			s.log.Warn("heal pass stopped; it resumes from its mark", "volume", v, "err", err)
		}
	}()
}

// heal rebuilds volume v's shards from its heal mark to the end of the log,
// paced by HealBytesPerSecond, advancing the persisted mark as it goes;
// then turns the volume online.
func (s *Store) heal(ctx context.Context, v int) error {
	h := s.health[v]
	h.mu.Lock()
	var from LogPosition
	scan := h.mark != nil // no mark: it missed no write
	if scan {
		from = *h.mark
	}
	h.mu.Unlock()
	p := newPacer(s.cfg.Volumes.HealBytesPerSecond)
	lower, upper := locKey(from.Segment, from.Offset), []byte{pfxLoc + 1}
	healed := 0
	// advance persists the mark past what is healed, so that a restart
	// resumes there. Records at or after the mark are the only ones the
	// volume can miss: new writes land at the end of the log.
	advance := func(pos LogPosition) error {
		return s.ctl(ctx, func(b *pebble.Batch) {
			h.mu.Lock()
			if h.get() == volHealing && h.mark != nil && h.mark.before(pos) {
				h.mark = &pos
				b.Set(healKey(v), encodePos(pos), nil)
			}
			h.mu.Unlock()
		})
	}
	const persistEvery = 32 // records between persisted marks
	for scan {
		refs, err := s.scanLocs(lower, upper, persistEvery)
		if err != nil {
			return err
		}
		if len(refs) == 0 {
			break
		}
		for _, r := range refs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if h.get() != volHealing {
				return fmt.Errorf("volume %d went offline again", v)
			}
			s.ctr.healScanned.Add(1)
			e, err := s.lookup(r.key)
			if err != nil || e.inline() || e.Segment != r.seg || e.Offset != r.off {
				continue
			}
			n, err := s.healRecord(r.key, &e, v)
			if err != nil {
				return err
			}
			healed += n
			if err := p.wait(ctx, e.recordSize()); err != nil {
				return err
			}
		}
		last := refs[len(refs)-1]
		lower = append(locKey(last.seg, last.off), 0)
		if err := advance(LogPosition{Segment: last.seg, Offset: last.off + 1}); err != nil {
			return err
		}
	}
	done := false
	if err := s.ctl(ctx, func(b *pebble.Batch) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.get() != volHealing {
			return
		}
		h.state.Store(int32(volOnline))
		h.reason, h.since, h.mark = "", s.opts.now(), nil
		b.Delete(healKey(v), nil)
		done = true
	}); err != nil {
		return err
	}
	if done {
		s.ctr.healPasses.Add(1)
		s.log.Warn("volume healed; full redundancy restored", "volume", v, "path", s.vols[v].path, "shards_rebuilt", healed)
	}
	return nil
}

// healRecord makes sure volume v holds its shard of the record e points to,
// rebuilding it from the others if not. It returns the shards rewritten.
func (s *Store) healRecord(key []byte, e *entry, v int) (int, error) {
	g := s.segs.acquire(e.Segment)
	if g == nil {
		return 0, nil // compacted away
	}
	defer s.segs.release(g)
	buf := make([]byte, e.ShardLen)
	if s.readShard(g, e, v, buf, true) == "" {
		return 0, nil
	}
	before := s.ctr.repairs.Load()
	if _, err := s.loadRecord(g, key, e, true); err != nil {
		if errors.Is(err, errSegmentGone) {
			return 0, nil
		}
		s.log.Error("heal: a record cannot be rebuilt", "volume", v, "err", err)
		return 0, nil
	}
	return int(s.ctr.repairs.Load() - before), nil
}
