package devnet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/devnet"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine"
	"github.com/zgda/zgda/engine/api"
	"github.com/zgda/zgda/kzg"
)

func logger(t testing.TB) *slog.Logger {
	if os.Getenv("ZGDA_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func startDevnet(t testing.TB, cfg devnet.Config) *devnet.Network {
	t.Helper()
	cfg.Logger = logger(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := devnet.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
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

// putRetry posts, waiting out 429s as Retry-After says.
func putRetry(ctx context.Context, cl *client.Client, blob []byte) (*api.PutResponse, error) {
	for {
		r, err := cl.Put(ctx, blob)
		var ae *client.Error
		if errors.As(err, &ae) && client.IsRetryable(err) {
			select {
			case <-time.After(max(ae.RetryAfter, 50*time.Millisecond)):
				continue
			case <-ctx.Done():
				return nil, err
			}
		}
		return r, err
	}
}

// verifyCell checks a cell against dispersed row n's commitment, derived
// from the batch object's data commitments (docs/spec.md §3.4).
func verifyCell(t testing.TB, b *api.Batch, n, c int, cell *api.Cell) {
	t.Helper()
	hdr, err := b.Header()
	if err != nil {
		t.Fatal(err)
	}
	kc := kzg.Default()
	all, err := encoder.RowCommitments(kc, hdr)
	if err != nil {
		t.Fatal(err)
	}
	x, err := kzg.ParseCell(cell.Cell)
	if err != nil {
		t.Fatal(err)
	}
	if err := kc.VerifyCell(all[n], uint64(c), x, kzg.Proof(cell.Proof)); err != nil {
		t.Fatalf("cell (%d, %d) of batch %s does not verify: %v", n, c, b.BatchRoot, err)
	}
}

// TestEndToEnd runs the rollup's whole path over HTTP against a real
// devnet: posts certified on chain and read back identical; a burst of
// blobs of 1 to 3 rows dispersed as one mixed batch, read back exactly, its
// batch object checked and cells of a data and a parity row verified; the
// alt-DA round trip; bad input; 100 concurrent clients; a second disperser
// that never saw the blobs reading them from the DA nodes; then a restart
// on the same directory with the local copies pruned, so that reads
// reconstruct from the DA nodes.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := devnet.TestConfig(dir)
	cfg.Engine = func(c *engine.Config) { c.Batcher.MaxWait = engine.Duration(30 * time.Second) }
	n := startDevnet(t, cfg)
	cl := client.New(n.URL(), client.WithPollInterval(20*time.Millisecond))
	ctx := ctxT(t, 4*time.Minute)

	blobs := [][]byte{randBlob(t, 1), randBlob(t, 100_000), randBlob(t, 2*encoder.BytesPerRow+3)}
	keys := make([]da.BlobKey, len(blobs))
	for i, b := range blobs {
		r, err := cl.Put(ctx, b)
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		keys[i] = r.BlobKey
	}
	for i, k := range keys {
		s, err := cl.WaitCertified(ctx, k) // checks the status's inclusion proof
		if err != nil {
			t.Fatalf("blob %d: %v", i, err)
		}
		// The chain holds the certificate the status carries.
		rec, err := n.Chain().Client().CertificateForBlob(ctx, k)
		if err != nil || rec.Certificate.BatchRoot != *s.BatchRoot || rec.Height != s.Height {
			t.Fatalf("blob %d: chain has %+v (%v), status says root %s height %d", i, rec, err, s.BatchRoot, s.Height)
		}
		back, err := cl.Get(ctx, k)
		if err != nil || !bytes.Equal(back, blobs[i]) {
			t.Fatalf("blob %d: read back %d bytes, %v", i, len(back), err)
		}
	}
	cm, err := cl.Commitments(ctx, keys[2])
	if err != nil || encoder.BlobKey(cm.Length, cm.Commitments) != keys[2] || cm.Rows != 3 {
		t.Fatalf("commitments %+v, %v", cm, err)
	}

	// A burst of blobs of 1, 2, 3 and 1 rows: one mixed batch.
	mixed := [][]byte{randBlob(t, 5000), randBlob(t, encoder.BytesPerRow+1), randBlob(t, 3*encoder.BytesPerRow), randBlob(t, 77)}
	mkeys := make([]da.BlobKey, len(mixed))
	sts := make([]*api.BlobStatus, len(mixed))
	var wg sync.WaitGroup
	merr := make([]error, len(mixed))
	for i, b := range mixed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := cl.Put(ctx, b)
			if err == nil {
				mkeys[i] = r.BlobKey
				sts[i], err = cl.WaitCertified(ctx, r.BlobKey)
			}
			merr[i] = err
		}()
	}
	wg.Wait()
	for i, err := range merr {
		if err != nil {
			t.Fatalf("mixed blob %d: %v", i, err)
		}
	}
	big := sts[0]
	for i, s := range sts {
		back, err := cl.Get(ctx, mkeys[i])
		if err != nil || !bytes.Equal(back, mixed[i]) {
			t.Fatalf("mixed blob %d: read back %d bytes, %v", i, len(back), err)
		}
		if s.BatchSize > big.BatchSize {
			big = s
		}
	}
	if big.BatchSize < 2 {
		t.Fatalf("a burst of 4 concurrent posts was dispersed as 4 batches (statuses %+v)", sts)
	}
	b, err := cl.GetBatch(ctx, *big.BatchRoot)
	if err != nil || b.Certificate == nil || b.DispersedRows != 4*b.DataRows || len(b.Blobs) != big.BatchSize {
		t.Fatalf("batch %+v, %v", b, err)
	}
	if _, err := b.Header(); err != nil {
		t.Fatal(err)
	}
	t.Logf("mixed burst: a batch of %d blobs, D=%d K=%d N=%d", len(b.Blobs), b.DataRows, b.K, b.DispersedRows)
	cellRows := []int{int(*big.Offset), b.DispersedRows - 1} // a data row of the blob, the last parity row
	for _, row := range cellRows {
		c, err := cl.GetCell(ctx, b.BatchRoot, row, 63)
		if err != nil {
			t.Fatalf("cell (%d, 63): %v", row, err)
		}
		verifyCell(t, b, row, 63, c)
	}

	// Alt-DA: /put answers once certified, /get returns the bytes.
	alt := randBlob(t, 5000)
	comm, err := cl.AltDAPut(ctx, alt)
	if err != nil || len(comm) != 35 || comm[0] != 1 || comm[1] != 0x7a || comm[2] != 2 {
		t.Fatalf("alt-DA put: %x, %v", comm, err)
	}
	if back, err := cl.AltDAGet(ctx, comm); err != nil || !bytes.Equal(back, alt) {
		t.Fatalf("alt-DA get: %v", err)
	}
	var altKey da.BlobKey
	copy(altKey[:], comm[3:])
	if _, err := n.Chain().Client().CertificateForBlob(ctx, altKey); err != nil {
		t.Fatalf("alt-DA blob not on chain: %v", err)
	}

	// Bad input: the right 4xx, JSON.
	if _, err := cl.Put(ctx, []byte{}); !errors.Is(err, api.ErrEmptyBlob) {
		t.Fatalf("empty: %v", err)
	}
	var unknown da.BlobKey
	unknown[5] = 9
	if _, err := cl.Status(ctx, unknown); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := cl.Get(ctx, unknown); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("unknown get: %v", err)
	}
	if _, err := cl.GetCell(ctx, b.BatchRoot, b.DispersedRows, 0); !errors.Is(err, api.ErrInvalidRow) {
		t.Fatalf("row N of N: %v", err)
	}

	// 100 concurrent clients on loopback.
	const clients = 100
	start := time.Now()
	errs := make(chan error, clients)
	lat := make([]time.Duration, clients)
	var extra []da.BlobKey
	var mu sync.Mutex
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := randBlob(t, 2000+i*101)
			t0 := time.Now()
			r, err := putRetry(ctx, cl, b)
			if err != nil {
				errs <- fmt.Errorf("client %d put: %w", i, err)
				return
			}
			if _, err := cl.WaitCertified(ctx, r.BlobKey); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			lat[i] = time.Since(t0)
			back, err := cl.Get(ctx, r.BlobKey)
			if err != nil || !bytes.Equal(back, b) {
				errs <- fmt.Errorf("client %d: read back %d bytes, %v", i, len(back), err)
			}
			mu.Lock()
			extra = append(extra, r.BlobKey)
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("%d concurrent clients: all certified in %v; latency to certified p50 %v p99 %v",
		clients, time.Since(start).Round(time.Millisecond), lat[clients/2].Round(time.Millisecond), lat[clients*99/100].Round(time.Millisecond))

	// A second disperser with its own empty store reads the blobs from the
	// DA nodes: the chain locates them, the nodes serve header and rows.
	d2, err := dispersal.New(n.Chain().Client(), dispersal.TestConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	ecfg := engine.TestConfig(filepath.Join(t.TempDir(), "second"))
	for _, v := range ecfg.Storage.Volumes {
		if err := os.MkdirAll(v, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	e2, err := engine.New(ecfg, d2, n.Chain().Client())
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	cl2 := client.New("http://" + e2.APIAddr())
	for i, k := range mkeys {
		back, err := cl2.Get(ctx, k)
		if err != nil || !bytes.Equal(back, mixed[i]) {
			t.Fatalf("second disperser, mixed blob %d: %d bytes, %v", i, len(back), err)
		}
	}
	if cm2, err := cl2.Commitments(ctx, mkeys[2]); err != nil || encoder.BlobKey(cm2.Length, cm2.Commitments) != mkeys[2] {
		t.Fatalf("second disperser, commitments: %+v, %v", cm2, err)
	}
	b2, err := cl2.GetBatch(ctx, b.BatchRoot)
	if err != nil || b2.Certificate == nil || b2.DataRows != b.DataRows {
		t.Fatalf("second disperser, batch: %+v, %v", b2, err)
	}
	c, err := cl2.GetCell(ctx, b.BatchRoot, b.DispersedRows-2, 5) // from a DA node
	if err != nil {
		t.Fatalf("second disperser, cell: %v", err)
	}
	verifyCell(t, b, b.DispersedRows-2, 5, c)
	if !strings.Contains(metrics(t, "http://"+e2.APIAddr()), fmt.Sprintf(`zgda_engine_reconstructions_total{result="ok"} %d`, len(mkeys))) {
		t.Fatal("the second disperser's reads were not served from the DA nodes")
	}

	// Restart on the same directory with every local copy pruned at once:
	// reads now reconstruct from the DA nodes.
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	cfg = devnet.TestConfig(dir)
	cfg.Engine = func(c *engine.Config) {
		c.Retention.BlobMaxAge = engine.Duration(time.Nanosecond)
		c.Retention.Interval = engine.Duration(10 * time.Millisecond)
	}
	n2 := startDevnet(t, cfg)
	if !n2.Resumed() {
		t.Fatal("second start did not resume")
	}
	cl3 := client.New(n2.URL())
	// Wait for retention to prune the three local copies (the engine serves
	// a certified blob's local copy while it is there).
	pruned := regexp.MustCompile(`(?m)^zgda_storage_pruned_total (\d+)`)
	for deadline := time.Now().Add(30 * time.Second); ; {
		m := pruned.FindStringSubmatch(metrics(t, n2.URL()))
		if v := 0; m != nil {
			if v, _ = strconv.Atoi(m[1]); v >= len(keys) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention did not prune the %d local copies: %v", len(keys), m)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, k := range keys {
		back, err := cl3.Get(ctx, k)
		if err != nil || !bytes.Equal(back, blobs[i]) {
			t.Fatalf("blob %d after pruning: %d bytes, %v", i, len(back), err)
		}
	}
	if !strings.Contains(metrics(t, n2.URL()), `zgda_engine_reconstructions_total{result="ok"} 3`) {
		t.Fatal("the reads were not served by reconstruction")
	}
	// A cell of a row the disperser no longer holds comes from a DA node.
	c, err = cl3.GetCell(ctx, b.BatchRoot, 1, 64)
	if err != nil {
		t.Fatalf("cell after pruning: %v", err)
	}
	verifyCell(t, b, 1, 64, c)
	if s, err := cl3.Status(ctx, extra[0]); err != nil || s.Status != api.StatusCertified || s.VerifyInclusion() != nil {
		t.Fatalf("status after restart: %+v, %v", s, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "devnet.json")); err != nil {
		t.Fatal(err)
	}
}

func metrics(t testing.TB, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The devnet's DA nodes and disperser verify what they read from the chain
// from the devnet's trust root: a devnet whose trust file names another
// header does not start, saying why, and starts again with PlainReads or
// once the file is right.
func TestDevnetComponentsVerifyTheChain(t *testing.T) {
	cfg := devnet.TestConfig(t.TempDir())
	cfg.Nodes = 2
	cfg.Logger = logger(t)
	n := startDevnet(t, cfg)
	path := n.TrustFile()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	root, err := chain.ReadTrustRoot(path)
	if err != nil {
		t.Fatal(err)
	}
	root.Hash = strings.Repeat("cd", 32)
	if err := chain.WriteTrustRoot(path+".tmp", root); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 2*time.Minute)
	if n2, err := devnet.Start(ctx, cfg); err == nil {
		n2.Close()
		t.Fatal("a devnet whose trust file names another header started")
	} else if !errors.Is(err, chain.ErrVerification) {
		t.Fatalf("a wrong trust file: %v, want chain.ErrVerification", err)
	}

	plain := cfg
	plain.PlainReads = true
	n3, err := devnet.Start(ctx, plain)
	if err != nil {
		t.Fatalf("PlainReads with a wrong trust file: %v", err)
	}
	if err := n3.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	n4, err := devnet.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("the right trust file again: %v", err)
	}
	n4.Close()
}
