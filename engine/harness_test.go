package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// The fakes below exist for fault injection (failures, slowness, lost
// answers, withheld or corrupt rows); the end-to-end tests run the real
// dispersal, DA nodes and chain.

// fakeDisperser certifies every batch with an unsigned certificate (the
// fake chain does not check signatures) and serves the rows it was given.
type fakeDisperser struct {
	mu       sync.Mutex
	calls    int
	failNext int           // fail this many Disperse calls
	failAll  bool          // fail every Disperse call
	block    chan struct{} // if set, Disperse waits for it to close
	started  chan struct{} // if set, gets a value when Disperse starts (non-blocking)
	delay    time.Duration
	batches  [][]da.BlobKey
	encoded  map[da.Hash]*encoder.Batch
	latest   map[da.BlobKey]da.Hash // the last batch of each key
	withhold map[int]bool           // FetchRow fails for these dispersed rows
	corrupt  map[int]bool           // FetchRow returns these rows altered
	fetches  int
	cells    int // FetchCell calls
	rowBytes int64
	hdrBytes int64
}

func newFakeDisperser() *fakeDisperser {
	return &fakeDisperser{encoded: map[da.Hash]*encoder.Batch{}, latest: map[da.BlobKey]da.Hash{},
		withhold: map[int]bool{}, corrupt: map[int]bool{}}
}

var errInjected = errors.New("injected failure")

var _ Disperser = (*fakeDisperser)(nil)

func (f *fakeDisperser) Disperse(ctx context.Context, b *encoder.Batch) (*da.Certificate, *dispersal.Report, error) {
	f.mu.Lock()
	f.calls++
	block, delay, started := f.block, f.delay, f.started
	fail := f.failAll || f.failNext > 0
	if f.failNext > 0 {
		f.failNext--
	}
	f.mu.Unlock()
	if started != nil {
		select {
		case started <- struct{}{}:
		default:
		}
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	hb, err := b.Header.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	// What a dispersal to a window of max(N, W) slots sends: each row once
	// per holder; here, as if each slot had its own holder.
	rep := &dispersal.Report{BatchRoot: b.Root, RowBytesSent: int64(max(b.N, da.DefaultMinBatchSlots)) * da.RowSize,
		HeaderBytesSent: int64(len(hb))}
	f.mu.Lock()
	f.rowBytes += rep.RowBytesSent
	f.hdrBytes += rep.HeaderBytesSent
	f.mu.Unlock()
	if fail {
		return nil, rep, errInjected
	}
	cert := fakeCert(b)
	f.mu.Lock()
	f.batches = append(f.batches, cert.Keys())
	f.encoded[b.Root] = b
	for _, k := range cert.Keys() {
		f.latest[k] = b.Root
	}
	f.mu.Unlock()
	return cert, rep, nil
}

func fakeCert(b *encoder.Batch) *da.Certificate {
	return &da.Certificate{BatchRoot: b.Root, Blobs: b.Header.Entries(), Signers: da.NewBitmap(0)}
}

func (f *fakeDisperser) batch(root da.Hash) (*encoder.Batch, error) {
	b, ok := f.encoded[root]
	if !ok {
		return nil, fmt.Errorf("%w: batch %s", dispersal.ErrNotFound, root)
	}
	return b, nil
}

func (f *fakeDisperser) Locate(ctx context.Context, key da.BlobKey) (*dispersal.Location, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	root, ok := f.latest[key]
	if !ok {
		return nil, fmt.Errorf("%w: blob %s", dispersal.ErrNotFound, key)
	}
	b := f.encoded[root]
	i := b.Header.Index(key)
	return &dispersal.Location{Root: root, Blobs: b.Header.Entries(), Index: i, Offset: b.Header.Offsets()[i],
		Rows: b.Header.Blobs[i].Rows}, nil
}

func (f *fakeDisperser) BatchHeader(ctx context.Context, root da.Hash) (*da.BatchHeader, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.batch(root)
	if err != nil {
		return nil, err
	}
	h := b.Header
	return &h, nil
}

func (f *fakeDisperser) FetchRow(ctx context.Context, root da.Hash, n uint32) ([]fr.Element, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetches++
	b, err := f.batch(root)
	if err != nil {
		return nil, err
	}
	if int(n) >= b.N || f.withhold[int(n)] {
		return nil, fmt.Errorf("row %d of %s: %w", n, root, errInjected)
	}
	out := append([]fr.Element(nil), b.Rows[n]...)
	if f.corrupt[int(n)] {
		out[7].SetUint64(12345)
	}
	return out, nil
}

func (f *fakeDisperser) FetchCell(ctx context.Context, root da.Hash, n uint32, c uint16) ([]fr.Element, kzg.Proof, error) {
	f.mu.Lock()
	f.cells++
	b, err := f.batch(root)
	f.mu.Unlock()
	if err != nil {
		return nil, kzg.Proof{}, err
	}
	cells, proofs, err := kzg.Default().ComputeCellsAndProofs(b.Rows[n])
	if err != nil {
		return nil, kzg.Proof{}, err
	}
	return cells[c], proofs[c], nil
}

func (f *fakeDisperser) set(fn func(f *fakeDisperser)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeDisperser) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// batchSizes lists the blobs of each certified batch, in order.
func (f *fakeDisperser) batchSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for _, b := range f.batches {
		out = append(out, len(b))
	}
	return out
}

// fakeChain records certificates by batch root and blob key.
type fakeChain struct {
	mu         sync.Mutex
	height     int64
	byRoot     map[da.Hash]*chain.CertificateRecord
	byKey      map[da.BlobKey]*chain.CertificateRecord
	submits    int
	rejectNext int           // refuse this many with a TxError (insufficient slots)
	loseNext   int           // record, but answer with a transport error
	failNext   int           // transport error without recording
	hang       chan struct{} // if set, Submit records and then waits for it
}

func newFakeChain() *fakeChain {
	return &fakeChain{byRoot: map[da.Hash]*chain.CertificateRecord{}, byKey: map[da.BlobKey]*chain.CertificateRecord{}}
}

func (c *fakeChain) Status(ctx context.Context) (*chain.AppStatus, error) {
	return &chain.AppStatus{ChainID: "fake", Params: chain.DefaultParams()}, nil
}

func (c *fakeChain) Submit(ctx context.Context, raw []byte) (*chain.TxResult, error) {
	tx, err := chain.DecodeTx(raw)
	if err != nil {
		return nil, err
	}
	ct, ok := tx.(*chain.CertificateTx)
	if !ok {
		return nil, fmt.Errorf("not a certificate tx: %T", tx)
	}
	c.mu.Lock()
	c.submits++
	if c.failNext > 0 {
		c.failNext--
		c.mu.Unlock()
		return nil, fmt.Errorf("connection reset: %w", errInjected)
	}
	if c.rejectNext > 0 {
		c.rejectNext--
		c.mu.Unlock()
		return nil, &chain.TxError{Code: chain.CodeInsufficientSlots, Log: "injected"}
	}
	if _, dup := c.byRoot[ct.Cert.BatchRoot]; dup {
		c.mu.Unlock()
		return nil, &chain.TxError{Code: chain.CodeDuplicate, Log: "certificate already recorded"}
	}
	c.height++
	rec := &chain.CertificateRecord{Certificate: ct.Cert, Height: c.height}
	c.byRoot[ct.Cert.BatchRoot] = rec
	for _, k := range ct.Cert.Keys() {
		c.byKey[k] = rec // the most recent batch of a key
	}
	lose := c.loseNext > 0
	if lose {
		c.loseNext--
	}
	hang := c.hang
	c.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if lose {
		return nil, fmt.Errorf("timeout waiting for inclusion: %w", errInjected)
	}
	return &chain.TxResult{Height: rec.Height}, nil
}

func (c *fakeChain) Certificate(ctx context.Context, root da.Hash) (*chain.CertificateRecord, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.byRoot[root]; ok {
		return r, nil
	}
	return nil, &chain.TxError{Code: chain.CodeNotFound, Log: "no certificate"}
}

func (c *fakeChain) CertificateForBlob(ctx context.Context, key da.BlobKey) (*chain.CertificateRecord, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.byKey[key]; ok {
		return r, nil
	}
	return nil, &chain.TxError{Code: chain.CodeNotFound, Log: "no certificate"}
}

func (c *fakeChain) set(fn func(c *fakeChain)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(c)
}

// testLogger logs to the test at warn level (-v shows more with ZGDA_DEBUG=1).
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("ZGDA_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: level}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// testConfig is TestConfig under dir, with its volume created.
func testConfig(t testing.TB, dir string) Config {
	c := TestConfig(dir)
	for _, v := range c.Storage.Volumes {
		if err := os.MkdirAll(v, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// startEngine starts an engine on cfg and closes it when the test ends.
func startEngine(t testing.TB, cfg Config, d Disperser, c Chain, opts ...Option) *Engine {
	t.Helper()
	e, err := New(cfg, d, c, append([]Option{WithLogger(testLogger(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		e.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func randBlob(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func tempDir(t testing.TB) string {
	d := t.TempDir()
	return filepath.Join(d, "engine")
}

// waitFor polls cond until it holds (a state the engine reaches on its own
// goroutines, with no event to wait on), failing the test after 30 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// gatedCommitter holds the first CommitRows call until open is closed.
type gatedCommitter struct {
	Committer
	open chan struct{}
	once sync.Once
}

func (g *gatedCommitter) CommitRows(ctx context.Context, rows [][]fr.Element, progress func(int)) ([]kzg.Commitment, error) {
	g.once.Do(func() {
		select {
		case <-g.open:
		case <-ctx.Done():
		}
	})
	return g.Committer.CommitRows(ctx, rows, progress)
}
