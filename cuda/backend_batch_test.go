package cuda

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// batchKinds are the data of the differential batch tests: random bytes,
// all zero (every commitment the identity) and one repeated byte.
var batchKinds = []string{"random", "zero", "repeated"}

// batchData packs d·BytesPerRow bytes of the given kind into d rows and
// commits to them on the CPU.
func batchData(t *testing.T, r *rand.Rand, d int, kind string) ([]byte, [][]fr.Element, []kzg.Commitment) {
	t.Helper()
	blob := make([]byte, d*encoder.BytesPerRow)
	switch kind {
	case "random":
		for i := range blob {
			blob[i] = byte(r.Uint32())
		}
	case "repeated":
		copy(blob, bytes.Repeat([]byte{0xa7}, len(blob)))
	}
	rows, err := encoder.Pack(blob)
	if err != nil {
		t.Fatal(err)
	}
	comms, err := kzg.Default().CommitRows(context.Background(), rows, nil)
	if err != nil {
		t.Fatal(err)
	}
	return blob, rows, comms
}

func matrixRows(d int) int {
	k := 1
	for k < d {
		k <<= 1
	}
	return k
}

// checkExtendBatch compares be.ExtendBatch with what EncodeBatch computes
// on the CPU: ExtendColumns over the zero-padded matrix and
// kzg.ParityCommitments, byte for byte.
func checkExtendBatch(t *testing.T, be *Backend, rows [][]fr.Element, comms []kzg.Commitment) {
	t.Helper()
	checkExtendBatchWith(t, rows, comms, func(parity [][]fr.Element, pc []kzg.Commitment) error {
		return be.ExtendBatch(context.Background(), rows, comms, parity, pc)
	})
}

// checkExtendBatchWith is checkExtendBatch for any call that encodes the
// batch of rows and comms into parity and pc.
func checkExtendBatchWith(t *testing.T, rows [][]fr.Element, comms []kzg.Commitment,
	extend func(parity [][]fr.Element, pc []kzg.Commitment) error) {
	t.Helper()
	ctx := context.Background()
	d := len(rows)
	k := matrixRows(d)
	matrix := append([][]fr.Element(nil), rows...)
	zero := make([]fr.Element, encoder.ElementsPerRow)
	for len(matrix) < k {
		matrix = append(matrix, zero)
	}
	want := make([][]fr.Element, 4*k)
	copy(want[k:], garbageRows(3*d, encoder.ElementsPerRow))
	if err := encoder.NewCPUBackend(0).ExtendColumns(ctx, matrix, want); err != nil {
		t.Fatal(err)
	}
	wantPC, err := kzg.Default().ParityCommitments(comms, k)
	if err != nil {
		t.Fatal(err)
	}
	orig, origC := cloneRows(rows), append([]kzg.Commitment(nil), comms...)
	parity := garbageRows(3*d, encoder.ElementsPerRow)
	pc := make([]kzg.Commitment, 3*d)
	for i := range pc {
		pc[i][0] = 0x55 // garbage, so an unwritten commitment shows
	}
	if err := extend(parity, pc); err != nil {
		t.Fatalf("D=%d: %v", d, err)
	}
	equalRows(t, "parity rows", parity, want[k:k+3*d])
	for i := range wantPC {
		if pc[i] != wantPC[i] {
			t.Fatalf("D=%d: parity commitment %d: got %x, want %x (kzg.ParityCommitments)", d, i, pc[i], wantPC[i])
		}
	}
	equalRows(t, "data after the call", rows, orig)
	for i := range comms {
		if comms[i] != origC[i] {
			t.Fatalf("commitment %d changed", i)
		}
	}
}

func runExtendBatch(t *testing.T, be *Backend, ds []int) {
	r := rand.New(rand.NewPCG(17, 2))
	for _, d := range ds {
		for _, kind := range batchKinds {
			t.Run(fmt.Sprintf("D=%d/%s", d, kind), func(t *testing.T) {
				_, rows, comms := batchData(t, r, d, kind)
				checkExtendBatch(t, be, rows, comms)
			})
		}
	}
}

func emuBackend(t *testing.T) *Backend {
	t.Helper()
	be, err := newBackend(emuLib(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return be
}

// TestEmulatedExtendBatch runs zgda_cuda_encode_batch (rows and parity
// commitments in one call) on the emulated runtime against the CPU path,
// for D not a power of two too; with 16384-element batches D = 5 (K = 8)
// takes 2 batches of 2048 columns, 32 fused tiles of 64 columns each.
func TestEmulatedExtendBatch(t *testing.T) {
	runExtendBatch(t, emuBackend(t), []int{1, 2, 3, 5, 8})
}

// TestDeviceExtendBatch is TestEmulatedExtendBatch on a real device, up to
// the largest batch.
func TestDeviceExtendBatch(t *testing.T) {
	ds := []int{1, 2, 3, 5, 8, 129, 256}
	if testing.Short() {
		ds = ds[:5]
	}
	runExtendBatch(t, deviceBackend(t), ds)
}

// TestEmulatedEncodeBatch: encoder.EncodeBatch on the cuda backend (which
// takes the BatchBackend path) gives the CPU encoder's batch: rows,
// commitments and root.
func TestEmulatedEncodeBatch(t *testing.T) {
	be := emuBackend(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	var blobs []*encoder.Blob
	for i, kind := range []string{"random", "zero", "repeated"} {
		blob, rows, comms := batchData(t, r, i+1, kind) // 1 + 2 + 3 rows: D = 6, K = 8
		b, err := encoder.NewBlob(len(blob), rows, comms)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	cpu, err := encoder.New()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := encoder.New(encoder.WithBackend(be))
	if err != nil {
		t.Fatal(err)
	}
	want, err := cpu.EncodeBatch(ctx, kzg.Default(), blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dev.EncodeBatch(ctx, kzg.Default(), blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.D != want.D || got.K != want.K || got.N != want.N || got.Root != want.Root {
		t.Fatalf("shape or root differs: got D=%d K=%d N=%d %x, want D=%d K=%d N=%d %x",
			got.D, got.K, got.N, got.Root, want.D, want.K, want.N, want.Root)
	}
	equalRows(t, "batch rows", got.Rows, want.Rows)
	for i := range want.Commitments {
		if got.Commitments[i] != want.Commitments[i] {
			t.Fatalf("commitment %d differs", i)
		}
	}
}

// TestEmulatedExtendBatchErrors: shapes, a malformed commitment (the
// *kzg.PointError ParityCommitments gives) and a closed backend.
func TestEmulatedExtendBatchErrors(t *testing.T) {
	be := emuBackend(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 8))
	_, rows, comms := batchData(t, r, 2, "random")
	parity := garbageRows(6, encoder.ElementsPerRow)
	pc := make([]kzg.Commitment, 6)
	for name, call := range map[string]func() error{
		"no rows":       func() error { return be.ExtendBatch(ctx, nil, nil, nil, nil) },
		"commitments":   func() error { return be.ExtendBatch(ctx, rows, comms[:1], parity, pc) },
		"parity rows":   func() error { return be.ExtendBatch(ctx, rows, comms, parity[:5], pc) },
		"parity commit": func() error { return be.ExtendBatch(ctx, rows, comms, parity, pc[:5]) },
		"short row":     func() error { return be.ExtendBatch(ctx, [][]fr.Element{rows[0][:7], rows[1]}, comms, parity, pc) },
	} {
		if err := call(); !errors.Is(err, encoder.ErrShape) {
			t.Errorf("%s: %v, want ErrShape", name, err)
		}
	}
	bad := append([]kzg.Commitment(nil), comms...)
	bad[1][0] &^= 0x80
	var pe *kzg.PointError
	if err := be.ExtendBatch(ctx, rows, bad, parity, pc); !errors.As(err, &pe) || pe.Index != 1 {
		t.Errorf("uncompressed commitment: %v, want a *kzg.PointError for index 1", err)
	}
	bad[1] = comms[1]
	bad[1][47] ^= 1 // x no longer on the curve (or not in the subgroup)
	if err := be.ExtendBatch(ctx, rows, bad, parity, pc); !errors.Is(err, kzg.ErrInvalidPoint) {
		t.Errorf("off-curve commitment: %v, want kzg.ErrInvalidPoint", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := be.ExtendBatch(cctx, rows, comms, parity, pc); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	be.Close()
	if err := be.ExtendBatch(ctx, rows, comms, parity, pc); !errors.Is(err, ErrClosed) {
		t.Errorf("closed: %v, want ErrClosed", err)
	}
}
