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

// Checked is one blob's verdict while following the chain: the check of
// the batch that certificate Cert recorded, for the blob at Index.
type Checked struct {
	Height int64
	Cert   *chain.CertificateRecord
	Root   da.Hash // Cert's batch root
	Key    da.BlobKey
	Index  int     // the blob's position in the batch
	Report *Report // the blob's report (Report.ForBlob); nil when Err is set
	Err    error   // the check could not be made (no header, chain error)
}

// Follow checks every batch certified in block from on (0: the next
// block), once each and a few at once, and calls each for every blob of
// the batch with that blob's verdict. each may be called concurrently, in
// no particular order within a block. Blocks are finished in order: a
// block's batches are all checked before the next block's start. It
// returns when ctx ends, or on a chain error that persists.
func (s *Sampler) Follow(ctx context.Context, from int64, each func(Checked)) error {
	if from <= 0 {
		st, err := s.chain.Status(ctx)
		if err != nil {
			return fmt.Errorf("sampler: chain status: %w", err)
		}
		from = st.Height + 1
	}
	lim := max(1, s.cfg.Concurrency/4) // batches at once; each has its own request bound
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
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				root := rec.Certificate.BatchRoot
				rep, err := s.SampleBatch(ctx, root)
				if ctx.Err() != nil {
					return
				}
				if err == nil && rep.BatchBlobs != len(rec.Certificate.Blobs) {
					err = fmt.Errorf("sampler: batch %s: the chain's certificate lists %d blobs, its record %d", root, rep.BatchBlobs, len(rec.Certificate.Blobs))
				}
				for j, b := range rec.Certificate.Blobs {
					c := Checked{Height: h, Cert: rec, Root: root, Key: b.Key, Index: j, Err: err}
					if err == nil {
						c.Report = rep.ForBlob(j)
					}
					each(c)
				}
			}()
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
