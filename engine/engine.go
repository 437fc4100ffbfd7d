package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine/api"
	"github.com/zgda/zgda/internal/cellasks"
	"github.com/zgda/zgda/internal/flight"
	"github.com/zgda/zgda/kzg"
	"github.com/zgda/zgda/storage"
)

// Disperser is what the engine needs from dispersal; *dispersal.Dispatcher
// provides it.
type Disperser interface {
	// Disperse sends a batch's dispersed rows to the DA nodes of a quorum,
	// collects their signatures and returns the aggregated certificate and
	// a report of what was sent (the report may be nil when nothing was).
	// The engine never modifies the batch after handing it over, so
	// Disperse may keep reading it after it returns (stragglers), except
	// b.Rows: once the batch is final the engine releases them
	// (encoder.Batch.Release; lent parity rows are then reused by another
	// batch), so Disperse is done with the rows when it returns
	// (*dispersal.Dispatcher serialises them before sending).
	Disperse(ctx context.Context, b *encoder.Batch) (*da.Certificate, *dispersal.Report, error)
	// Locate finds the most recent certified batch of a blob on the chain.
	Locate(ctx context.Context, key da.BlobKey) (*dispersal.Location, error)
	// BatchHeader returns a certified batch's header from a holder, checked
	// against the root.
	BatchHeader(ctx context.Context, root da.Hash) (*da.BatchHeader, error)
	// FetchRow returns dispersed row n of a certified batch, verified
	// against its commitment.
	FetchRow(ctx context.Context, root da.Hash, n uint32) ([]fr.Element, error)
	// FetchCell returns cell c of dispersed row n with its EIP-7594 proof.
	FetchCell(ctx context.Context, root da.Hash, n uint32, c uint16) ([]fr.Element, kzg.Proof, error)
}

// Chain is what the engine needs from the chain; chain.Client provides it.
type Chain interface {
	Status(ctx context.Context) (*chain.AppStatus, error)
	Submit(ctx context.Context, tx []byte) (*chain.TxResult, error)
	Certificate(ctx context.Context, batchRoot da.Hash) (*chain.CertificateRecord, error)
	CertificateForBlob(ctx context.Context, key da.BlobKey) (*chain.CertificateRecord, error)
}

// Committer is what the engine needs from KZG; *kzg.Context provides it.
type Committer interface {
	encoder.Committer
	ComputeCellsAndProofs(row []fr.Element) ([][]fr.Element, []kzg.Proof, error)
	ComputeCellAndProof(row []fr.Element, index uint64) ([]fr.Element, kzg.Proof, error)
}

// BlobCommitter is a Committer that also commits blobs given as bytes,
// packing them itself (cuda.Committer packs on the device): out[b][r] is
// C_r of blobs[b]. With one, intake hands the committer the post's bytes
// and packs the rows it keeps for the batch meanwhile.
type BlobCommitter interface {
	CommitBlobs(ctx context.Context, blobs [][]byte, progress func(done int)) ([][]kzg.Commitment, error)
}

// ResidentCommitter is a BlobCommitter that can also leave the rows it
// packed on its device (cuda.Committer), so that the batch's encoding reads
// them there (encoder.ResidentBatchBackend) instead of uploading them again:
// rows[b][r] names blobs[b]'s row r, held until ReleaseRows. A call that
// cannot keep its rows (the device store is full) fails and holds nothing;
// intake then commits with CommitBlobs.
type ResidentCommitter interface {
	BlobCommitter
	CommitBlobsResident(ctx context.Context, blobs [][]byte, progress func(done int)) ([][]kzg.Commitment, [][]encoder.DeviceRow, error)
	ReleaseRows(rows []encoder.DeviceRow) error
}

var (
	_ Committer = (*kzg.Context)(nil)
	_ Chain     = (chain.Client)(nil)
	_ Disperser = (*dispersal.Dispatcher)(nil)
)

// Option adjusts New (things that are not configuration).
type Option func(*options)

type options struct {
	log       *slog.Logger
	committer Committer
	encoder   *encoder.Encoder
	now       func() time.Time
}

// WithLogger sets the logger (default, and nil: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithCommitter sets the KZG implementation (default kzg.Default()).
func WithCommitter(c Committer) Option { return func(o *options) { o.committer = c } }

// WithEncoder sets the encoder (default: encoder.New with Encoder.Workers).
func WithEncoder(enc *encoder.Encoder) Option { return func(o *options) { o.encoder = enc } }

// WithClock sets the clock for status times (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Engine is the disperser: the pipeline of package engine behind the HTTP API
// of docs/spec.md §7. Create it with New, Start it, Close it. It is safe for concurrent
// use.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	store *storage.Store
	enc   *encoder.Encoder
	kzg   Committer
	disp  Disperser
	chain Chain
	reg   *prometheus.Registry
	m     *metrics

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	commitCh   chan *commitReq
	committing bool // an intake CommitRows call is running (under mu)
	storing    int  // posts the committer answered, being stored and not yet queued (under mu)
	encodeCh   chan *batch
	disperseCh chan *batch

	rule cutRule // the batcher's, fixed at Start

	mu             sync.Mutex
	started        bool
	closed         bool
	blobs          map[da.BlobKey]*blob     // every accepted blob not yet certified or failed
	byHash         map[[32]byte]*hashFlight // posts in intake, by SHA-256 of their bytes
	batches        map[da.Hash]*batch       // encoded batches not yet final, by root
	queue          []*blob                  // accepted, waiting for the batcher
	queueRows      int
	queueBytes     int
	queueScr       []int         // scratch for the cut rule
	intake         int           // accepted posts (and recovered blobs) not yet queued
	receivingPosts int           // posts whose bodies are arriving (HTTP)
	intakeEmptied  time.Time     // when intake and receivingPosts last fell to 0
	encoding       int           // batches cut and not yet handed to dispersal
	encoders       int           // batches encoded at once (Encoder.BatchConcurrency), fixed at New
	wake           chan struct{} // pokes the batcher (capacity 1)
	pendBlobs      int           // admission: blobs holding a place
	pendMem        int64         // admission: their memory in encoder form
	freed          chan struct{} // closed and replaced whenever a place is freed
	waiters        int           // /put calls waiting for their certificate
	drained        chan struct{} // closed when waiters reaches 0 during Close

	cells   *flight.Cache[cellKey, *cellEntry]      // rows' cells and proofs, by row
	rebuilt *flight.Cache[da.BlobKey, []byte]       // blobs read back from DA nodes
	blocks  *flight.Cache[blockKey, [][]fr.Element] // coset blocks of batches' column extensions
	heavy   chan struct{}                           // places of the expensive reads (Retrieval.MaxHeavy)
	asks    cellasks.Tracker                        // cells asked of data rows whose cells are not cached
	http    *httpServer
}

// blob is an accepted blob on its way through the pipeline.
type blob struct {
	key      da.BlobKey
	params   encoder.Params
	data     []kzg.Commitment // C_0 … C_{R−1}
	eb       *encoder.Blob    // the R packed rows and their commitments, until final
	mem      int64            // admission reservation
	accepted time.Time
	queued   time.Time // when it entered the batcher's queue
	attempts int       // dispersal attempts so far (persisted)

	persisted  chan struct{} // closed once intake's write finished
	persistErr error         // set before persisted is closed
	done       chan struct{} // closed when final

	// guarded by Engine.mu
	status  api.Status
	reason  string
	updated time.Time
}

// New opens the engine's store and checks its configuration; Start runs it.
// d and c may be nil only if the engine will never disperse (a read-only
// disperser); the pipeline then fails every batch.
func New(cfg Config, d Disperser, c Chain, opts ...Option) (*Engine, error) {
	if err := cfg.ValidateBasic(); err != nil {
		return nil, err
	}
	o := options{log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	if o.log == nil { // WithLogger(nil): no logs, as without the option
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.committer == nil {
		o.committer = kzg.Default()
	}
	if o.encoder == nil {
		enc, err := encoder.New(encoder.WithWorkers(cfg.Encoder.Workers))
		if err != nil {
			return nil, fmt.Errorf("engine: encoder: %w", err)
		}
		o.encoder = enc
	}
	e := &Engine{
		cfg: cfg, log: o.log, now: o.now, enc: o.encoder, kzg: o.committer, disp: d, chain: c,
		reg:        prometheus.NewRegistry(),
		commitCh:   make(chan *commitReq, cfg.Queue.MaxPendingBlobs),
		encodeCh:   make(chan *batch, cfg.Queue.Batches),
		disperseCh: make(chan *batch, cfg.Queue.Batches),
		blobs:      make(map[da.BlobKey]*blob),
		byHash:     make(map[[32]byte]*hashFlight),
		batches:    make(map[da.Hash]*batch),
		wake:       make(chan struct{}, 1),
		freed:      make(chan struct{}),
		cells:      flight.New[cellKey](int64(cfg.Retrieval.CellCacheRows), func(*cellEntry) int64 { return 1 }),
		rebuilt:    flight.New[da.BlobKey](cfg.Retrieval.CacheBytes, func(b []byte) int64 { return int64(len(b)) }),
		blocks:     flight.New[blockKey](cfg.Retrieval.BlockCacheBytes, func(r [][]fr.Element) int64 { return int64(len(r)) * rowMem }),
		heavy:      make(chan struct{}, cfg.Retrieval.MaxHeavy),
	}
	e.encoders = e.enc.BatchConcurrency()
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.m = newMetrics(e)
	if err := e.reg.Register(e.m); err != nil {
		return nil, fmt.Errorf("engine: metrics: %w", err)
	}
	st, err := storage.Open(cfg.Storage.store(cfg.Retention),
		storage.WithLogger(e.log.With("component", "storage")), storage.WithRegisterer(e.reg))
	if err != nil {
		return nil, fmt.Errorf("engine: storage: %w", err)
	}
	e.store = st
	return e, nil
}

// Registry is the Prometheus registry holding the engine's (and its store's)
// metrics; /metrics serves it.
func (e *Engine) Registry() *prometheus.Registry { return e.reg }

// Config returns the configuration the engine runs with.
func (e *Engine) Config() Config { return e.cfg }

// Start re-queues every accepted blob that is not certified or failed,
// starts the pipeline and, if API.Listen is set, the HTTP server. It
// returns once the server listens; recovered blobs continue in the
// background.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.started || e.closed {
		e.mu.Unlock()
		return fmt.Errorf("engine: Start called twice or after Close")
	}
	e.started = true
	e.mu.Unlock()

	e.rule = e.cutRule(ctx)
	pending, err := e.loadPending(ctx)
	if err != nil {
		return err
	}
	e.goRun("committer", e.runCommitter)
	e.goRun("batcher", e.runBatcher)
	for i := 0; i < e.encoders; i++ {
		e.goRun("encoder", e.runEncoder)
	}
	for i := 0; i < e.cfg.Dispersal.Concurrency; i++ {
		e.goRun("certifier", e.runCertifier)
	}
	if len(pending) > 0 {
		e.goRun("recovery", func() { e.recover(pending) })
	}
	if e.cfg.API.Listen != "" {
		ln, err := net.Listen("tcp", e.cfg.API.Listen)
		if err != nil {
			return fmt.Errorf("engine: api.listen %s: %w", e.cfg.API.Listen, err)
		}
		e.http = newHTTPServer(e, ln)
		e.goRun("http", e.http.serve)
	}
	e.log.Info("engine started", "recovered", len(pending), "api", e.APIAddr(),
		"encoder_backend", e.enc.Backend().Name(), "batch_min_rows", e.rule.MinRows, "batch_max_rows", e.rule.MaxRows)
	return nil
}

// APIAddr is the HTTP server's address (host:port), or "" without one.
func (e *Engine) APIAddr() string {
	if e.http == nil {
		return ""
	}
	return e.http.ln.Addr().String()
}

// Close stops the HTTP server and the pipeline and closes the store.
// Blobs in flight stay persisted as they are; the next Start re-queues them.
//
// New posts are refused at once (ErrClosed). /put calls waiting for their
// certificates get up to AltDA.DrainTimeout to receive them, the pipeline
// still running; those still waiting then get a retryable answer.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	waiting := e.waiters
	var drained chan struct{}
	if waiting > 0 && e.started && e.cfg.AltDA.DrainTimeout > 0 {
		drained = make(chan struct{})
		e.drained = drained
	}
	e.mu.Unlock()
	if drained != nil {
		e.log.Info("shutting down: letting waiting /put calls get their certificates",
			"waiting", waiting, "at_most", e.cfg.AltDA.DrainTimeout)
		t := time.NewTimer(time.Duration(e.cfg.AltDA.DrainTimeout))
		select {
		case <-drained:
		case <-t.C:
			e.log.Warn("shutting down with /put calls still waiting; they are told to retry", "waiting", e.waiting())
		}
		t.Stop()
	}
	// Cancel: waiting /put handlers answer at once, a post in progress
	// stores nothing, and the pipeline stops where it is.
	e.cancel()
	if e.http != nil {
		e.http.shutdown()
	}
	e.wg.Wait()
	// Encoded batches never taken for dispersal: hand their rows back (the
	// certifiers released theirs on the way out).
	for done := false; !done; {
		select {
		case bt := <-e.disperseCh:
			e.releaseRows(bt)
		default:
			done = true
		}
	}
	// Rows still held on the device for blobs not yet encoded: the library
	// outlives this engine.
	e.mu.Lock()
	var held []encoder.DeviceRow
	for _, b := range e.blobs {
		if b.eb != nil {
			held = append(held, b.eb.Device...)
			b.eb.Device = nil
		}
	}
	e.mu.Unlock()
	e.releaseDevice(held)
	e.reg.Unregister(e.m)
	return e.store.Close()
}

// beginWait takes one of AltDA.MaxWaiters places for a /put waiting for
// its certificate; false when all are taken.
func (e *Engine) beginWait() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.waiters >= e.cfg.AltDA.MaxWaiters {
		return false
	}
	e.waiters++
	e.m.putWaiters.Inc()
	return true
}

// endWait gives the place back.
func (e *Engine) endWait() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.waiters--
	e.m.putWaiters.Dec()
	if e.waiters == 0 && e.drained != nil {
		close(e.drained)
		e.drained = nil
	}
}

func (e *Engine) waiting() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.waiters
}

// oldestPending is how long the oldest accepted blob not yet certified or
// failed has waited (0 with none).
func (e *Engine) oldestPending() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	var oldest time.Time
	for _, b := range e.blobs {
		if oldest.IsZero() || b.accepted.Before(oldest) {
			oldest = b.accepted
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return e.now().Sub(oldest)
}

func (e *Engine) goRun(name string, f func()) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				e.log.Error("engine goroutine panicked", "goroutine", name, "panic", r)
				panic(r)
			}
		}()
		f()
	}()
}

// reserve takes a place for a blob of mem bytes in encoder form. Without
// wait it fails at once when the queue is full; with wait it blocks until a
// place frees up (recovery) or ctx ends.
func (e *Engine) reserve(ctx context.Context, mem int64, wait bool) error {
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return ErrClosed
		}
		if e.pendBlobs < e.cfg.Queue.MaxPendingBlobs && e.pendMem+mem <= e.cfg.Queue.MaxPendingBytes {
			e.pendBlobs++
			e.pendMem += mem
			e.mu.Unlock()
			return nil
		}
		freed := e.freed
		e.mu.Unlock()
		if !wait {
			return fmt.Errorf("%w (%d blobs, %d MiB pending in encoder form)", ErrQueueFull,
				e.cfg.Queue.MaxPendingBlobs, e.cfg.Queue.MaxPendingBytes>>20)
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// hasRoom reports whether a blob of n bytes would find a place now (a
// hint for refusing a post before its body is read; Put still reserves).
func (e *Engine) hasRoom(n int) bool {
	p, err := encoder.ParamsFor(n)
	if err != nil {
		return true // Put names the problem
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pendBlobs < e.cfg.Queue.MaxPendingBlobs && e.pendMem+memFor(p) <= e.cfg.Queue.MaxPendingBytes
}

// release gives back a place taken by reserve. e.mu must be held.
func (e *Engine) releaseLocked(mem int64) {
	e.pendBlobs--
	e.pendMem -= mem
	close(e.freed)
	e.freed = make(chan struct{})
}

func (e *Engine) release(mem int64) {
	e.mu.Lock()
	e.releaseLocked(mem)
	e.mu.Unlock()
}

// memFor is the memory a blob of R data rows holds at its peak: its rows
// and its share of its batch's 3D parity rows.
func memFor(p encoder.Params) int64 { return int64(encoder.ColumnExtension*p.Rows) * rowMem }

// Status returns a blob's status; certified ones carry the batch root, the
// blob's index, offset and inclusion proof, the certificate and its height
// (docs/spec.md §7). A blob this engine never held is looked up on the
// chain: certified if a recorded batch holds it. Unknown keys give
// ErrNotFound.
func (e *Engine) Status(ctx context.Context, key da.BlobKey) (*api.BlobStatus, error) {
	e.mu.Lock()
	if b, ok := e.blobs[key]; ok {
		s := &api.BlobStatus{
			BlobKey: key, Status: b.status, Reason: b.reason, Length: b.params.Length, Rows: b.params.Rows,
			AcceptedAt: b.accepted, UpdatedAt: b.updated,
		}
		e.mu.Unlock()
		return s, nil
	}
	e.mu.Unlock()
	r, err := e.readStatus(ctx, key)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return e.chainStatus(ctx, key)
	}
	return e.apiStatus(ctx, key, r)
}

// WaitCertified waits until the blob is certified (its status, with the
// certificate) or failed (a *FailedError), or ctx ends (ctx's error, which
// the HTTP layer turns into 503 not_certified).
func (e *Engine) WaitCertified(ctx context.Context, key da.BlobKey) (*api.BlobStatus, error) {
	for {
		e.mu.Lock()
		b, ok := e.blobs[key]
		e.mu.Unlock()
		if ok {
			select {
			case <-b.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-e.ctx.Done():
				return nil, ErrClosed
			}
		}
		s, err := e.Status(ctx, key)
		if err != nil {
			return nil, err
		}
		switch s.Status {
		case api.StatusCertified:
			return s, nil
		case api.StatusFailed:
			return s, &FailedError{Key: key, Reason: s.Reason}
		}
		if !ok {
			// Not final, yet not in flight: a record being written while
			// we looked. Look again shortly.
			select {
			case <-time.After(10 * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
}

// setStatus moves blobs to a non-final status in memory and in storage.
func (e *Engine) setStatus(bs []*blob, s api.Status) error {
	now := e.now()
	e.mu.Lock()
	for _, b := range bs {
		b.status, b.updated = s, now
	}
	e.mu.Unlock()
	var wb storage.Batch
	for _, b := range bs {
		r := b.record(s, now)
		wb.Put(storeKey(prefixStat, b.key), r.marshal())
	}
	if err := e.store.Write(e.ctx, &wb); err != nil && e.ctx.Err() == nil {
		e.log.Error("persisting status", "status", s, "blobs", len(bs), "err", err)
		return err
	}
	return nil
}

func (b *blob) record(s api.Status, now time.Time) *statusRecord {
	return &statusRecord{
		Status: s, Length: b.params.Length, Rows: b.params.Rows, Commitments: b.data,
		AcceptedAt: b.accepted, UpdatedAt: now, Attempts: b.attempts,
	}
}

// finish records blobs as certified (rec non-nil) or failed (reason), in
// one durable batch, then wakes their waiters and frees their places. A
// certified batch's header hdr, when known, is stored beside its
// certificate (docs/spec.md §3.3: the disperser serves it).
func (e *Engine) finish(bs []*blob, rec *chain.CertificateRecord, hdr *da.BatchHeader, reason string) error {
	now := e.now()
	var wb storage.Batch
	index := map[da.BlobKey]int{}
	if rec != nil {
		for i, b := range rec.Certificate.Blobs {
			index[b.Key] = i
		}
		raw, err := jsonMarshal(rec)
		if err != nil {
			return err
		}
		wb.Put(storeKey(prefixCert, rec.Certificate.BatchRoot), raw)
		if hdr != nil {
			hb, err := hdr.MarshalBinary()
			if err != nil {
				return fmt.Errorf("%w: batch header %s: %v", ErrInternal, rec.Certificate.BatchRoot, err)
			}
			wb.Put(storeKey(prefixHeader, rec.Certificate.BatchRoot), hb)
		}
	}
	for _, b := range bs {
		r := b.record(api.StatusFailed, now)
		if rec != nil {
			i, ok := index[b.key]
			if !ok || int(rec.Certificate.Blobs[i].Rows) != b.params.Rows {
				return fmt.Errorf("%w: certificate %s does not name blob %s with %d rows", ErrInternal,
					rec.Certificate.BatchRoot, b.key, b.params.Rows)
			}
			root := rec.Certificate.BatchRoot
			r.Status, r.BatchRoot, r.Index = api.StatusCertified, &root, uint32(i)
		} else {
			r.Reason = reason
		}
		wb.Put(storeKey(prefixStat, b.key), r.marshal())
		wb.Delete(storeKey(prefixPend, b.key))
	}
	// Final statuses must be durable before anyone is told: use a context
	// that Close does not cancel (the write is short and bounded).
	if err := e.store.Write(context.Background(), &wb); err != nil {
		return fmt.Errorf("%w: recording final status: %v", ErrInternal, err)
	}
	e.mu.Lock()
	for _, b := range bs {
		if rec != nil {
			b.status = api.StatusCertified
		} else {
			b.status, b.reason = api.StatusFailed, reason
		}
		b.updated = now
		if e.blobs[b.key] == b {
			delete(e.blobs, b.key)
		}
		if b.mem > 0 {
			e.releaseLocked(b.mem)
			b.mem = 0
		}
		b.eb = nil
		close(b.done)
	}
	e.mu.Unlock()
	for _, b := range bs {
		if rec != nil {
			e.m.blobs.WithLabelValues("certified").Inc()
			e.m.bytes.WithLabelValues("certified").Add(float64(b.params.Length))
			e.m.stage.WithLabelValues("end_to_end").Observe(now.Sub(b.accepted).Seconds())
		} else {
			e.m.blobs.WithLabelValues("failed").Inc()
			e.m.bytes.WithLabelValues("failed").Add(float64(b.params.Length))
		}
	}
	return nil
}

// loadPending lists the blobs that were accepted but not finished before
// the last stop, and registers them as in flight so that reposts and status
// reads see them while recovery re-queues them.
func (e *Engine) loadPending(ctx context.Context) ([]*blob, error) {
	it, err := e.store.NewIter(ctx, []byte(prefixPend))
	if err != nil {
		return nil, fmt.Errorf("engine: listing pending blobs: %w", err)
	}
	var keys []da.BlobKey
	for it.Next() {
		var k da.BlobKey
		if len(it.Key()) != len(prefixPend)+32 {
			continue
		}
		copy(k[:], it.Key()[len(prefixPend):])
		keys = append(keys, k)
	}
	err = it.Err()
	it.Close()
	if err != nil {
		return nil, fmt.Errorf("engine: listing pending blobs: %w", err)
	}
	var out []*blob
	for _, k := range keys {
		r, err := e.readStatus(ctx, k)
		if err != nil {
			return nil, err
		}
		if r == nil || r.Status.Final() {
			// pend/ outlived its status (cannot happen: one batch writes both);
			// drop it rather than re-queue something unknown.
			e.log.Warn("dropping pending marker without a live status", "blob_key", k)
			_ = e.store.Delete(ctx, storeKey(prefixPend, k))
			continue
		}
		p, err := encoder.ParamsFor(r.Length)
		if err != nil || p.Rows != r.Rows {
			return nil, fmt.Errorf("%w: status record of %s has length %d and %d rows", ErrInternal, k, r.Length, r.Rows)
		}
		b := &blob{
			key: k, params: p, data: r.Commitments, accepted: r.AcceptedAt, attempts: r.Attempts,
			persisted: closedChan(), done: make(chan struct{}),
			status: r.Status, updated: r.UpdatedAt,
		}
		out = append(out, b)
	}
	e.mu.Lock()
	for _, b := range out {
		e.blobs[b.key] = b
	}
	e.intake += len(out) // recovery queues them one by one
	e.mu.Unlock()
	return out, nil
}

// recover re-queues the blobs loadPending found, in order, as places free
// up. A blob that was being dispersed may have been certified already: the
// chain is asked first.
func (e *Engine) recover(bs []*blob) {
	for _, b := range bs {
		if e.ctx.Err() != nil {
			return // closing: the intake count no longer matters
		}
		if !e.recoverOne(b) {
			e.intakeEnd(nil)
		}
	}
}

// recoverOne finishes or re-queues one recovered blob; it reports whether
// the blob was queued (intakeEnd done).
func (e *Engine) recoverOne(b *blob) bool {
	if b.status == api.StatusDispersing && e.chain != nil {
		rec, err := e.chain.CertificateForBlob(e.ctx, b.key)
		if err == nil {
			if err := e.finish([]*blob{b}, rec, e.headerFromRecords(e.ctx, &rec.Certificate), ""); err != nil {
				e.log.Error("recovering certified blob", "blob_key", b.key, "err", err)
			} else {
				e.log.Info("recovered blob was certified before the restart", "blob_key", b.key, "height", rec.Height)
			}
			return false
		}
		if !chain.IsNotFound(err) && e.ctx.Err() == nil {
			e.log.Warn("asking the chain about a recovered blob", "blob_key", b.key, "err", err)
		}
	}
	mem := memFor(b.params)
	if err := e.reserve(e.ctx, mem, true); err != nil {
		return false
	}
	data, err := e.store.Get(e.ctx, storeKey(prefixBlob, b.key))
	if err != nil {
		e.release(mem)
		if e.ctx.Err() != nil {
			return false
		}
		reason := fmt.Sprintf("local copy unreadable after restart: %v", err)
		if errors.Is(err, storage.ErrNotFound) {
			reason = "local copy pruned before the blob was certified"
		}
		if err := e.finish([]*blob{b}, nil, nil, reason); err != nil {
			e.log.Error("failing recovered blob", "blob_key", b.key, "err", err)
		}
		return false
	}
	eb, err := packBlob(data, b.data)
	if err == nil && eb.Key != b.key {
		err = fmt.Errorf("it hashes to %s", eb.Key)
	}
	if err != nil {
		e.release(mem)
		_ = e.finish([]*blob{b}, nil, nil, fmt.Sprintf("local copy does not match its record: %v", err))
		return false
	}
	b.eb, b.mem = eb, mem
	e.mu.Lock()
	b.status, b.updated = api.StatusQueued, e.now()
	e.mu.Unlock()
	e.intakeEnd(b)
	e.m.blobs.WithLabelValues("recovered").Inc()
	return true
}

// headerFromRecords rebuilds the header of a certified batch whose blobs
// this engine holds records of (a batch certified before a restart); nil if
// it does not hold them all.
func (e *Engine) headerFromRecords(ctx context.Context, c *da.Certificate) *da.BatchHeader {
	h := &da.BatchHeader{Blobs: make([]da.BlobHeader, len(c.Blobs))}
	for i, cb := range c.Blobs {
		r, err := e.readStatus(ctx, cb.Key)
		if err != nil || r == nil || r.Rows != int(cb.Rows) {
			return nil
		}
		h.Blobs[i] = da.BlobHeader{Key: cb.Key, Length: uint64(r.Length), Rows: uint32(r.Rows), Commitments: encoder.DACommitments(r.Commitments)}
	}
	if h.Check() != nil || h.Root() != c.BatchRoot {
		return nil
	}
	return h
}

// packBlob packs a blob's bytes into its R rows and makes the encoder.Blob
// with the given commitments (checked against nothing but the shape: they
// come from the engine's own record of these bytes).
func packBlob(data []byte, comms []kzg.Commitment) (*encoder.Blob, error) {
	p, err := encoder.ParamsFor(len(data))
	if err != nil {
		return nil, err
	}
	rows := newRows(p.Rows)
	if err := encoder.PackInto(data, rows); err != nil {
		return nil, err
	}
	return encoder.NewBlob(p.Length, rows, comms)
}

// newRows allocates n rows of 4096 elements in one slab.
func newRows(n int) [][]fr.Element {
	slab := make([]fr.Element, n*encoder.ElementsPerRow)
	rows := make([][]fr.Element, n)
	for i := range rows {
		rows[i] = slab[i*encoder.ElementsPerRow : (i+1)*encoder.ElementsPerRow : (i+1)*encoder.ElementsPerRow]
	}
	return rows
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}
