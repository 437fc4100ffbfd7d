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
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zgda/zgda/client"
	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/devnet"
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

// TestEndToEnd runs the rollup's whole path over HTTP against a real
// devnet: post, certified on chain, read back identical, commitments and
// cells verify with kzg, the alt-DA round trip, bad input, 100 concurrent
// clients; then a restart on the same directory with the local copies
// pruned, so that reads reconstruct from the DA nodes.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	n := startDevnet(t, devnet.TestConfig(dir))
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
		s, err := cl.WaitCertified(ctx, k)
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

	// Commitments hash to the key; cells verify against C_row (derived for
	// rows ≥ K) with kzg.
	kc := kzg.Default()
	k := keys[2]
	cm, err := cl.Commitments(ctx, k)
	if err != nil || encoder.BlobKey(cm.Length, cm.Commitments) != k || cm.Rows != 4 {
		t.Fatalf("commitments %+v, %v", cm, err)
	}
	all, err := kc.DeriveCommitments(cm.Commitments)
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range [][2]int{{0, 0}, {15, 127}} {
		c, err := cl.Cell(ctx, k, rc[0], rc[1])
		if err != nil {
			t.Fatalf("cell %v: %v", rc, err)
		}
		cell, err := kzg.ParseCell(c.Cell)
		if err != nil {
			t.Fatal(err)
		}
		if err := kc.VerifyCell(all[rc[0]], uint64(rc[1]), cell, kzg.Proof(c.Proof)); err != nil {
			t.Fatalf("cell %v does not verify: %v", rc, err)
		}
	}

	// Alt-DA: /put answers once certified, /get returns the bytes.
	alt := randBlob(t, 5000)
	comm, err := cl.AltDAPut(ctx, alt)
	if err != nil || len(comm) != 35 || comm[0] != 1 || comm[2] != 0 {
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

	// Bad input: the right 4xx, JSON, nothing stored.
	if _, err := cl.Put(ctx, []byte{}); !errors.Is(err, api.ErrEmptyBlob) {
		t.Fatalf("empty: %v", err)
	}
	var unknown da.BlobKey
	unknown[5] = 9
	if _, err := cl.Status(ctx, unknown); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := cl.Cell(ctx, k, 16, 0); !errors.Is(err, api.ErrInvalidRow) {
		t.Fatalf("row 16 of 16: %v", err)
	}

	// 100 concurrent clients on loopback.
	const clients = 100
	start := time.Now()
	var wg sync.WaitGroup
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

	// Restart on the same directory with every local copy pruned at once:
	// reads now reconstruct from the DA nodes.
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := devnet.TestConfig(dir)
	cfg.Engine = func(c *engine.Config) {
		c.Retention.BlobMaxAge = engine.Duration(time.Nanosecond)
		c.Retention.Interval = engine.Duration(10 * time.Millisecond)
	}
	n2 := startDevnet(t, cfg)
	if !n2.Resumed() {
		t.Fatal("second start did not resume")
	}
	cl2 := client.New(n2.URL())
	time.Sleep(200 * time.Millisecond) // a few pruning rounds
	for i, k := range keys {
		back, err := cl2.Get(ctx, k)
		if err != nil || !bytes.Equal(back, blobs[i]) {
			t.Fatalf("blob %d after pruning: %d bytes, %v", i, len(back), err)
		}
	}
	if !strings.Contains(metrics(t, n2.URL()), `zgda_engine_reconstructions_total{result="ok"} 3`) {
		t.Fatal("the reads were not served by reconstruction")
	}
	// A cell of a row the disperser no longer holds: the row comes from a
	// DA node, checked against its commitment.
	c, err := cl2.Cell(ctx, k, 9, 64)
	if err != nil {
		t.Fatalf("cell after pruning: %v", err)
	}
	cell, err := kzg.ParseCell(c.Cell)
	if err != nil {
		t.Fatal(err)
	}
	if err := kc.VerifyCell(all[9], 64, cell, kzg.Proof(c.Proof)); err != nil {
		t.Fatalf("cell (9, 64) after pruning does not verify: %v", err)
	}
	if s, err := cl2.Status(ctx, extra[0]); err != nil || s.Status != api.StatusCertified {
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
