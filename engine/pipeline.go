package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine/api"
)

// batch is a group of blobs that travels the pipeline together and ends in
// one certificate.
type batch struct {
	blobs []*blob
	bytes int
}

// runBatcher forms batches from the queue: as soon as it holds
// Batcher.MaxBytes or Batcher.MaxBlobs, or Batcher.MaxWait after its oldest
// blob arrived. A full encode stage holds it back (the queue then grows up
// to the admission limits, and posts beyond them get 429).
func (e *Engine) runBatcher() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		e.mu.Lock()
		bt, wait := e.takeBatchLocked(e.now())
		e.mu.Unlock()
		if bt != nil {
			e.m.batchBlobs.Observe(float64(len(bt.blobs)))
			e.m.batchBytes.Observe(float64(bt.bytes))
			select {
			case e.encodeCh <- bt:
			case <-e.ctx.Done():
				return
			}
			continue
		}
		var tc <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			tc = timer.C
		}
		select {
		case <-e.wake:
		case <-tc:
		case <-e.ctx.Done():
			timer.Stop()
			return
		}
		if !timer.Stop() && tc != nil {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// takeBatchLocked takes a batch off the queue if one is due; otherwise it
// returns how long until the oldest blob's wait is over (0: queue empty).
func (e *Engine) takeBatchLocked(now time.Time) (*batch, time.Duration) {
	if len(e.queue) == 0 {
		return nil, 0
	}
	c := e.cfg.Batcher
	age := now.Sub(e.queue[0].queued)
	if e.queueBytes < c.MaxBytes && len(e.queue) < c.MaxBlobs && age < time.Duration(c.MaxWait) {
		return nil, time.Duration(c.MaxWait) - age
	}
	bt := &batch{}
	n := 0
	for n < len(e.queue) && n < c.MaxBlobs {
		l := e.queue[n].params.Length
		if n > 0 && bt.bytes+l > c.MaxBytes {
			break
		}
		bt.bytes += l
		n++
	}
	bt.blobs = append([]*blob(nil), e.queue[:n]...)
	clear(e.queue[:n])
	e.queue = e.queue[n:]
	e.queueBytes -= bt.bytes
	return bt, 0
}

// runEncoder extends the blobs of each batch (column extension into the
// slab allocated at intake, commitments of the extended rows derived in G1)
// and passes the batch on to dispersal.
func (e *Engine) runEncoder() {
	for {
		var bt *batch
		select {
		case bt = <-e.encodeCh:
		case <-e.ctx.Done():
			return
		}
		if err := e.setStatus(bt.blobs, api.StatusEncoding); err != nil {
			if e.ctx.Err() != nil {
				return
			}
		}
		start := time.Now()
		errs := make([]error, len(bt.blobs))
		parallel(len(bt.blobs), e.cfg.Encoder.Concurrency, func(i int) { errs[i] = e.extend(bt.blobs[i]) })
		if e.ctx.Err() != nil {
			return
		}
		kept := bt.blobs[:0]
		for i, b := range bt.blobs {
			if err := errs[i]; err != nil {
				e.log.Error("encoding failed", "blob_key", b.key, "err", err)
				if ferr := e.finish([]*blob{b}, nil, fmt.Sprintf("encoding: %v", err)); ferr != nil {
					e.log.Error("recording failure", "blob_key", b.key, "err", ferr)
				}
				continue
			}
			kept = append(kept, b)
			e.m.blobs.WithLabelValues("encoded").Inc()
			e.m.bytes.WithLabelValues("encoded").Add(float64(b.params.Length))
		}
		e.m.stage.WithLabelValues("encode").Observe(time.Since(start).Seconds())
		bt.blobs = kept
		if len(bt.blobs) == 0 {
			continue
		}
		select {
		case e.disperseCh <- bt:
		case <-e.ctx.Done():
			return
		}
	}
}

// extend computes b's 4K extended rows and their commitments.
func (e *Engine) extend(b *blob) error {
	rows := b.rows[:cap(b.rows)]
	if len(rows) != b.params.ExtendedRows() {
		return fmt.Errorf("%w: blob %s holds %d row buffers, want %d", ErrInternal, b.key, len(rows), b.params.ExtendedRows())
	}
	if err := e.enc.Backend().ExtendColumns(e.ctx, b.rows, rows); err != nil {
		return err
	}
	all, err := e.kzg.DeriveCommitments(b.data)
	if err != nil {
		return err
	}
	b.enc = &encoder.Encoded{Params: b.params, Key: b.key, Rows: rows, Commitments: all}
	return nil
}

// runCertifier disperses batches and submits their certificates, retrying
// with backoff; Dispersal.Concurrency of them run, so that one batch is
// dispersed while another's certificate waits for its block.
func (e *Engine) runCertifier() {
	for {
		var bt *batch
		select {
		case bt = <-e.disperseCh:
		case <-e.ctx.Done():
			return
		}
		e.certify(bt)
	}
}

func (e *Engine) certify(bt *batch) {
	if err := e.setStatus(bt.blobs, api.StatusDispersing); err != nil && e.ctx.Err() != nil {
		return
	}
	c := e.cfg.Dispersal
	encs := make([]*encoder.Encoded, len(bt.blobs))
	keys := make([]da.BlobKey, len(bt.blobs))
	for i, b := range bt.blobs {
		encs[i], keys[i] = b.enc, b.key
	}
	backoff := time.Duration(c.Backoff)
	var cert *da.Certificate
	for attempt := 1; ; attempt++ {
		var reason string
		if cert == nil {
			var err error
			cert, reason, err = e.disperse(encs, bt)
			if errors.Is(err, ErrBatchTooLarge) && len(bt.blobs) > 1 {
				h := len(bt.blobs) / 2
				e.log.Info("splitting a batch the disperser cannot take at once", "blobs", len(bt.blobs), "err", err)
				e.certify(&batch{blobs: bt.blobs[:h:h], bytes: sumBytes(bt.blobs[:h])})
				e.certify(&batch{blobs: bt.blobs[h:], bytes: sumBytes(bt.blobs[h:])})
				return
			}
		}
		if cert != nil {
			rec, err := e.submit(cert)
			if err == nil {
				if err := e.finish(bt.blobs, rec, ""); err != nil {
					e.log.Error("recording certified batch", "batch_root", rec.Certificate.BatchRoot, "err", err)
					return
				}
				e.log.Info("batch certified", "batch_root", rec.Certificate.BatchRoot, "blobs", len(bt.blobs),
					"bytes", bt.bytes, "height", rec.Height, "attempt", attempt)
				return
			}
			if e.ctx.Err() != nil {
				return
			}
			e.m.certFailures.WithLabelValues("submit").Inc()
			reason = fmt.Sprintf("certificate transaction: %v", err)
			var txErr *chain.TxError
			if errors.As(err, &txErr) {
				cert = nil // refused: disperse again (a new epoch or quorum may help)
			}
		}
		if e.ctx.Err() != nil {
			return
		}
		for _, b := range bt.blobs {
			b.attempts++
		}
		e.log.Warn("certification attempt failed", "attempt", attempt, "of", c.Attempts, "blobs", len(bt.blobs), "reason", reason)
		if attempt >= c.Attempts {
			e.m.certFailures.WithLabelValues("gave_up").Inc()
			reason = fmt.Sprintf("gave up after %d attempts: %s", attempt, reason)
			if err := e.finish(bt.blobs, nil, reason); err != nil {
				e.log.Error("recording failed batch", "err", err)
			}
			return
		}
		select {
		case <-time.After(backoff):
		case <-e.ctx.Done():
			return
		}
		backoff = min(2*backoff, time.Duration(c.MaxBackoff))
	}
}

// disperse runs one Disperse call and checks that the certificate is for
// this batch. It returns the certificate, or nil, why not and the error.
func (e *Engine) disperse(encs []*encoder.Encoded, bt *batch) (*da.Certificate, string, error) {
	if e.disp == nil {
		return nil, "no disperser configured", nil
	}
	ctx, cancel := context.WithTimeout(e.ctx, time.Duration(e.cfg.Dispersal.Timeout))
	defer cancel()
	start := time.Now()
	cert, err := e.disp.Disperse(ctx, encs)
	e.m.stage.WithLabelValues("disperse").Observe(time.Since(start).Seconds())
	if err == nil {
		err = checkCert(cert, bt)
	}
	if err != nil {
		if e.ctx.Err() == nil {
			e.m.certFailures.WithLabelValues("disperse").Inc()
		}
		return nil, fmt.Sprintf("dispersal: %v", err), err
	}
	for _, b := range bt.blobs {
		e.m.blobs.WithLabelValues("dispersed").Inc()
		e.m.bytes.WithLabelValues("dispersed").Add(float64(b.params.Length))
	}
	return cert, "", nil
}

func sumBytes(bs []*blob) int {
	n := 0
	for _, b := range bs {
		n += b.params.Length
	}
	return n
}

// checkCert makes sure a certificate names exactly the batch's blobs, in
// order, with their K, under the right batch root.
func checkCert(c *da.Certificate, bt *batch) error {
	if c == nil {
		return fmt.Errorf("no certificate returned")
	}
	if len(c.Blobs) != len(bt.blobs) {
		return fmt.Errorf("certificate names %d blobs, the batch has %d", len(c.Blobs), len(bt.blobs))
	}
	for i, b := range bt.blobs {
		if c.Blobs[i].Key != b.key || int(c.Blobs[i].Rows) != b.params.K {
			return fmt.Errorf("certificate blob %d is %s with K=%d, want %s with K=%d",
				i, c.Blobs[i].Key, c.Blobs[i].Rows, b.key, b.params.K)
		}
	}
	return c.Validate()
}

// submit records the certificate on the chain and returns where it landed.
// A certificate already recorded (a retry after a lost answer, or a restart)
// counts as landed.
func (e *Engine) submit(cert *da.Certificate) (*chain.CertificateRecord, error) {
	if e.chain == nil {
		return nil, fmt.Errorf("no chain configured")
	}
	tx, err := chain.NewCertificateTx(cert)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(e.ctx, time.Duration(e.cfg.Dispersal.SubmitTimeout))
	defer cancel()
	start := time.Now()
	res, err := e.chain.Submit(ctx, tx)
	e.m.stage.WithLabelValues("submit").Observe(time.Since(start).Seconds())
	if err == nil {
		return &chain.CertificateRecord{Certificate: *cert, Height: res.Height}, nil
	}
	var txErr *chain.TxError
	if errors.Is(err, chain.ErrDuplicate) || !errors.As(err, &txErr) {
		if rec, qerr := e.chain.Certificate(ctx, cert.BatchRoot); qerr == nil {
			return rec, nil
		}
	}
	return nil, err
}

// parallel runs f(i) for i in [0, n) on up to k goroutines.
func parallel(n, k int, f func(i int)) {
	if k <= 1 || n <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(k, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
