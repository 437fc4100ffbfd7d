package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine/api"
)

// batch is a group of blobs that travels the pipeline together: one
// matrix (docs/spec.md §3.3), one dispersal, one certificate.
type batch struct {
	blobs []*blob
	rows  int // D
	bytes int
	enc   *encoder.Batch // set by the encoder

	// rowsMu orders the readers of enc.Rows other than the pipeline (reads
	// of a batch in flight, localRow) before releaseRows.
	rowsMu   sync.RWMutex
	released bool
}

// row returns dispersed row n of the batch while it holds its rows: a copy
// of a lent parity row (encoder.Batch.Lent: rows D… are the backend's), so
// that no reader keeps it past the release; nil once released.
func (bt *batch) row(n int) []fr.Element {
	bt.rowsMu.RLock()
	defer bt.rowsMu.RUnlock()
	switch {
	case bt.released:
		return nil
	case bt.enc.Lent() && n >= bt.enc.D:
		return slices.Clone(bt.enc.Rows[n])
	}
	return bt.enc.Rows[n]
}

// releaseRows hands an encoded batch's rows back (encoder.Batch.Release)
// once the pipeline is done with them — the batch is final, or will never
// be dispersed — and no reader holds one; later calls do nothing.
func (e *Engine) releaseRows(bt *batch) {
	if bt.enc == nil {
		return
	}
	bt.rowsMu.Lock()
	defer bt.rowsMu.Unlock()
	if bt.released {
		return
	}
	bt.released = true
	if bt.enc.Lent() {
		e.m.parityBatches.WithLabelValues("released").Inc()
	}
	bt.enc.Release()
}

// runBatcher forms batches from the queue by cutRule. A full encode stage
// holds it back (the queue then grows up to the admission limits, and posts
// beyond them get 429).
func (e *Engine) runBatcher() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		e.mu.Lock()
		bt, wait := e.takeBatchLocked(e.now())
		e.mu.Unlock()
		if bt != nil {
			e.log.Debug("batch cut", "blobs", len(bt.blobs), "rows", bt.rows, "oldest_waited", e.now().Sub(bt.blobs[0].queued))
			e.m.batchBlobs.Observe(float64(len(bt.blobs)))
			e.m.batchRows.Observe(float64(bt.rows))
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

// takeBatchLocked takes a batch off the queue if cutRule says one is due;
// otherwise it returns how long until one may be (0: until poked).
func (e *Engine) takeBatchLocked(now time.Time) (*batch, time.Duration) {
	if len(e.queue) == 0 {
		return nil, 0
	}
	rows := e.queueScr[:0]
	for _, b := range e.queue {
		rows = append(rows, b.params.Rows)
	}
	e.queueScr = rows
	n, wait := e.rule.cut(queueState{Rows: rows, Waited: now.Sub(e.queue[0].queued), InIntake: e.intake + e.receivingPosts, IntakeIdle: now.Sub(e.intakeEmptied), Committing: e.committing || e.storing > 0, EncoderIdle: e.encoding < e.encoders})
	if n == 0 {
		return nil, wait
	}
	bt := &batch{blobs: append([]*blob(nil), e.queue[:n]...)}
	for _, b := range bt.blobs {
		bt.rows += b.params.Rows
		bt.bytes += b.params.Length
	}
	clear(e.queue[:n])
	e.queue = e.queue[n:]
	e.queueRows -= bt.rows
	e.queueBytes -= bt.bytes
	e.encoding++
	return bt, 0
}

// runEncoder encodes each batch — one column extension of its matrix and
// one derivation of its 3D parity commitments in G1 (encoder.EncodeBatch) —
// and passes it on to dispersal. The encoder counts as busy until the batch
// is handed over, so that the batcher keeps gathering blobs meanwhile.
// Start runs Encoder.BatchConcurrency of them (a CUDA backend encodes two
// batches at once, one's transfers under the other's kernels; the CPU one
// batch at a time).
func (e *Engine) runEncoder() {
	for {
		var bt *batch
		select {
		case bt = <-e.encodeCh:
		case <-e.ctx.Done():
			return
		}
		if !e.encode(bt) {
			return
		}
		e.mu.Lock()
		e.encoding--
		e.mu.Unlock()
		e.poke()
	}
}

// encode encodes one batch and hands it to dispersal; false when closing.
func (e *Engine) encode(bt *batch) bool {
	if err := e.setStatus(bt.blobs, api.StatusEncoding); err != nil && e.ctx.Err() != nil {
		return false
	}
	start := time.Now()
	blobs := make([]*encoder.Blob, len(bt.blobs))
	for i, b := range bt.blobs {
		blobs[i] = b.eb
	}
	enc, err := e.enc.EncodeBatch(e.ctx, e.kzg, blobs, nil)
	// The rows kept on the device served this encoding (or were not
	// used because it failed); a retry of the batch uploads them.
	for _, b := range blobs {
		e.releaseDevice(b.Device)
		b.Device = nil
	}
	if e.ctx.Err() != nil {
		if err == nil {
			enc.Release()
		}
		return false
	}
	if err != nil {
		e.log.Error("encoding failed", "blobs", len(bt.blobs), "rows", bt.rows, "err", err)
		if ferr := e.finish(bt.blobs, nil, nil, fmt.Sprintf("encoding: %v", err)); ferr != nil {
			e.log.Error("recording failure", "err", ferr)
		}
		return true
	}
	e.m.stage.WithLabelValues("encode").Observe(time.Since(start).Seconds())
	e.log.Debug("batch encoded", "batch_root", enc.Root, "rows", bt.rows, "dispersed_rows", enc.N, "seconds", time.Since(start).Seconds())
	e.m.blobs.WithLabelValues("encoded").Add(float64(len(bt.blobs)))
	e.m.bytes.WithLabelValues("encoded").Add(float64(bt.bytes))
	if enc.Lent() {
		e.m.parityBatches.WithLabelValues("lent").Inc()
	} else {
		e.m.parityBatches.WithLabelValues("go").Inc()
	}
	bt.enc = enc
	e.mu.Lock()
	e.batches[enc.Root] = bt
	e.mu.Unlock()
	select {
	case e.disperseCh <- bt:
		return true
	case <-e.ctx.Done():
		e.releaseRows(bt)
		return false
	}
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
	defer func() {
		e.mu.Lock()
		if e.batches[bt.enc.Root] == bt {
			delete(e.batches, bt.enc.Root)
		}
		e.mu.Unlock()
		// Final (or closing): the rows are dispersed, the blobs' local
		// copies serve later reads, and no new reader finds the batch.
		e.releaseRows(bt)
	}()
	if err := e.setStatus(bt.blobs, api.StatusDispersing); err != nil && e.ctx.Err() != nil {
		return
	}
	c := e.cfg.Dispersal
	backoff := time.Duration(c.Backoff)
	var cert *da.Certificate
	for attempt := 1; ; attempt++ {
		var reason string
		if cert == nil {
			cert, reason = e.disperse(bt)
		}
		if cert != nil {
			rec, err := e.submit(cert)
			if err == nil {
				if err := e.finish(bt.blobs, rec, &bt.enc.Header, ""); err != nil {
					e.log.Error("recording certified batch", "batch_root", rec.Certificate.BatchRoot, "err", err)
					return
				}
				e.log.Info("batch certified", "batch_root", rec.Certificate.BatchRoot, "blobs", len(bt.blobs),
					"rows", bt.rows, "bytes", bt.bytes, "height", rec.Height, "attempt", attempt)
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
			if err := e.finish(bt.blobs, nil, nil, reason); err != nil {
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
// this batch. It returns the certificate, or nil and why not.
func (e *Engine) disperse(bt *batch) (*da.Certificate, string) {
	if e.disp == nil {
		return nil, "no disperser configured"
	}
	ctx, cancel := context.WithTimeout(e.ctx, time.Duration(e.cfg.Dispersal.Timeout))
	defer cancel()
	start := time.Now()
	cert, rep, err := e.disp.Disperse(ctx, bt.enc)
	e.m.stage.WithLabelValues("disperse").Observe(time.Since(start).Seconds())
	if rep != nil {
		e.m.sent.WithLabelValues("rows").Add(float64(rep.RowBytesSent))
		e.m.sent.WithLabelValues("headers").Add(float64(rep.HeaderBytesSent))
	}
	if err == nil {
		err = checkCert(cert, bt)
	}
	if err != nil {
		if e.ctx.Err() == nil {
			e.m.certFailures.WithLabelValues("disperse").Inc()
		}
		return nil, fmt.Sprintf("dispersal: %v", err)
	}
	e.m.blobs.WithLabelValues("dispersed").Add(float64(len(bt.blobs)))
	e.m.bytes.WithLabelValues("dispersed").Add(float64(bt.bytes))
	return cert, ""
}

// checkCert makes sure a certificate is for the batch: its root, and its
// blobs in order with their R (docs/spec.md §4.4).
func checkCert(c *da.Certificate, bt *batch) error {
	if c == nil {
		return fmt.Errorf("no certificate returned")
	}
	if c.BatchRoot != bt.enc.Root {
		return fmt.Errorf("certificate is for batch %s, not %s", c.BatchRoot, bt.enc.Root)
	}
	if len(c.Blobs) != len(bt.blobs) {
		return fmt.Errorf("certificate names %d blobs, the batch has %d", len(c.Blobs), len(bt.blobs))
	}
	for i, b := range bt.blobs {
		if c.Blobs[i].Key != b.key || int(c.Blobs[i].Rows) != b.params.Rows {
			return fmt.Errorf("certificate blob %d is %s with R=%d, want %s with R=%d",
				i, c.Blobs[i].Key, c.Blobs[i].Rows, b.key, b.params.Rows)
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
