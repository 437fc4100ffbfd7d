package sampler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
)

// Checked is one certified blob's check while following the chain.
type Checked struct {
	Height int64
	Cert   *chain.CertificateRecord
	Key    da.BlobKey
	Report *Report // nil when Err is set
	Err    error   // the check could not be made (no header, chain error)
}

// Follow checks every blob of every certificate recorded from block from
// on (0: the next block), a few blobs at once, and calls each with the
// result; each may be called concurrently, in no particular order within a
// block. Blocks are
// finished in order: a block's blobs are all checked before the next
// block's start. It returns when ctx ends, or on a chain error that
// persists.
func (s *Sampler) Follow(ctx context.Context, from int64, each func(Checked)) error {
	if from <= 0 {
		st, err := s.chain.Status(ctx)
		if err != nil {
			return fmt.Errorf("sampler: chain status: %w", err)
		}
		from = st.Height + 1
	}
	lim := max(1, s.cfg.Concurrency/4) // blobs at once; each has its own request bound
	fails := 0
	for h := from; ; {
		if err := s.chain.WaitForHeight(ctx, h); err != nil {
			return ctxOr(ctx, err)
		}
		recs, err := s.chain.CertificatesAt(ctx, h)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if fails++; fails > 10 {
				return fmt.Errorf("sampler: reading block %d: %w", h, err)
			}
			s.log.Warn("reading a block failed; retrying", "height", h, "err", err)
			select {
			case <-time.After(time.Duration(fails) * 500 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		fails = 0
		sem := make(chan struct{}, lim)
		var wg sync.WaitGroup
		for i := range recs {
			rec := &recs[i]
			for _, b := range rec.Certificate.Blobs {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					rep, err := s.Sample(ctx, b.Key)
					if ctx.Err() != nil {
						return
					}
					each(Checked{Height: h, Cert: rec, Key: b.Key, Report: rep, Err: err})
				}()
			}
		}
		wg.Wait()
		s.met.height.Set(float64(h))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		h++
	}
}

func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return ctx.Err()
	}
	return err
}
