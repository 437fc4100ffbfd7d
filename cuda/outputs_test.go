package cuda

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// hostBlobs packs and commits (on the CPU) blobs of random bytes of the
// given sizes.
func hostBlobs(t *testing.T, r *rand.Rand, sizes ...int) []*encoder.Blob {
	t.Helper()
	cpu, err := encoder.New()
	if err != nil {
		t.Fatal(err)
	}
	blobs := make([]*encoder.Blob, len(sizes))
	for i, n := range sizes {
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		var err error
		if blobs[i], err = cpu.CommitBlob(context.Background(), kzg.Default(), data, nil); err != nil {
			t.Fatal(err)
		}
	}
	return blobs
}

// cpuBatch is the CPU encoder's batch of the blobs (their device rows
// ignored).
func cpuBatch(t *testing.T, blobs []*encoder.Blob) *encoder.Batch {
	t.Helper()
	host := make([]*encoder.Blob, len(blobs))
	for i, b := range blobs {
		h := *b
		h.Device = nil
		host[i] = &h
	}
	cpu, err := encoder.New()
	if err != nil {
		t.Fatal(err)
	}
	want, err := cpu.EncodeBatch(context.Background(), kzg.Default(), host, nil)
	if err != nil {
		t.Fatal(err)
	}
	return want
}

func emuEncoder(t *testing.T, opts ...BackendOption) (*Backend, *encoder.Encoder) {
	t.Helper()
	be, err := newBackend(emuLib(t), 0, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	enc, err := encoder.New(encoder.WithBackend(be))
	if err != nil {
		t.Fatal(err)
	}
	return be, enc
}

func parityBase(b *encoder.Batch) *fr.Element { return &b.Rows[b.D][0] }

// TestEmulatedEncodeBatchLent: EncodeBatch on the cuda backend lends the
// parity rows from a pinned output set (zgda_cuda_encode_batch_pinned, the
// device copying straight into it) and they equal the CPU encoder's, for
// uploaded rows (D = 7, mixed sizes) and resident rows (D = 5); Release
// leaves the batch without rows and hands the set back, and the next batch
// reuses it (same memory, no new allocation) with its own bytes; with the
// only set lent a batch gets Go memory, with the same bytes; a batch too
// large for the free set replaces it.
func TestEmulatedEncodeBatchLent(t *testing.T) {
	be, enc := emuEncoder(t, WithOutputSets(1))
	ctx := context.Background()
	r := rand.New(rand.NewPCG(60, 61))
	up := hostBlobs(t, r, 2*encoder.BytesPerRow+5, 1000, 4*encoder.BytesPerRow)
	want := cpuBatch(t, up)
	got, err := enc.EncodeBatch(ctx, kzg.Default(), up, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Lent() {
		t.Fatal("the batch's parity rows are not lent")
	}
	sameBatch(t, "uploaded rows, lent parity", got, want)
	if sets, lent, _ := be.OutputSets(); sets != 1 || lent != 1 {
		t.Fatalf("output sets %d, lent %d; want 1, 1", sets, lent)
	}
	base := parityBase(got)

	// The set is lent: the next batch's parity rows are Go memory.
	com := emuCommitter(t)
	res := residentBlobs(t, com, r, 3*encoder.BytesPerRow, 2*encoder.BytesPerRow-7)
	wantRes := cpuBatch(t, res)
	own, err := enc.EncodeBatch(ctx, kzg.Default(), res, nil)
	if err != nil {
		t.Fatal(err)
	}
	if own.Lent() {
		t.Fatal("a second batch was lent the only output set")
	}
	sameBatch(t, "resident rows, Go memory", own, wantRes)

	got.Release()
	if got.Rows != nil || got.Lent() {
		t.Fatal("a released batch still has its rows")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("BlobRows of a released batch did not panic")
			}
		}()
		got.BlobRows(0)
	}()
	got.Release() // again: nothing (a second hand-back would panic)
	if _, lent, _ := be.OutputSets(); lent != 0 {
		t.Fatalf("%d output sets lent after Release", lent)
	}

	// Released: the resident batch (D = 5, K = 8: fits the set of K = 8)
	// reuses it.
	again, err := enc.EncodeBatch(ctx, kzg.Default(), res, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Lent() || parityBase(again) != base {
		t.Fatalf("the released output set was not reused (lent %v)", again.Lent())
	}
	sameBatch(t, "resident rows, reused set", again, wantRes)
	if sets, _, lends := be.OutputSets(); sets != 1 || lends != 2 || be.outs.allocs != 1 {
		t.Fatalf("output sets %d, lendings %d, allocations %d; want 1, 2, 1", sets, lends, be.outs.allocs)
	}
	again.Release()

	// A larger batch (D = 9, K = 16) replaces the free set.
	big := hostBlobs(t, r, 9*encoder.BytesPerRow)
	large, err := enc.EncodeBatch(ctx, kzg.Default(), big, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !large.Lent() || be.outs.allocs != 2 {
		t.Fatalf("lent %v, allocations %d; want a new set", large.Lent(), be.outs.allocs)
	}
	sameBatch(t, "D = 9", large, cpuBatch(t, big))
	large.Release()
	if sets, lent, _ := be.OutputSets(); sets != 1 || lent != 0 {
		t.Fatalf("output sets %d, lent %d; want 1, 0", sets, lent)
	}
}

// TestEmulatedExtendBatchLentClosed: a set lent when the backend closes
// stays readable until its release, which frees it; a closed backend lends
// nothing.
func TestEmulatedExtendBatchLentClosed(t *testing.T) {
	be, enc := emuEncoder(t)
	ctx := context.Background()
	blobs := hostBlobs(t, rand.New(rand.NewPCG(62, 63)), 2*encoder.BytesPerRow)
	want := cpuBatch(t, blobs)
	got, err := enc.EncodeBatch(ctx, kzg.Default(), blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	be.Close()
	sameBatch(t, "lent, backend closed", got, want)
	got.Release()
	if sets, _, _ := be.OutputSets(); sets != 0 {
		t.Fatalf("%d output sets left after Close and Release", sets)
	}
	if _, _, err := be.ExtendBatchLent(ctx, want.Rows[:want.D], nil, want.Commitments[:want.D],
		make([]kzg.Commitment, 3*want.D)); err == nil {
		t.Fatal("a closed backend lent an output set")
	}
}

// TestEmulatedEncodeBatchNoPinnedMemory: when pinned memory is refused
// (ZGDA_EMU_FAIL_HOST_ALLOC), a batch is encoded into Go memory, equal to
// the CPU's, and OutputSetErr says why; once pinned memory is there again,
// the next batch is lent a set.
func TestEmulatedEncodeBatchNoPinnedMemory(t *testing.T) {
	be, enc := emuEncoder(t)
	ctx := context.Background()
	blobs := hostBlobs(t, rand.New(rand.NewPCG(66, 67)), 2*encoder.BytesPerRow)
	want := cpuBatch(t, blobs)
	t.Setenv("ZGDA_EMU_FAIL_HOST_ALLOC", "1")
	got, err := enc.EncodeBatch(ctx, kzg.Default(), blobs, nil)
	if err != nil {
		t.Fatalf("a batch without pinned memory: %v, want it encoded into Go memory", err)
	}
	if got.Lent() {
		t.Fatal("a batch was lent an output set that could not be allocated")
	}
	sameBatch(t, "no pinned memory", got, want)
	if err := be.OutputSetErr(); err == nil || !strings.Contains(err.Error(), "pinned output set") {
		t.Fatalf("OutputSetErr %v, want the failed allocation named", err)
	}
	if sets, _, _ := be.OutputSets(); sets != 0 {
		t.Fatalf("%d output sets after a refused allocation", sets)
	}
	t.Setenv("ZGDA_EMU_FAIL_HOST_ALLOC", "0")
	again, err := enc.EncodeBatch(ctx, kzg.Default(), blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Release()
	if !again.Lent() {
		t.Fatal("no output set lent once pinned memory was there again")
	}
	sameBatch(t, "pinned memory back", again, want)
}

// TestEmulatedConcurrentBatches: with two lanes two batch calls hold a
// lane each at the same time (each on its own library context: streams,
// device buffers, output set), and each batch — one uploaded, one from
// resident rows — equals its CPU encoding.
func TestEmulatedConcurrentBatches(t *testing.T) {
	be, enc := emuEncoder(t, WithLanes(2))
	if be.BatchConcurrency() != 2 || enc.BatchConcurrency() != 2 {
		t.Fatalf("batch concurrency %d (encoder %d), want 2", be.BatchConcurrency(), enc.BatchConcurrency())
	}
	var timedOut atomic.Bool
	both := holdLanes(be, 2, 20*time.Second, &timedOut)
	r := rand.New(rand.NewPCG(64, 65))
	batches := [][]*encoder.Blob{
		hostBlobs(t, r, 3*encoder.BytesPerRow, 77),
		residentBlobs(t, emuCommitter(t), r, 5*encoder.BytesPerRow),
	}
	got := lentAtOnce(t, enc, batches, "concurrent batch")
	if timedOut.Load() {
		t.Fatal("the two batch calls never held a lane each at the same time")
	}
	<-both
	if parityBase(got[0]) == parityBase(got[1]) {
		t.Fatal("two batches in flight were lent the same output set")
	}
	for _, b := range got {
		b.Release()
	}
}

// lentAtOnce encodes the batches on goroutines of their own, all at once,
// and checks that each was lent its parity rows and equals the CPU
// encoder's batch.
func lentAtOnce(t *testing.T, enc *encoder.Encoder, batches [][]*encoder.Blob, what string) []*encoder.Batch {
	t.Helper()
	got := make([]*encoder.Batch, len(batches))
	errs := make([]error, len(batches))
	var wg sync.WaitGroup
	for i := range batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = enc.EncodeBatch(context.Background(), kzg.Default(), batches[i], nil)
		}()
	}
	wg.Wait()
	for i := range batches {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !got[i].Lent() {
			t.Fatalf("batch %d not lent", i)
		}
		sameBatch(t, what, got[i], cpuBatch(t, batches[i]))
	}
	return got
}

// holdLanes makes the backend's first n batch calls wait, each holding its
// lane, until n hold one (or, after timeout, it sets timedOut); the
// channel is closed once they did.
func holdLanes(be *Backend, n int32, timeout time.Duration, timedOut *atomic.Bool) chan struct{} {
	var held atomic.Int32
	all := make(chan struct{})
	be.onLane = func() {
		if held.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(timeout):
			timedOut.Store(true)
		}
	}
	return all
}

// TestDeviceEncodeBatchLent is TestEmulatedConcurrentBatches on a real
// device, up to the largest batch: two batches at once (D = 129 and 256,
// uploaded), lent parity rows equal to the CPU encoder's, then a third
// batch (D = 5) reusing a released set.
func TestDeviceEncodeBatchLent(t *testing.T) {
	be := deviceBackend(t)
	enc, err := encoder.New(encoder.WithBackend(be))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(68, 69))
	batches := [][]*encoder.Blob{
		hostBlobs(t, r, 129*encoder.BytesPerRow),
		hostBlobs(t, r, 128*encoder.BytesPerRow, 128*encoder.BytesPerRow),
	}
	for _, b := range lentAtOnce(t, enc, batches, "device batch") {
		b.Release()
	}
	small := hostBlobs(t, r, 5*encoder.BytesPerRow)
	b, err := enc.EncodeBatch(context.Background(), kzg.Default(), small, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameBatch(t, "device batch, reused set", b, cpuBatch(t, small))
	if sets, _, _ := be.OutputSets(); !b.Lent() || sets != 2 {
		t.Fatalf("lent %v, %d output sets; want a reused one of 2", b.Lent(), sets)
	}
	b.Release()
}
