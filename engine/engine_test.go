package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine/api"
	"github.com/zgda/zgda/internal/cellasks"
	"github.com/zgda/zgda/internal/flight"
	"github.com/zgda/zgda/kzg"
)

// putAll posts blobs one after the other and returns their keys.
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

// gatedEngine starts an engine whose first commitment call waits for
// burst's gate, so that a burst of posts is in intake all at once.
func gatedEngine(t *testing.T, cfg Config, d Disperser, c Chain) (*Engine, *gatedCommitter) {
	g := &gatedCommitter{Committer: kzg.Default(), open: make(chan struct{})}
	return startEngine(t, cfg, d, c, WithCommitter(g)), g
}

// burst posts blobs concurrently through a gated engine: every post is in
// intake before the gate opens. It returns the keys in the blobs' order.
func burst(t *testing.T, e *Engine, g *gatedCommitter, blobs [][]byte) []da.BlobKey {
	t.Helper()
	keys := make([]da.BlobKey, len(blobs))
	errs := make([]error, len(blobs))
	var wg sync.WaitGroup
	for i, b := range blobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Put(ctxT(t, 60*time.Second), b)
			keys[i], errs[i] = r.BlobKey, err
		}()
	}
	waitFor(t, "every post in intake", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.intake == len(blobs)
	})
	close(g.open)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
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

func mixedBlobs(t *testing.T) [][]byte {
	sizes := []int{1, 31, 1000, encoder.BytesPerRow, encoder.BytesPerRow + 1, 3*encoder.BytesPerRow + 17} // R = 1 1 1 1 2 4
	blobs := make([][]byte, len(sizes))
	for i, n := range sizes {
		blobs[i] = randBlob(t, n)
	}
	return blobs
}

// TestMixedBatchRoundTrip posts blobs of 1 to 4 rows together: they travel
// as one batch, dispersed exactly as encoder.EncodeBatch encodes them, every
// status proves its blob's place under the batch root, and the bytes read
// back.
func TestMixedBatchRoundTrip(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	cfg := testConfig(t, tempDir(t))
	cfg.Batcher.MaxWait = Duration(time.Hour)
	e, g := gatedEngine(t, cfg, d, c)
	blobs := mixedBlobs(t)
	keys := burst(t, e, g, blobs)
	sts := waitAll(t, e, keys)
	if got := d.batchSizes(); !slices.Equal(got, []int{len(blobs)}) {
		t.Fatalf("batches %v, want one of %d blobs", got, len(blobs))
	}
	root := *sts[0].BatchRoot
	got := d.encoded[root]

	// The batch re-encoded independently, in the order the engine chose.
	enc, _ := encoder.New()
	byKey := map[da.BlobKey][]byte{}
	for i, k := range keys {
		byKey[k] = blobs[i]
	}
	var want []*encoder.Blob
	for _, h := range got.Header.Blobs {
		b, err := enc.CommitBlob(context.Background(), kzg.Default(), byKey[h.Key], nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, b)
	}
	wb, err := enc.EncodeBatch(context.Background(), kzg.Default(), want, nil)
	if err != nil {
		t.Fatal(err)
	}
	if wb.Root != root || wb.D != 10 || wb.N != 40 || len(got.Rows) != wb.N || !slices.Equal(got.Commitments, wb.Commitments) {
		t.Fatalf("dispersed batch root %s D=%d N=%d, EncodeBatch gives %s D=%d N=%d (commitments equal: %v)",
			root, got.D, got.N, wb.Root, wb.D, wb.N, slices.Equal(got.Commitments, wb.Commitments))
	}
	for n := range wb.Rows {
		if !slices.Equal(got.Rows[n], wb.Rows[n]) {
			t.Fatalf("dispersed row %d differs from EncodeBatch's", n)
		}
	}

	offs := got.Header.Offsets()
	for i, k := range keys {
		s := sts[i]
		idx := got.Header.Index(k)
		if *s.BatchRoot != root || int(*s.Index) != idx || int(*s.Offset) != offs[idx] || s.BatchSize != len(blobs) ||
			s.Rows != int(da.RowsFor(uint64(len(blobs[i])))) || s.Height == 0 || s.Length != len(blobs[i]) {
			t.Fatalf("blob %d: status %+v, header places it at %d (offset %d)", i, s, idx, offs[idx])
		}
		if !da.VerifyInclusion(root, da.CertifiedBlob{Key: k, Rows: uint32(s.Rows)}, uint64(*s.Index), uint64(s.BatchSize), s.Proof) {
			t.Fatalf("blob %d: the status's proof does not verify", i)
		}
		back, err := e.Blob(context.Background(), k)
		if err != nil || !bytes.Equal(back, blobs[i]) {
			t.Fatalf("blob %d: read back %d bytes (%v), want the %d posted", i, len(back), err, len(blobs[i]))
		}
		cm, err := e.Commitments(context.Background(), k)
		if err != nil || cm.Length != len(blobs[i]) || cm.Rows != s.Rows || encoder.BlobKey(cm.Length, cm.Commitments) != k {
			t.Fatalf("blob %d: commitments %+v, %v", i, cm, err)
		}
	}
	if v := counterValue(t, e.m.blobs, "certified"); int(v) != len(blobs) {
		t.Fatalf("certified counter %v, want %d", v, len(blobs))
	}
	if v := counterValue(t, e.m.sent, "rows"); int64(v) != d.rowBytes {
		t.Fatalf("row bytes counted %v, the disperser reported %d", v, d.rowBytes)
	}
}

func TestStatusProofRejectsTampering(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	cfg := testConfig(t, tempDir(t))
	cfg.Batcher.MaxWait = Duration(time.Hour)
	e, g := gatedEngine(t, cfg, d, c)
	keys := burst(t, e, g, mixedBlobs(t)[:5])
	s := waitAll(t, e, keys)[3]
	for _, tc := range []struct {
		name string
		mod  func(s *api.BlobStatus)
	}{
		{"proof", func(s *api.BlobStatus) { s.Proof[0][0] ^= 1 }},
		{"short proof", func(s *api.BlobStatus) { s.Proof = s.Proof[1:] }},
		{"index", func(s *api.BlobStatus) { i := (*s.Index + 1) % 5; s.Index = &i }},
		{"offset", func(s *api.BlobStatus) { o := *s.Offset + 1; s.Offset = &o }},
		{"rows", func(s *api.BlobStatus) { s.Rows++ }},
		{"batch size", func(s *api.BlobStatus) { s.BatchSize++ }},
		{"root", func(s *api.BlobStatus) { r := *s.BatchRoot; r[0] ^= 1; s.BatchRoot = &r }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := *s
			x.Proof = slices.Clone(s.Proof)
			tc.mod(&x)
			if err := x.VerifyInclusion(); err == nil {
				t.Fatal("a tampered status verified")
			}
		})
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
		n += strings.Count(fmt.Sprint(bt), r1.BlobKey.String())
	}
	if n != 1 {
		t.Fatalf("blob dispersed %d times, want once", n)
	}
}

func TestCutRule(t *testing.T) {
	r := cutRule{MinRows: 64, MaxRows: 256, MaxWait: 100 * time.Millisecond}
	ones := func(n int) []int { return slices.Repeat([]int{1}, n) }
	for _, tc := range []struct {
		name string
		s    queueState
		n    int
		wait time.Duration
	}{
		{"empty", queueState{EncoderIdle: true}, 0, 0},
		{"lone blob, idle", queueState{Rows: []int{1}, EncoderIdle: true}, 1, 0},
		{"lone blob, posts in intake", queueState{Rows: []int{1}, InIntake: 3, EncoderIdle: true, Waited: 30 * time.Millisecond}, 0, 70 * time.Millisecond},
		{"lone blob, encoder busy", queueState{Rows: []int{1}, Waited: time.Hour}, 0, 0},
		{"max wait with posts in intake", queueState{Rows: []int{1, 2}, InIntake: 1, Waited: 100 * time.Millisecond}, 2, 0},
		{"max wait, but a commit call runs", queueState{Rows: []int{1, 2}, InIntake: 9, Committing: true, Waited: time.Hour}, 0, 0},
		{"min rows reached", queueState{Rows: ones(64), InIntake: 5}, 64, 0},
		{"min rows reached while committing", queueState{Rows: ones(64), InIntake: 5, Committing: true}, 64, 0},
		{"min rows by a large blob", queueState{Rows: []int{1, 63}, InIntake: 5}, 2, 0},
		{"just under min rows", queueState{Rows: ones(63), InIntake: 5, Waited: 10 * time.Millisecond}, 0, 90 * time.Millisecond},
		{"next would pass max rows", queueState{Rows: []int{200, 57}, InIntake: 5}, 1, 0},
		{"exactly max rows", queueState{Rows: []int{200, 56, 1}, InIntake: 5}, 2, 0},
		{"blob over max rows goes alone", queueState{Rows: []int{256, 1}}, 1, 0},
		{"many small blobs", queueState{Rows: ones(300), InIntake: 5}, 256, 0},
		{"nothing in intake, idle, few rows", queueState{Rows: []int{3, 2}, EncoderIdle: true}, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, wait := r.cut(tc.s)
			if n != tc.n || wait != tc.wait {
				t.Fatalf("cut(%+v) = %d, %v; want %d, %v", tc.s, n, wait, tc.n, tc.wait)
			}
		})
	}
	// Linger: an intake that has just emptied is given a moment.
	lr := cutRule{MinRows: 64, MaxRows: 256, MaxWait: time.Second, Linger: 25 * time.Millisecond}
	for _, tc := range []struct {
		name string
		s    queueState
		n    int
		wait time.Duration
	}{
		{"intake just emptied", queueState{Rows: []int{3, 2}, EncoderIdle: true, IntakeIdle: 5 * time.Millisecond}, 0, 20 * time.Millisecond},
		{"intake empty for the linger", queueState{Rows: []int{3, 2}, EncoderIdle: true, IntakeIdle: 25 * time.Millisecond}, 2, 0},
		{"min rows need no linger", queueState{Rows: ones(64), EncoderIdle: true}, 64, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, wait := lr.cut(tc.s)
			if n != tc.n || wait != tc.wait {
				t.Fatalf("cut(%+v) = %d, %v; want %d, %v", tc.s, n, wait, tc.n, tc.wait)
			}
		})
	}
	small := cutRule{MinRows: 4, MaxRows: 4, MaxWait: time.Second}
	if n, _ := small.cut(queueState{Rows: []int{5, 1}, InIntake: 1}); n != 1 {
		t.Fatalf("a blob larger than max_rows: cut %d, want it alone", n)
	}
	for w, want := range map[int]int{1: 1, 4: 1, 5: 2, 256: 64, 1024: 256} {
		if got := minRowsFor(w); got != want {
			t.Errorf("minRowsFor(%d) = %d, want %d", w, got, want)
		}
	}
}

// TestBatcherCutsBurst: a burst of one-row posts all in intake at once is
// cut at MinRows = MaxRows = 4 rows, the rest once intake is empty.
func TestBatcherCutsBurst(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	cfg := testConfig(t, tempDir(t))
	cfg.Batcher.MinRows, cfg.Batcher.MaxRows, cfg.Batcher.MaxWait = 4, 4, Duration(time.Hour)
	e, g := gatedEngine(t, cfg, d, c)
	blobs := make([][]byte, 10)
	for i := range blobs {
		blobs[i] = randBlob(t, 100+i)
	}
	waitAll(t, e, burst(t, e, g, blobs))
	if got := d.batchSizes(); !slices.Equal(got, []int{4, 4, 2}) {
		t.Fatalf("batches %v, want [4 4 2]", got)
	}
	if e.rule.MinRows != 4 {
		t.Fatalf("min rows %d", e.rule.MinRows)
	}
}

// TestBatcherMinRowsFromChain: MinRows 0 takes ceil(min_batch_slots / 4).
func TestBatcherMinRowsFromChain(t *testing.T) {
	e := startEngine(t, testConfig(t, tempDir(t)), newFakeDisperser(), newFakeChain())
	if want := minRowsFor(da.DefaultMinBatchSlots); e.rule.MinRows != want || e.rule.MaxRows != encoder.MaxBatchRows {
		t.Fatalf("rule %+v, want min rows %d", e.rule, want)
	}
}

// TestBatcherMaxWait: a blob waits at most MaxWait while another post is
// still in intake.
func TestBatcherMaxWait(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	cfg := testConfig(t, tempDir(t))
	cfg.Batcher.MaxWait = Duration(300 * time.Millisecond)
	e := startEngine(t, cfg, d, c)
	e.intakeBegin() // a post that never finishes its intake
	defer e.intakeEnd(nil)
	start := time.Now()
	waitAll(t, e, putAll(t, e, [][]byte{randBlob(t, 100)}))
	if el := time.Since(start); el < time.Duration(cfg.Batcher.MaxWait) {
		t.Fatalf("certified after %v, before max_wait", el)
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
	// Every attempt's rows count, the failed ones too.
	if v := counterValue(t, e.m.sent, "rows"); int64(v) != d.rowBytes || d.rowBytes != 4*da.DefaultMinBatchSlots*da.RowSize {
		t.Fatalf("row bytes counted %v, the disperser reported %d", v, d.rowBytes)
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
	e.mu.Lock()
	held, inFlight := e.pendBlobs, len(e.batches)
	e.mu.Unlock()
	if held != 0 || inFlight != 0 {
		t.Fatalf("%d places and %d batches still held", held, inFlight)
	}
	// The bytes are not served (nothing certified them), the error says
	// why, and posting again queues it again.
	if _, err := e.Blob(context.Background(), keys[0]); !errors.Is(err, ErrNotYetCertified) || !strings.Contains(err.Error(), "failed") {
		t.Fatalf("read back failed blob: %v; want ErrNotYetCertified naming the failed status", err)
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
	cfg.Queue.MaxPendingBlobs = 3
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
	if _, err := e.Batch(context.Background(), da.Hash(k)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("batch of unknown: %v", err)
	}
	assertNothingStored(t, e)
}

// assertNothingStored checks that the store holds no blob, status, marker,
// certificate or header.
func assertNothingStored(t *testing.T, e *Engine) {
	t.Helper()
	for _, p := range []string{prefixBlob, prefixStat, prefixPend, prefixCert, prefixHeader} {
		if n := countStored(t, e, p); n != 0 {
			t.Fatalf("%d records under %s after bad requests", n, p)
		}
	}
}

func countStored(t *testing.T, e *Engine, prefix string) int {
	t.Helper()
	it, err := e.store.NewIter(context.Background(), []byte(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for it.Next() {
		n++
	}
	return n
}

func TestRestartRequeuesEverything(t *testing.T) {
	dir := tempDir(t)
	cfg := testConfig(t, dir)
	cfg.Batcher.MinRows, cfg.Batcher.MaxRows = 2, 2
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
	// Stop once a batch is in Disperse.
	waitFor(t, "a dispersal", func() bool { return d1.callCount() > 0 })
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
	for _, n := range d2.batchSizes() {
		if n > 2 {
			t.Fatalf("batches %v after restart: max_rows 2 not kept", d2.batchSizes())
		}
	}
}

func TestRestartAfterCertificateLanded(t *testing.T) {
	dir := tempDir(t)
	cfg := testConfig(t, dir)
	cfg.Batcher.MaxWait = Duration(time.Hour)
	c := newFakeChain()
	c.hang = make(chan struct{}) // the certificate lands, the answer never comes
	d := newFakeDisperser()
	g := &gatedCommitter{Committer: kzg.Default(), open: make(chan struct{})}
	e1, err := New(cfg, d, c, WithLogger(testLogger(t)), WithCommitter(g))
	if err != nil {
		t.Fatal(err)
	}
	if err := e1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	keys := burst(t, e1, g, [][]byte{randBlob(t, 3000), randBlob(t, 4000)})
	waitFor(t, "the certificate on the chain", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.byKey) == 2
	})
	e1.Close()
	c.set(func(c *fakeChain) { c.hang = nil })
	d2 := newFakeDisperser()
	e2 := startEngine(t, cfg, d2, c)
	sts := waitAll(t, e2, keys)
	if d2.callCount() != 0 {
		t.Fatalf("re-dispersed %d times a batch the chain already holds", d2.callCount())
	}
	if sts[0].Height != 1 || *sts[0].BatchRoot != *sts[1].BatchRoot {
		t.Fatalf("statuses %+v, %+v: want the one batch recorded at height 1", sts[0], sts[1])
	}
	// The batch header is rebuilt from the blobs' records.
	b, err := e2.Batch(context.Background(), *sts[0].BatchRoot)
	if err != nil || len(b.Blobs) != 2 || b.Certificate == nil {
		t.Fatalf("batch after recovery: %+v, %v", b, err)
	}
	if countStored(t, e2, prefixHeader) != 1 {
		t.Fatal("the recovered batch's header was not stored")
	}
}

// TestReconstructFromNodes reads a blob of a mixed batch back from the DA
// nodes once its local copy is gone: its own rows when they are all there,
// any D rows when some are withheld or corrupt, and a clear error with too
// few.
func TestReconstructFromNodes(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	cfg := testConfig(t, tempDir(t))
	cfg.Batcher.MaxWait = Duration(time.Hour)
	e, g := gatedEngine(t, cfg, d, c)
	blobs := [][]byte{randBlob(t, 1000), randBlob(t, 2*encoder.BytesPerRow+5), randBlob(t, 70_000)} // R = 1, 3, 1: D = 5, N = 20
	keys := burst(t, e, g, blobs)
	sts := waitAll(t, e, keys)
	for _, k := range keys {
		if err := e.store.Delete(context.Background(), storeKey(prefixBlob, k)); err != nil {
			t.Fatal(err)
		}
	}
	i := 1
	o, r := int(*sts[i].Offset), sts[i].Rows
	back, err := e.Blob(ctxT(t, 30*time.Second), keys[i])
	if err != nil || !bytes.Equal(back, blobs[i]) {
		t.Fatalf("read back with every row there: %d bytes, %v", len(back), err)
	}
	if d.fetches != r {
		t.Fatalf("fetched %d rows, want only the blob's own %d", d.fetches, r)
	}
	// A second read is served from the rebuilt-blob cache: no fetch.
	d.set(func(f *fakeDisperser) { f.fetches = 0 })
	if back, err := e.Blob(ctxT(t, 30*time.Second), keys[i]); err != nil || !bytes.Equal(back, blobs[i]) || d.fetches != 0 {
		t.Fatalf("cached read: %v, %d rows fetched", err, d.fetches)
	}
	e.rebuilt = flight.New[da.BlobKey](0, func(b []byte) int64 { return int64(len(b)) }) // keep nothing from here on
	d.set(func(f *fakeDisperser) {
		f.fetches = 0
		f.withhold[o], f.withhold[0], f.withhold[7] = true, true, true
		f.corrupt[o+1], f.corrupt[12] = true, true
	})
	back, err = e.Blob(ctxT(t, 30*time.Second), keys[i])
	if err != nil || !bytes.Equal(back, blobs[i]) {
		t.Fatalf("reconstructed %d bytes, %v", len(back), err)
	}
	if got := counterValue(t, e.m.reconstructs, "ok"); got != 2 {
		t.Fatalf("reconstructions %v", got)
	}
	// Too few rows left: a clear unavailable error, never wrong bytes.
	d.set(func(f *fakeDisperser) {
		for n := 0; n < 20; n++ {
			f.withhold[n] = n%5 != 0 // 4 of the 5 needed
		}
	})
	_, err = e.Blob(ctxT(t, 30*time.Second), keys[i])
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "only 4 of the 5 rows") {
		t.Fatalf("with 4 rows left: %v", err)
	}
}

// TestSecondEngineReadsFromNodes: an engine that never saw a blob reads it,
// its commitments, its batch and a cell from the DA nodes once the chain has
// certified it.
func TestSecondEngineReadsFromNodes(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	e1 := startEngine(t, testConfig(t, tempDir(t)), d, c)
	blob := randBlob(t, encoder.BytesPerRow+10)
	keys := putAll(t, e1, [][]byte{blob})
	st := waitAll(t, e1, keys)[0]

	e2 := startEngine(t, testConfig(t, tempDir(t)), d, c)
	back, err := e2.Blob(ctxT(t, 30*time.Second), keys[0])
	if err != nil || !bytes.Equal(back, blob) {
		t.Fatalf("second engine read %d bytes, %v", len(back), err)
	}
	cm, err := e2.Commitments(context.Background(), keys[0])
	if err != nil || cm.Rows != 2 || encoder.BlobKey(cm.Length, cm.Commitments) != keys[0] {
		t.Fatalf("commitments %+v, %v", cm, err)
	}
	b, err := e2.Batch(context.Background(), *st.BatchRoot)
	if err != nil || b.Certificate == nil || b.Certificate.BatchRoot != *st.BatchRoot || b.DispersedRows != 8 {
		t.Fatalf("batch %+v, %v", b, err)
	}
	if !testing.Short() { // an FK20 run
		cell, err := e2.Cell(ctxT(t, 60*time.Second), *st.BatchRoot, 5, 17)
		if err != nil {
			t.Fatal(err)
		}
		if d.cells != 1 {
			t.Fatalf("%d cells fetched from the DA nodes, want 1", d.cells)
		}
		verifyCell(t, b, 5, 17, cell)
	}
	if counterValue(t, e2.m.blobs, "accepted") != 0 || countStored(t, e2, prefixBlob) != 0 {
		t.Fatal("the second engine stored the blob")
	}
}

// verifyCell checks a cell against dispersed row n's commitment, derived
// from the batch object's data commitments (docs/spec.md §3.4).
func verifyCell(t *testing.T, b *api.Batch, n, c int, cell *api.Cell) {
	t.Helper()
	hdr, err := b.Header()
	if err != nil {
		t.Fatal(err)
	}
	all, err := encoder.RowCommitments(kzg.Default(), hdr)
	if err != nil {
		t.Fatal(err)
	}
	x, err := kzg.ParseCell(cell.Cell)
	if err != nil {
		t.Fatal(err)
	}
	if err := kzg.Default().VerifyCell(all[n], uint64(c), x, kzg.Proof(cell.Proof)); err != nil {
		t.Fatalf("cell (%d, %d) does not verify: %v", n, c, err)
	}
}

// TestBatchAndCells: the batch object of a certified batch, and cells of a
// data row and a parity row computed from the local copies, which verify
// against the derived commitments; out-of-range indices name the range.
func TestBatchAndCells(t *testing.T) {
	if testing.Short() {
		t.Skip("two FK20 runs")
	}
	d, c := newFakeDisperser(), newFakeChain()
	cfg := testConfig(t, tempDir(t))
	cfg.Batcher.MaxWait = Duration(time.Hour)
	e, g := gatedEngine(t, cfg, d, c)
	blobs := [][]byte{randBlob(t, 500), randBlob(t, encoder.BytesPerRow+1), randBlob(t, 9)} // D = 4, K = 4, N = 16
	keys := burst(t, e, g, blobs)
	st := waitAll(t, e, keys)[0]
	root := *st.BatchRoot
	b, err := e.Batch(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if b.BatchRoot != root || b.DataRows != 4 || b.K != 4 || b.DispersedRows != 16 || len(b.Blobs) != 3 || b.Certificate == nil {
		t.Fatalf("batch %+v", b)
	}
	hdr, err := b.Header()
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		j := hdr.Index(k)
		if j < 0 || hdr.Blobs[j].Length != uint64(len(blobs[i])) {
			t.Fatalf("blob %d not in the batch object as posted", i)
		}
	}
	for _, n := range []int{2, 13} { // a data row, a parity row
		cell, err := e.Cell(ctxT(t, 60*time.Second), root, n, 100)
		if err != nil {
			t.Fatal(err)
		}
		verifyCell(t, b, n, 100, cell)
	}
	if d.cells != 0 {
		t.Fatalf("%d cells fetched from the nodes; the engine holds the batch", d.cells)
	}
	// Each row's first cell was proved alone, the parity row's from its
	// cached block of the column extension.
	if s, r := counterValue(t, e.m.cellPaths, "single"), counterValue(t, e.m.cellPaths, "row"); s != 2 || r != 0 {
		t.Fatalf("cell paths: %v single, %v row; want 2 and 0", s, r)
	}
	if _, ok := e.blocks.Peek(blockKey{root, da.ExtendedRow(13, 4) / 4}); !ok {
		t.Fatal("the parity row's extension block is not cached")
	}
	// A data row asked for cellasks.RowAfter distinct cells is then proved
	// whole, once, and answers from its cached cells; every answer verifies
	// and a repeated cell is the same whichever path answered it.
	first, err := e.Cell(ctxT(t, 60*time.Second), root, 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < cellasks.RowAfter+2; k++ {
		cell, err := e.Cell(ctxT(t, 60*time.Second), root, 1, k*11)
		if err != nil {
			t.Fatal(err)
		}
		verifyCell(t, b, 1, k*11, cell)
	}
	again, err := e.Cell(ctxT(t, 60*time.Second), root, 1, 7)
	if err != nil || !bytes.Equal(again.Cell, first.Cell) || again.Proof != first.Proof {
		t.Fatalf("cell 7 of row 1 again: %v", err)
	}
	if s, r := counterValue(t, e.m.cellPaths, "single"), counterValue(t, e.m.cellPaths, "row"); s != float64(2+cellasks.RowAfter-1) || r != 1 {
		t.Fatalf("cell paths after %d distinct cells of row 1: %v single, %v row", cellasks.RowAfter+3, s, r)
	}
	var ie *IndexError
	if _, err := e.Cell(context.Background(), root, 16, 0); !errors.As(err, &ie) || !errors.Is(err, ErrInvalidRow) || ie.Limit != 16 {
		t.Fatalf("row 16 of 16: %v", err)
	}
	if _, err := e.Cell(context.Background(), root, 0, 128); !errors.Is(err, ErrInvalidCell) {
		t.Fatalf("cell 128: %v", err)
	}
}

// TestConcurrentPutsShareCommitCalls: posts that arrive while a commit call
// runs are committed together in the next one, not one call each.
func TestConcurrentPutsShareCommitCalls(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	e, g := gatedEngine(t, testConfig(t, tempDir(t)), d, c)
	const n = 40
	blobs := make([][]byte, n)
	for i := range blobs {
		blobs[i] = randBlob(t, 50_000)
	}
	keys := burst(t, e, g, blobs) // the first call is held until all n are in intake
	waitAll(t, e, keys)
	h := collectHistogram(t, e, "zgda_engine_commit_call_blobs")
	// The held call took what had arrived (at least one post); the rest
	// waited in the queue and fit one call of Queue.CommitRows rows.
	if h[0] != n || h[1] > 2 {
		t.Fatalf("%v CommitRows calls covered %v blobs; want %d blobs in at most 2 calls", h[1], h[0], n)
	}
}

// TestRepostRecognisedBeforeCommit: posting bytes already accepted — after
// their answer, or while their first post is still in intake — returns the
// same key and status without committing them again.
func TestRepostRecognisedBeforeCommit(t *testing.T) {
	d, c := newFakeDisperser(), newFakeChain()
	e, g := gatedEngine(t, testConfig(t, tempDir(t)), d, c)
	b := randBlob(t, 3*encoder.BytesPerRow)
	keys := make([]da.BlobKey, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	post := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Put(ctxT(t, 60*time.Second), b)
			keys[i], errs[i] = r.BlobKey, err
		}()
	}
	post(0)
	waitFor(t, "the first post in its (held) commit call", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.intake == 1
	})
	post(1)
	post(2)
	waitFor(t, "both reposts waiting for the first", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, f := range e.byHash {
			return f.waiting == 2
		}
		return false
	})
	close(g.open)
	wg.Wait()
	for i, err := range errs {
		if err != nil || keys[i] != keys[0] {
			t.Fatalf("post %d: %v, key %s (first %s)", i, err, keys[i], keys[0])
		}
	}
	waitAll(t, e, keys[:1])
	r, err := e.Put(ctxT(t, 10*time.Second), b)
	if err != nil || r.BlobKey != keys[0] || r.Status != api.StatusCertified {
		t.Fatalf("repost after certification: %+v %v", r, err)
	}
	h := collectHistogram(t, e, "zgda_engine_commit_call_blobs")
	if h[0] != 1 {
		t.Fatalf("the commit calls covered %v blobs for four posts of one blob, want 1", h[0])
	}
	if got := testutil.ToFloat64(e.m.reposts); got != 3 {
		t.Fatalf("reposts %v, want 3", got)
	}
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
		{"batcher wait", func(c *Config) { c.Batcher.MaxWait = 0 }, "batcher.max_wait"},
		{"batcher max rows", func(c *Config) { c.Batcher.MaxRows = 257 }, "batcher.max_rows"},
		{"batcher min rows", func(c *Config) { c.Batcher.MinRows, c.Batcher.MaxRows = 9, 8 }, "batcher.min_rows"},
		{"queue", func(c *Config) { c.Queue.MaxPendingBytes = 10 }, "queue.max_pending_bytes"},
		{"dispersal", func(c *Config) { c.Dispersal.Attempts = 0 }, "dispersal.attempts"},
		{"storage", func(c *Config) { c.Storage.Volumes = nil }, "storage.volumes"},
		{"retention", func(c *Config) { c.Retention.BlobMaxAge = 0; c.Retention.Interval = Duration(time.Minute) }, "retention.interval"},
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
