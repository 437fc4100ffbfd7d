package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine/api"
	"github.com/zgda/zgda/kzg"
)

// putAll posts blobs through the engine and returns their keys.
func putAll(t *testing.T, e *Engine, blobs [][]byte) []da.BlobKey {
	t.Helper()
	keys := make([]da.BlobKey, len(blobs))
	for i, b := range blobs {
		r, err := e.Put(ctxT(t, 30*time.Second), b)
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		keys[i] = r.BlobKey
	}
	return keys
}

func waitAll(t *testing.T, e *Engine, keys []da.BlobKey) []*api.BlobStatus {
	t.Helper()
	out := make([]*api.BlobStatus, len(keys))
	for i, k := range keys {
		s, err := e.WaitCertified(ctxT(t, 60*time.Second), k)
		if err != nil {
			t.Fatalf("blob %d (%s): %v", i, k, err)
		}
		if err := s.VerifyInclusion(); err != nil {
			t.Fatalf("blob %d: %v", i, err)
		}
		out[i] = s
	}
	return out
}

func TestPipelineCertifiesAndReadsBack(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	e := startEngine(t, testConfig(t, tempDir(t)), d, c)
	sizes := []int{1, 31, 1000, encoder.BytesPerRow, encoder.BytesPerRow + 1, 3*encoder.BytesPerRow + 17}
	blobs := make([][]byte, len(sizes))
	for i, n := range sizes {
		blobs[i] = randBlob(t, n)
	}
	keys := putAll(t, e, blobs)
	sts := waitAll(t, e, keys)
	enc, _ := encoder.New()
	for i, k := range keys {
		want, err := enc.EncodeBlob(context.Background(), kzg.Default(), blobs[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		if want.Key != k {
			t.Fatalf("blob %d: key %s, EncodeBlob says %s", i, k, want.Key)
		}
		got := d.encoded[k]
		if len(got.Rows) != len(want.Rows) || len(got.Commitments) != len(want.Commitments) {
			t.Fatalf("blob %d: dispersed %d rows/%d commitments, want %d/%d", i, len(got.Rows), len(got.Commitments), len(want.Rows), len(want.Commitments))
		}
		for j := range want.Rows {
			for x := range want.Rows[j] {
				if !got.Rows[j][x].Equal(&want.Rows[j][x]) {
					t.Fatalf("blob %d: row %d element %d differs from EncodeBlob", i, j, x)
				}
			}
			if got.Commitments[j] != want.Commitments[j] {
				t.Fatalf("blob %d: commitment %d differs", i, j)
			}
		}
		back, err := e.Blob(context.Background(), k)
		if err != nil || !bytes.Equal(back, blobs[i]) {
			t.Fatalf("blob %d: read back %d bytes (%v), want the %d posted", i, len(back), err, len(blobs[i]))
		}
		cm, err := e.Commitments(context.Background(), k)
		if err != nil || cm.Length != len(blobs[i]) || cm.Rows != want.Params.K || len(cm.Commitments) != want.Params.K {
			t.Fatalf("blob %d: commitments %+v, %v", i, cm, err)
		}
		if sts[i].Height == 0 || sts[i].Length != len(blobs[i]) {
			t.Fatalf("blob %d: status %+v", i, sts[i])
		}
	}
	if v := counterValue(t, e.m.blobs, "certified"); int(v) != len(blobs) {
		t.Fatalf("certified counter %v, want %d", v, len(blobs))
	}
}

func TestRepostIsIdempotent(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	d.block = make(chan struct{})
	e := startEngine(t, testConfig(t, tempDir(t)), d, c)
	b := randBlob(t, 5000)
	r1, err := e.Put(ctxT(t, 10*time.Second), b)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := e.Put(ctxT(t, 10*time.Second), b)
	if err != nil || r2.BlobKey != r1.BlobKey {
		t.Fatalf("repost: %+v, %v; first %+v", r2, err, r1)
	}
	close(d.block)
	waitAll(t, e, []da.BlobKey{r1.BlobKey})
	r3, err := e.Put(ctxT(t, 10*time.Second), b)
	if err != nil || r3.Status != api.StatusCertified {
		t.Fatalf("repost after certification: %+v, %v", r3, err)
	}
	n := 0
	for _, bt := range d.batches {
		for _, k := range bt {
			if k == r1.BlobKey {
				n++
			}
		}
	}
	if n != 1 {
		t.Fatalf("blob dispersed %d times, want once", n)
	}
}

func TestBatcherFlushRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   func(*BatcherConfig)
		blobs int
		size  int
		want  []int // batch sizes
	}{
		{"max_blobs", func(c *BatcherConfig) { c.MaxBlobs, c.MaxWait = 3, Duration(time.Hour) }, 6, 100, []int{3, 3}},
		{"max_bytes", func(c *BatcherConfig) { c.MaxBytes, c.MaxWait = 200, Duration(time.Hour) }, 4, 100, []int{2, 2}},
		{"max_wait", func(c *BatcherConfig) { c.MaxBlobs, c.MaxWait = 100, Duration(300*time.Millisecond) }, 1, 100, []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, c := newFakeDisperser(), newFakeChain()
			cfg := testConfig(t, tempDir(t))
			tc.cfg(&cfg.Batcher)
			e := startEngine(t, cfg, d, c)
			blobs := make([][]byte, tc.blobs)
			for i := range blobs {
				blobs[i] = randBlob(t, tc.size)
			}
			start := time.Now()
			waitAll(t, e, putAll(t, e, blobs))
			if tc.name == "max_wait" && time.Since(start) < time.Duration(cfg.Batcher.MaxWait) {
				t.Fatalf("a lone blob was certified after %v, before max_wait", time.Since(start))
			}
			var got []int
			for _, b := range d.batches {
				got = append(got, len(b))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("batches %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("batches %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestDispersalRetriesThenCertifies(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	d.failNext = 2
	c.failNext, c.rejectNext = 1, 1 // a transport error, then a refusal (re-dispersed)
	cfg := testConfig(t, tempDir(t))
	cfg.Dispersal.Attempts = 5
	e := startEngine(t, cfg, d, c)
	waitAll(t, e, putAll(t, e, [][]byte{randBlob(t, 700)}))
	if got := counterValue(t, e.m.certFailures, "disperse"); got != 2 {
		t.Fatalf("disperse failures %v, want 2", got)
	}
	if got := counterValue(t, e.m.certFailures, "submit"); got != 2 {
		t.Fatalf("submit failures %v, want 2", got)
	}
	if d.callCount() != 4 { // 2 failed, 1 refused on chain, 1 good
		t.Fatalf("Disperse called %d times, want 4", d.callCount())
	}
}

func TestBatchTooLargeIsSplit(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	d.maxBatch = 2
	cfg := testConfig(t, tempDir(t))
	cfg.Batcher.MaxBlobs, cfg.Batcher.MaxWait = 7, Duration(time.Hour)
	e := startEngine(t, cfg, d, c)
	blobs := make([][]byte, 7)
	for i := range blobs {
		blobs[i] = randBlob(t, 100+i)
	}
	waitAll(t, e, putAll(t, e, blobs))
	var sizes []int
	for _, b := range d.batches {
		sizes = append(sizes, len(b))
	}
	if fmt.Sprint(sizes) != "[1 2 2 2]" {
		t.Fatalf("dispersed batches %v, want 7 split into [1 2 2 2]", sizes)
	}
}

func TestLostSubmitAnswerCountsAsLanded(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	c.loseNext = 1
	e := startEngine(t, testConfig(t, tempDir(t)), d, c)
	waitAll(t, e, putAll(t, e, [][]byte{randBlob(t, 700)}))
	if d.callCount() != 1 {
		t.Fatalf("Disperse called %d times, want 1", d.callCount())
	}
}

func TestDispersalGivesUp(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	d.failAll = true
	e := startEngine(t, testConfig(t, tempDir(t)), d, c)
	b := randBlob(t, 900)
	keys := putAll(t, e, [][]byte{b})
	s, err := e.WaitCertified(ctxT(t, 30*time.Second), keys[0])
	var fe *FailedError
	if !errors.As(err, &fe) || !errors.Is(err, ErrNotCertified) || s.Status != api.StatusFailed {
		t.Fatalf("WaitCertified: %+v, %v; want a FailedError", s, err)
	}
	if !strings.Contains(s.Reason, "injected failure") || !strings.Contains(s.Reason, "4 attempts") {
		t.Fatalf("reason %q does not say why", s.Reason)
	}
	if got := counterValue(t, e.m.certFailures, "gave_up"); got != 1 {
		t.Fatalf("gave_up %v", got)
	}
	if e.pendBlobs != 0 {
		t.Fatalf("%d places still held", e.pendBlobs)
	}
	// The bytes stay readable, and posting again queues it again.
	if back, err := e.Blob(context.Background(), keys[0]); err != nil || !bytes.Equal(back, b) {
		t.Fatalf("read back failed blob: %v", err)
	}
	d.set(func(f *fakeDisperser) { f.failAll = false })
	r, err := e.Put(ctxT(t, 10*time.Second), b)
	if err != nil || r.Status != api.StatusQueued {
		t.Fatalf("repost of failed blob: %+v, %v", r, err)
	}
	waitAll(t, e, keys)
}

func TestQueueFull(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	d.block = make(chan struct{})
	cfg := testConfig(t, tempDir(t))
	cfg.Queue.MaxPendingBlobs, cfg.Batcher.MaxBlobs = 3, 1
	e := startEngine(t, cfg, d, c)
	var keys []da.BlobKey
	for i := 0; i < 3; i++ {
		keys = append(keys, putAll(t, e, [][]byte{randBlob(t, 100)})...)
	}
	_, err := e.Put(ctxT(t, 10*time.Second), randBlob(t, 100))
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("4th put: %v, want ErrQueueFull", err)
	}
	if got := counterValue(t, e.m.rejected, "queue_full"); got != 1 {
		t.Fatalf("rejected{queue_full} = %v", got)
	}
	close(d.block)
	waitAll(t, e, keys)
	waitAll(t, e, putAll(t, e, [][]byte{randBlob(t, 100)}))
}

func TestBadPuts(t *testing.T) {
	e := startEngine(t, testConfig(t, tempDir(t)), newFakeDisperser(), newFakeChain())
	if _, err := e.Put(context.Background(), nil); !errors.Is(err, ErrEmptyBlob) {
		t.Fatalf("empty: %v", err)
	}
	if _, err := e.Put(context.Background(), make([]byte, encoder.MaxBlobSize+1)); !errors.Is(err, ErrBlobTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	var k da.BlobKey
	k[0] = 1
	if _, err := e.Status(context.Background(), k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("status of unknown: %v", err)
	}
	if _, err := e.Blob(context.Background(), k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("blob of unknown: %v", err)
	}
	assertNothingStored(t, e)
}

// assertNothingStored checks that the store holds no blob, status or marker.
func assertNothingStored(t *testing.T, e *Engine) {
	t.Helper()
	for _, p := range []string{prefixBlob, prefixStat, prefixPend, prefixCert} {
		it, err := e.store.NewIter(context.Background(), []byte(p))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for it.Next() {
			n++
		}
		it.Close()
		if n != 0 {
			t.Fatalf("%d records under %s after bad requests", n, p)
		}
	}
}

func TestRestartRequeuesEverything(t *testing.T) {
	dir := tempDir(t)
	cfg := testConfig(t, dir)
	cfg.Batcher.MaxBlobs = 2
	c := newFakeChain()
	d1 := newFakeDisperser()
	d1.block = make(chan struct{}) // nothing gets past dispersal
	e1, err := New(cfg, d1, c, WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := e1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	blobs := make([][]byte, 5)
	for i := range blobs {
		blobs[i] = randBlob(t, 2000*(i+1))
	}
	keys := putAll(t, e1, blobs)
	// Wait until a batch is in Disperse, then stop mid-dispersal.
	for d1.callCount() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}

	d2 := newFakeDisperser()
	e2 := startEngine(t, cfg, d2, c)
	waitAll(t, e2, keys)
	for i, k := range keys {
		back, err := e2.Blob(context.Background(), k)
		if err != nil || !bytes.Equal(back, blobs[i]) {
			t.Fatalf("blob %d after restart: %v", i, err)
		}
	}
	if got := counterValue(t, e2.m.blobs, "recovered"); got != float64(len(keys)) {
		t.Fatalf("recovered %v, want %d", got, len(keys))
	}
}

func TestRestartAfterCertificateLanded(t *testing.T) {
	dir := tempDir(t)
	cfg := testConfig(t, dir)
	c := newFakeChain()
	c.hang = make(chan struct{}) // the certificate lands, the answer never comes
	d := newFakeDisperser()
	e1, err := New(cfg, d, c, WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := e1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	keys := putAll(t, e1, [][]byte{randBlob(t, 3000), randBlob(t, 4000)})
	for {
		c.mu.Lock()
		n := len(c.byKey)
		c.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	e1.Close()
	c.set(func(c *fakeChain) { c.hang = nil })
	d2 := newFakeDisperser()
	e2 := startEngine(t, cfg, d2, c)
	sts := waitAll(t, e2, keys)
	if d2.callCount() != 0 {
		t.Fatalf("re-dispersed %d times a batch the chain already holds", d2.callCount())
	}
	if sts[0].Height != 1 {
		t.Fatalf("height %d, want the recorded 1", sts[0].Height)
	}
}

func TestReconstructFromNodes(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	e := startEngine(t, testConfig(t, tempDir(t)), d, c)
	b := randBlob(t, 2*encoder.BytesPerRow+5) // K = 4, 16 rows
	keys := putAll(t, e, [][]byte{b})
	waitAll(t, e, keys)
	if err := e.store.Delete(context.Background(), storeKey(prefixBlob, keys[0])); err != nil {
		t.Fatal(err)
	}
	d.set(func(f *fakeDisperser) {
		f.withhold[0], f.withhold[2], f.withhold[5] = true, true, true
		f.corrupt[1], f.corrupt[4] = true, true
	})
	back, err := e.Blob(ctxT(t, 30*time.Second), keys[0])
	if err != nil || !bytes.Equal(back, b) {
		t.Fatalf("reconstructed %d bytes, %v", len(back), err)
	}
	if got := counterValue(t, e.m.reconstructs, "ok"); got != 1 {
		t.Fatalf("reconstructions %v", got)
	}
	// Too few rows left: a clear unavailable error, never wrong bytes.
	d.set(func(f *fakeDisperser) {
		for j := 0; j < 16; j++ {
			f.withhold[j] = j != 3 && j != 9
		}
	})
	_, err = e.Blob(ctxT(t, 30*time.Second), keys[0])
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "only 2 of the 4 rows") {
		t.Fatalf("with 2 rows left: %v", err)
	}
}

func TestConcurrentPutsShareCommitCalls(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	e := startEngine(t, testConfig(t, tempDir(t)), d, c)
	const n = 40
	keys := make([]da.BlobKey, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Put(context.Background(), randBlob(t, 50_000))
			if err != nil {
				errs <- err
				return
			}
			keys[i] = r.BlobKey
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitAll(t, e, keys)
	h := collectHistogram(t, e, "zgda_engine_commit_call_blobs")
	if h[0] != n {
		t.Fatalf("commit calls covered %v blobs, want %d", h[0], n)
	}
	count := h[1]
	t.Logf("%d concurrent posts: %v CommitRows calls", n, count)
}

// collectHistogram returns a histogram's sample sum and count.
func collectHistogram(t *testing.T, e *Engine, name string) [2]float64 {
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			h := mf.GetMetric()[0].GetHistogram()
			return [2]float64{h.GetSampleSum(), float64(h.GetSampleCount())}
		}
	}
	t.Fatalf("no metric %s", name)
	return [2]float64{}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"listen", func(c *Config) { c.API.Listen = "nope" }, "api.listen"},
		{"body", func(c *Config) { c.API.MaxBodyBytes = encoder.MaxBlobSize + 1 }, "api.max_body_bytes"},
		{"batcher", func(c *Config) { c.Batcher.MaxWait = 0 }, "batcher.max_wait"},
		{"queue", func(c *Config) { c.Queue.MaxPendingBytes = 10 }, "queue.max_pending_bytes"},
		{"dispersal", func(c *Config) { c.Dispersal.Attempts = 0 }, "dispersal.attempts"},
		{"storage", func(c *Config) { c.Storage.Volumes = nil }, "storage.volumes"},
		{"retention", func(c *Config) { c.Retention.BlobMaxAge = 0; c.Retention.Interval = Duration(time.Minute) }, "retention.interval"},
		{"cross", func(c *Config) { c.Queue.MaxPendingBlobs = 2 }, "batcher.max_blobs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig("/tmp/x")
			tc.mod(&c)
			err := c.ValidateBasic()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrConfig naming %s", err, tc.want)
			}
		})
	}
}

// counterValue reads one labelled counter.
func counterValue(t *testing.T, v *prometheus.CounterVec, label string) float64 {
	t.Helper()
	var m dto.Metric
	if err := v.WithLabelValues(label).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
