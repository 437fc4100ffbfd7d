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
	"github.com/zgda/zgda/encoder"
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
	maxBatch int // if set, larger batches fail with ErrBatchTooLarge
	batches  [][]da.BlobKey
	rows     map[da.BlobKey][][]fr.Element
	encoded  map[da.BlobKey]*encoder.Encoded
	withhold map[int]bool // FetchRow fails for these rows
	corrupt  map[int]bool // FetchRow returns these rows altered
	fetches  int
}

func newFakeDisperser() *fakeDisperser {
	return &fakeDisperser{rows: map[da.BlobKey][][]fr.Element{}, encoded: map[da.BlobKey]*encoder.Encoded{},
		withhold: map[int]bool{}, corrupt: map[int]bool{}}
}

var errInjected = errors.New("injected failure")

func (f *fakeDisperser) Disperse(ctx context.Context, blobs []*encoder.Encoded) (*da.Certificate, error) {
	f.mu.Lock()
	f.calls++
	block, delay, started := f.block, f.delay, f.started
	fail := f.failAll || f.failNext > 0
	if f.failNext > 0 {
		f.failNext--
	}
	tooLarge := f.maxBatch > 0 && len(blobs) > f.maxBatch
	f.mu.Unlock()
	if tooLarge {
		return nil, fmt.Errorf("%w: %d blobs, this fake takes %d", ErrBatchTooLarge, len(blobs), f.maxBatch)
	}
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
			return nil, ctx.Err()
		}
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail {
		return nil, errInjected
	}
	cert := fakeCert(blobs)
	f.mu.Lock()
	keys := cert.Keys()
	f.batches = append(f.batches, keys)
	for _, b := range blobs {
		f.rows[b.Key] = b.Rows
		f.encoded[b.Key] = b
	}
	f.mu.Unlock()
	return cert, nil
}

func fakeCert(blobs []*encoder.Encoded) *da.Certificate {
	c := &da.Certificate{Signers: da.NewBitmap(0)}
	keys := make([]da.BlobKey, len(blobs))
	for i, b := range blobs {
		keys[i] = b.Key
		c.Blobs = append(c.Blobs, da.CertifiedBlob{Key: b.Key, Rows: uint32(b.Params.K)})
	}
	root, err := da.BatchRoot(keys)
	if err != nil {
		panic(err)
	}
	c.BatchRoot = root
	return c
}

func (f *fakeDisperser) FetchRow(ctx context.Context, cert *da.Certificate, key da.BlobKey, row int) ([]fr.Element, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetches++
	rows, ok := f.rows[key]
	if !ok || row >= len(rows) || f.withhold[row] {
		return nil, fmt.Errorf("row %d of %s: %w", row, key, errInjected)
	}
	out := append([]fr.Element(nil), rows[row]...)
	if f.corrupt[row] {
		out[7].SetUint64(12345)
	}
	return out, nil
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
		if _, ok := c.byKey[k]; !ok {
			c.byKey[k] = rec
		}
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
func startEngine(t testing.TB, cfg Config, d Disperser, c Chain) *Engine {
	t.Helper()
	e, err := New(cfg, d, c, WithLogger(testLogger(t)))
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
