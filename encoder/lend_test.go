package encoder_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// lendingBackend is the CPU backend as a LendingBatchBackend with one
// reusable output set (a stand-in for a GPU's pinned output sets).
type lendingBackend struct {
	encoder.Backend
	set   [][]fr.Element
	lent  bool
	lends int
}

func (l *lendingBackend) BatchConcurrency() int { return 3 }

func (l *lendingBackend) ExtendBatch(ctx context.Context, data [][]fr.Element, cm []kzg.Commitment,
	parity [][]fr.Element, pc []kzg.Commitment) error {
	d := len(data)
	k := 1
	for k < d {
		k <<= 1
	}
	matrix := append([][]fr.Element(nil), data...)
	for len(matrix) < k {
		matrix = append(matrix, make([]fr.Element, encoder.ElementsPerRow))
	}
	out := make([][]fr.Element, encoder.ColumnExtension*k)
	copy(out[k:], parity)
	if err := l.Backend.ExtendColumns(ctx, matrix, out); err != nil {
		return err
	}
	got, err := kzg.Default().ParityCommitments(cm, k)
	copy(pc, got)
	return err
}

func (l *lendingBackend) ExtendBatchLent(ctx context.Context, data [][]fr.Element, _ []encoder.DeviceRow,
	cm []kzg.Commitment, pc []kzg.Commitment) ([][]fr.Element, func(), error) {
	if l.lent || 3*len(data) > len(l.set) {
		return nil, nil, nil
	}
	parity := l.set[:3*len(data)]
	if err := l.ExtendBatch(ctx, data, cm, parity, pc); err != nil {
		return nil, nil, err
	}
	l.lent = true
	l.lends++
	return parity, func() { l.lent = false }, nil
}

// TestEncodeBatchLent: with a LendingBatchBackend EncodeBatch's parity rows
// are the backend's (Lent), equal to the CPU encoder's; with nothing to
// lend a batch is Go memory; Release hands the rows back and leaves the
// batch without them (BlobRows panics), and does nothing to a batch in Go
// memory; BatchConcurrency is the backend's (1 for the CPU backend).
func TestEncodeBatchLent(t *testing.T) {
	ctx := context.Background()
	cpu := blobEncoder(t)
	lb := &lendingBackend{Backend: encoder.NewCPUBackend(0), set: make([][]fr.Element, 12)}
	for i := range lb.set {
		lb.set[i] = make([]fr.Element, encoder.ElementsPerRow)
	}
	enc, err := encoder.New(encoder.WithBackend(lb))
	if err != nil {
		t.Fatal(err)
	}
	if cpu.BatchConcurrency() != 1 || enc.BatchConcurrency() != 3 {
		t.Fatalf("batch concurrency: CPU %d, lending %d; want 1, 3", cpu.BatchConcurrency(), enc.BatchConcurrency())
	}
	rng := rand.New(rand.NewPCG(81, 82))
	want := encodeSizes(t, cpu, rng, 2*encoder.BytesPerRow+1, 77).b // D = 4
	got, err := enc.EncodeBatch(ctx, kzg.Default(), want.Blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Lent() || &got.Rows[got.D][0] != &lb.set[0][0] {
		t.Fatal("the parity rows are not the backend's lent set")
	}
	sameRows(t, got, want)
	own, err := enc.EncodeBatch(ctx, kzg.Default(), want.Blobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if own.Lent() {
		t.Fatal("a batch was lent a set already lent")
	}
	sameRows(t, own, want)

	got.Release()
	if lb.lent || got.Rows != nil || got.Lent() {
		t.Fatalf("after Release: set lent %v, rows %d", lb.lent, len(got.Rows))
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("BlobRows of a released batch did not panic")
			}
		}()
		got.BlobRows(0)
	}()
	got.Release()
	own.Release()
	if own.Rows == nil || len(own.BlobRows(0)) != 3 {
		t.Fatal("Release changed a batch in Go memory")
	}
	if lb.lends != 1 {
		t.Fatalf("%d lendings, want 1", lb.lends)
	}
}

func sameRows(t *testing.T, got, want *encoder.Batch) {
	t.Helper()
	if got.Root != want.Root || len(got.Rows) != len(want.Rows) || len(got.Commitments) != len(want.Commitments) {
		t.Fatalf("batch shape or root differs from the CPU encoder's")
	}
	for n := range want.Rows {
		for i := range want.Rows[n] {
			if got.Rows[n][i] != want.Rows[n][i] {
				t.Fatalf("row %d element %d differs from the CPU encoder's", n, i)
			}
		}
	}
	for i := range want.Commitments {
		if got.Commitments[i] != want.Commitments[i] {
			t.Fatalf("commitment %d differs", i)
		}
	}
}
