package engine

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine/api"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/storage"
)

// Put accepts a blob: it packs data into its R rows (the one copy between
// the request body and the encoder), commits to them — the blob key is a
// hash of those commitments (docs/spec.md §3.2), so this cannot wait for the
// batcher; posts arriving together share one CommitRows call — and stores
// the bytes and the queued status durably before returning the key. data is
// only read, and not retained after Put returns.
//
// Posting a blob the engine already holds returns its current status
// (a failed one is queued again); the bytes are recognised by their SHA-256
// before any reservation or commitment, so a client retrying a post whose
// answer it missed pays for a hash, not for the commitments again. A full
// queue gives ErrQueueFull at once.
func (e *Engine) Put(ctx context.Context, data []byte) (api.PutResponse, error) {
	p, err := encoder.ParamsFor(len(data))
	switch {
	case len(data) == 0:
		e.m.rejected.WithLabelValues("empty").Inc()
		return api.PutResponse{}, ErrEmptyBlob
	case err != nil:
		e.m.rejected.WithLabelValues("too_large").Inc()
		return api.PutResponse{}, fmt.Errorf("%w: %d bytes, the maximum is %d", ErrBlobTooLarge, len(data), encoder.MaxBlobSize)
	}
	sum := sha256.Sum256(data)
	if r, ok, err := e.repost(ctx, sum); ok || err != nil {
		return r, err
	}
	f := e.beginHash(sum)
	if f == nil { // the same bytes are in intake: their answer is ours
		return e.awaitHash(ctx, sum)
	}
	var res api.PutResponse
	var resErr error
	defer func() { e.endHash(sum, f, res, resErr) }()
	res, resErr = e.put(ctx, data, p, sum)
	return res, resErr
}

// put is Put once the bytes are known to be new.
func (e *Engine) put(ctx context.Context, data []byte, p encoder.Params, sum [32]byte) (api.PutResponse, error) {
	mem := memFor(p)
	if err := e.reserve(ctx, mem, false); err != nil {
		e.m.rejected.WithLabelValues("queue_full").Inc()
		return api.PutResponse{}, err
	}
	e.intakeBegin()
	var kept *blob
	defer func() {
		if kept == nil {
			e.release(mem)
		}
		e.intakeEnd(kept)
	}()
	start := e.now()
	rows := newRows(p.Rows)
	var commits []kzg.Commitment
	var keptDevice []encoder.DeviceRow
	var err error
	if _, ok := e.kzg.(BlobCommitter); ok {
		// The committer packs its own copy of the bytes (on the device):
		// send them first, pack the rows kept for the batch meanwhile.
		req := &commitReq{data: data, n: p.Rows, res: make(chan commitRes, 1)}
		if err := e.sendCommit(req); err != nil {
			return api.PutResponse{}, err
		}
		packErr := encoder.PackInto(data, rows)
		var device []encoder.DeviceRow
		commits, device, err = e.awaitCommitDevice(req)
		if err == nil {
			defer e.stored()
		}
		if device != nil {
			defer func() {
				if kept == nil { // not queued: nothing will encode them
					e.releaseDevice(device)
				}
			}()
			keptDevice = device
		}
		if err == nil && packErr != nil {
			err = fmt.Errorf("%w: packing: %v", ErrInternal, packErr)
		}
	} else {
		if err := encoder.PackInto(data, rows); err != nil {
			return api.PutResponse{}, fmt.Errorf("%w: packing: %v", ErrInternal, err)
		}
		commits, err = e.commit(ctx, rows)
		if err == nil {
			defer e.stored()
		}
	}
	if err != nil {
		return api.PutResponse{}, err
	}
	eb, err := encoder.NewBlob(p.Length, rows, commits)
	if err != nil {
		return api.PutResponse{}, fmt.Errorf("%w: %v", ErrInternal, err)
	}
	key := eb.Key
	eb.Device = keptDevice

	// Already in flight? Then this post is a repeat.
	if r, ok, err := e.existing(ctx, key); ok || err != nil {
		return r, err
	}
	r, err := e.readStatus(ctx, key)
	if err != nil {
		return api.PutResponse{}, err
	}
	if r != nil && r.Status != api.StatusFailed {
		return api.PutResponse{BlobKey: key, Status: r.Status}, nil
	}
	b := &blob{
		key: key, params: p, data: commits, eb: eb, mem: mem, accepted: start,
		persisted: make(chan struct{}), done: make(chan struct{}),
		status: api.StatusQueued, updated: start,
	}
	e.mu.Lock()
	if _, ok := e.blobs[key]; ok {
		e.mu.Unlock()
		r, _, err := e.existing(ctx, key)
		return r, err
	}
	if e.closed {
		e.mu.Unlock()
		return api.PutResponse{}, ErrClosed
	}
	e.blobs[key] = b
	e.mu.Unlock()

	var wb storage.Batch
	wb.Put(storeKey(prefixBlob, key), data)
	wb.Put(storeKey(prefixStat, key), b.record(api.StatusQueued, start).marshal())
	wb.Put(storeKey(prefixPend, key), nil)
	wb.Put(storeKey(prefixHash, sum), key[:])
	// Once registered a write cannot be withdrawn, so it must not depend on
	// the caller's context beyond the wait for a place.
	if err := e.store.Write(e.ctx, &wb); err != nil {
		e.mu.Lock()
		delete(e.blobs, key)
		e.mu.Unlock()
		b.persistErr = fmt.Errorf("%w: storing blob %s: %v", ErrInternal, key, err)
		if e.ctx.Err() != nil {
			b.persistErr = ErrClosed
		}
		close(b.persisted)
		close(b.done)
		return api.PutResponse{}, b.persistErr
	}
	close(b.persisted)
	kept = b
	e.m.blobs.WithLabelValues("accepted").Inc()
	e.m.bytes.WithLabelValues("accepted").Add(float64(p.Length))
	e.m.stage.WithLabelValues("intake").Observe(e.now().Sub(start).Seconds())
	e.log.Debug("blob accepted", "blob_key", key, "length", p.Length, "rows", p.Rows)
	return api.PutResponse{BlobKey: key, Status: api.StatusQueued}, nil
}

// hashFlight is a post in intake, by the SHA-256 of its bytes: a repost of
// the same bytes meanwhile waits for its answer instead of committing again.
type hashFlight struct {
	done    chan struct{}
	waiting int // reposts waiting for it (under Engine.mu)
	res     api.PutResponse
	err     error
}

// beginHash registers a post of bytes with SHA-256 sum; nil when a post of
// the same bytes is already in intake.
func (e *Engine) beginHash(sum [32]byte) *hashFlight {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.byHash[sum]; ok {
		return nil
	}
	f := &hashFlight{done: make(chan struct{})}
	e.byHash[sum] = f
	return f
}

func (e *Engine) endHash(sum [32]byte, f *hashFlight, res api.PutResponse, err error) {
	e.mu.Lock()
	delete(e.byHash, sum)
	e.mu.Unlock()
	f.res, f.err = res, err
	close(f.done)
}

// awaitHash waits for the post of the same bytes in intake and answers
// what it was answered, or, if it is gone by now, looks the bytes up again.
func (e *Engine) awaitHash(ctx context.Context, sum [32]byte) (api.PutResponse, error) {
	e.mu.Lock()
	f := e.byHash[sum]
	if f != nil {
		f.waiting++
	}
	e.mu.Unlock()
	if f != nil {
		select {
		case <-f.done:
		case <-ctx.Done():
			return api.PutResponse{}, ctx.Err()
		}
		e.m.reposts.Inc()
		return f.res, f.err
	}
	r, ok, err := e.repost(ctx, sum)
	if !ok && err == nil {
		err = fmt.Errorf("%w: a post of the same bytes ended without a record", ErrInternal)
	}
	return r, err
}

// repost reports the status of bytes already accepted, by their SHA-256:
// ok is false when they are new, or when their blob failed (it is posted
// again then).
func (e *Engine) repost(ctx context.Context, sum [32]byte) (api.PutResponse, bool, error) {
	raw, err := e.store.Get(ctx, storeKey(prefixHash, sum))
	if errors.Is(err, storage.ErrNotFound) {
		return api.PutResponse{}, false, nil
	}
	if err != nil {
		return api.PutResponse{}, false, fmt.Errorf("%w: reading the content index: %v", ErrInternal, err)
	}
	if len(raw) != len(da.BlobKey{}) {
		return api.PutResponse{}, false, fmt.Errorf("%w: content index entry of %d bytes", ErrInternal, len(raw))
	}
	key := da.BlobKey(raw)
	if r, ok, err := e.existing(ctx, key); ok || err != nil {
		if ok && err == nil {
			e.m.reposts.Inc()
		}
		return r, ok, err
	}
	rec, err := e.readStatus(ctx, key)
	if err != nil || rec == nil || rec.Status == api.StatusFailed {
		return api.PutResponse{}, false, err
	}
	e.m.reposts.Inc()
	return api.PutResponse{BlobKey: key, Status: rec.Status}, true, nil
}

// existing reports the status of a blob already in flight, once its own
// intake write has finished.
func (e *Engine) existing(ctx context.Context, key da.BlobKey) (api.PutResponse, bool, error) {
	e.mu.Lock()
	b, ok := e.blobs[key]
	e.mu.Unlock()
	if !ok {
		return api.PutResponse{}, false, nil
	}
	select {
	case <-b.persisted:
	case <-ctx.Done():
		return api.PutResponse{}, true, ctx.Err()
	}
	if b.persistErr != nil {
		return api.PutResponse{}, true, b.persistErr
	}
	e.mu.Lock()
	s := b.status
	e.mu.Unlock()
	return api.PutResponse{BlobKey: key, Status: s}, true, nil
}

// receiving counts posts whose bodies are arriving (d = +1, −1): the
// batcher treats them as in intake. The last one to leave stamps the time
// the intake emptied, as intakeEnd does.
func (e *Engine) receiving(d int) {
	e.mu.Lock()
	e.receivingPosts += d
	if e.receivingPosts == 0 && e.intake == 0 {
		e.intakeEmptied = e.now()
	}
	e.mu.Unlock()
	e.poke()
}

// intakeBegin counts a post (or a recovered blob) in intake: the batcher
// waits for it rather than cut a batch without it (see cutRule).
func (e *Engine) intakeBegin() {
	e.mu.Lock()
	e.intake++
	e.mu.Unlock()
}

// intakeEnd ends intake: b, if not nil, joins the batcher's queue in the
// same step, so that the batcher never sees it neither in intake nor queued.
func (e *Engine) intakeEnd(b *blob) {
	e.mu.Lock()
	e.intake--
	if e.intake == 0 && e.receivingPosts == 0 {
		e.intakeEmptied = e.now()
	}
	if b != nil {
		b.queued = e.now()
		e.queue = append(e.queue, b)
		e.queueRows += b.params.Rows
		e.queueBytes += b.params.Length
	}
	e.mu.Unlock()
	e.poke()
}

// stored ends the storing of a post the committer answered (runCommitter
// counted it).
func (e *Engine) stored() {
	e.mu.Lock()
	e.storing--
	e.mu.Unlock()
}

// setCommitting tells the batcher whether an intake commit call is running
// (see cutRule).
func (e *Engine) setCommitting(on bool) {
	e.mu.Lock()
	e.committing = on
	e.mu.Unlock()
	e.poke()
}

// poke wakes the batcher.
func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// commitReq asks the committer for the commitments of one blob's rows,
// given as rows or (BlobCommitter) as the blob's bytes.
type commitReq struct {
	rows  []([]fr.Element)
	data  []byte
	n     int            // rows to commit
	res   chan commitRes // capacity 1
	state atomic.Int32   // reqOpen, then reqTaken (committer) or reqAbandoned (poster)
}

const (
	reqOpen      = iota
	reqTaken     // the committer will answer it
	reqAbandoned // the poster left (engine closing): skip it
)

type commitRes struct {
	commits []kzg.Commitment
	device  []encoder.DeviceRow // the rows kept on the device (ResidentCommitter), or nil
	err     error
}

// commit returns C_0 … C_{R−1} of rows through the committer goroutine,
// which commits the rows of posts arriving together in one call.
func (e *Engine) commit(ctx context.Context, rows [][]fr.Element) ([]kzg.Commitment, error) {
	req := &commitReq{rows: rows, n: len(rows), res: make(chan commitRes, 1)}
	if err := e.sendCommit(req); err != nil {
		return nil, err
	}
	return e.awaitCommit(req)
}

func (e *Engine) sendCommit(req *commitReq) error {
	select {
	case e.commitCh <- req:
		return nil
	case <-e.ctx.Done():
		return ErrClosed
	}
}

// awaitCommit waits for req's answer. When the engine closes first it
// leaves at once, unless the committer has taken req: then it waits for the
// answer (soon: the call's ctx is cancelled), so that the caller's bytes or
// rows are not read after Put returns.
func (e *Engine) awaitCommit(req *commitReq) ([]kzg.Commitment, error) {
	commits, device, err := e.awaitCommitDevice(req)
	if device != nil { // a committer of rows keeps none; for safety
		e.releaseDevice(device)
	}
	return commits, err
}

// awaitCommitDevice is awaitCommit that also returns the rows the committer
// kept on its device; the caller releases them unless its blob is queued.
func (e *Engine) awaitCommitDevice(req *commitReq) ([]kzg.Commitment, []encoder.DeviceRow, error) {
	select {
	case r := <-req.res:
		return r.commits, r.device, r.err
	case <-e.ctx.Done():
		if req.state.CompareAndSwap(reqOpen, reqAbandoned) {
			return nil, nil, ErrClosed
		}
		r := <-req.res
		return r.commits, r.device, r.err
	}
}

// releaseDevice frees rows a ResidentCommitter kept.
func (e *Engine) releaseDevice(rows []encoder.DeviceRow) {
	rc, ok := e.kzg.(ResidentCommitter)
	if !ok || len(rows) == 0 {
		return
	}
	if err := rc.ReleaseRows(rows); err != nil {
		e.log.Warn("releasing rows kept on the device", "rows", len(rows), "err", err)
		return
	}
	e.m.deviceRows.WithLabelValues("released").Add(float64(len(rows)))
}

// runCommitter serves commit requests, gathering up to Queue.CommitRows
// rows per CommitRows call: many blobs per call, as a GPU wants them.
func (e *Engine) runCommitter() {
	var carry *commitReq
	for {
		var first *commitReq
		if carry != nil { // taken already
			first, carry = carry, nil
		} else {
			select {
			case first = <-e.commitCh:
			case <-e.ctx.Done():
				e.drainCommits()
				return
			}
			if !first.state.CompareAndSwap(reqOpen, reqTaken) {
				continue // its poster left
			}
		}
		reqs := []*commitReq{first}
		n := first.n
	gather:
		for n < e.cfg.Queue.CommitRows {
			select {
			case r := <-e.commitCh:
				if !r.state.CompareAndSwap(reqOpen, reqTaken) {
					continue
				}
				if n+r.n > e.cfg.Queue.CommitRows {
					carry = r
					break gather
				}
				reqs = append(reqs, r)
				n += r.n
			default:
				break gather
			}
		}
		e.setCommitting(true)
		start := time.Now()
		commits, device, err := e.commitAll(reqs, n)
		if err == nil {
			// Each answered post stores and queues its blob next; it counts
			// as storing from now (stored ends it), so the batcher never sees
			// a moment between this call and the posts' queueing when the
			// burst looks finished (see cutRule).
			e.mu.Lock()
			e.storing += len(reqs)
			e.mu.Unlock()
		}
		e.setCommitting(false)
		e.m.stage.WithLabelValues("commit").Observe(time.Since(start).Seconds())
		e.m.commitCalls.Observe(float64(len(reqs)))
		if err != nil && e.ctx.Err() != nil {
			err = ErrClosed
		} else if err != nil {
			err = fmt.Errorf("%w: committing rows: %v", ErrInternal, err)
		}
		off := 0
		for _, r := range reqs {
			if err != nil {
				r.res <- commitRes{err: err}
				continue
			}
			res := commitRes{commits: commits[off : off+r.n : off+r.n]}
			if device != nil {
				res.device = device[off : off+r.n : off+r.n]
			}
			r.res <- res
			off += r.n
		}
	}
}

// commitAll commits the n rows of reqs in one call: from their bytes when
// they carry bytes (a BlobCommitter), else from their rows. A
// ResidentCommitter keeps the rows on its device (device, in the order of
// the commitments); when it cannot, the call is made again without.
func (e *Engine) commitAll(reqs []*commitReq, n int) (commits []kzg.Commitment, device []encoder.DeviceRow, err error) {
	bc, ok := e.kzg.(BlobCommitter)
	if !ok || reqs[0].data == nil {
		all := make([][]fr.Element, 0, n)
		for _, r := range reqs {
			all = append(all, r.rows...)
		}
		commits, err := e.kzg.CommitRows(e.ctx, all, nil)
		return commits, nil, err
	}
	blobs := make([][]byte, len(reqs))
	for i, r := range reqs {
		blobs[i] = r.data
	}
	var per [][]kzg.Commitment
	var rows [][]encoder.DeviceRow
	if rc, ok := bc.(ResidentCommitter); ok {
		per, rows, err = rc.CommitBlobsResident(e.ctx, blobs, nil)
		if err != nil {
			if e.ctx.Err() != nil {
				return nil, nil, err
			}
			e.log.Debug("rows not kept on the device; the batch uploads them", "rows", n, "err", err)
			e.m.deviceRows.WithLabelValues("not_kept").Add(float64(n))
			rows = nil
		}
	}
	if rows == nil {
		if per, err = bc.CommitBlobs(e.ctx, blobs, nil); err != nil {
			return nil, nil, err
		}
	}
	out := make([]kzg.Commitment, 0, n)
	for i, r := range reqs {
		if len(per[i]) != r.n || (rows != nil && len(rows[i]) != r.n) {
			err = fmt.Errorf("%d commitments for a blob of %d rows", len(per[i]), r.n)
			break
		}
		out = append(out, per[i]...)
		if rows != nil {
			device = append(device, rows[i]...)
		}
	}
	if err != nil {
		for _, r := range rows {
			e.releaseDevice(r)
		}
		return nil, nil, err
	}
	if device != nil {
		e.m.deviceRows.WithLabelValues("kept").Add(float64(len(device)))
	}
	return out, device, nil
}

func (e *Engine) drainCommits() {
	for {
		select {
		case r := <-e.commitCh:
			if r.state.CompareAndSwap(reqOpen, reqTaken) {
				r.res <- commitRes{err: ErrClosed}
			}
		default:
			return
		}
	}
}

func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: encoding %T: %v", ErrInternal, v, err)
	}
	return b, nil
}
