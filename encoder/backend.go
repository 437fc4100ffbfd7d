package encoder

import (
	"context"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder/internal/rs"
	"github.com/zgda/zgda/kzg"
)

// Backend computes the two extensions of the codec (docs/spec.md §3.4 Column
// extension, §3.5 Cells). It is deliberately narrow (like EigenDA's
// ExtendPolyEval) so that a GPU implementation can sit beside the pure-Go
// one; both must produce identical elements. All slices are caller-owned; a
// Backend writes only into out and never retains either argument.
type Backend interface {
	// Name identifies the implementation ("cpu", "cuda").
	Name() string
	// ExtendColumns writes extended rows of the K = len(data) matrix rows (a
	// power of two ≤ MaxBatchRows, each ElementsPerRow long; rows may be
	// the same slice, as the padding rows of a batch are): out has 4K
	// entries, and each non-nil out[j] receives, at every position t, the
	// column polynomial q_t evaluated at ω_{4K}^{brp(j)}. A nil out[j] is not
	// wanted and need not be computed (a batch keeps only its parity rows).
	// out[0:K] equal data (the code is systematic; out[i] may be data[i]
	// itself).
	ExtendColumns(ctx context.Context, data, out [][]fr.Element) error
	// ExtendRows writes, for each row (ElementsPerRow evaluations in bit-reversed
	// order), its ElementsPerExtRow EIP-7594 evaluations into out[i]: the 128 cells
	// of 64 of compute_cells, concatenated in cell order. out[i][0:4096] is the row.
	ExtendRows(ctx context.Context, rows, out [][]fr.Element) error
}

// BatchBackend is a Backend that also encodes a whole batch matrix in one
// call; EncodeBatch uses it when its Backend has it (a type assertion), and
// otherwise ExtendColumns then Committer.ParityCommitments. ExtendBatch
// writes what those two write, byte for byte: data are the D data rows (the
// K − D zero padding rows are not passed), commitments their D commitments,
// parity (3D rows of ElementsPerRow) receives extended rows K … K+3D−1 and
// parityCommitments (3D) their commitments derived in G1 (docs/spec.md §3.4).
// A malformed commitment is a *kzg.PointError, as ParityCommitments returns.
// Inputs are only read; nothing is retained.
type BatchBackend interface {
	Backend
	ExtendBatch(ctx context.Context, data [][]fr.Element, commitments []kzg.Commitment, parity [][]fr.Element,
		parityCommitments []kzg.Commitment) error
}

// DeviceRow names a copy of a data row that a device backend holds in its
// own memory: a GPU committer can leave the rows it packed at intake there,
// so that the batch's encoding does not send them over the bus again. 0
// names no row.
type DeviceRow uint64

// ResidentBatchBackend is a BatchBackend that can also take the D data rows
// as rows held on its device (DeviceRow, one per data row, in batch order);
// EncodeBatch uses it when every blob of the batch carries its Device rows.
// ExtendBatchResident writes what ExtendBatch writes for the same rows,
// byte for byte; the rows stay held.
type ResidentBatchBackend interface {
	BatchBackend
	ExtendBatchResident(ctx context.Context, rows []DeviceRow, commitments []kzg.Commitment, parity [][]fr.Element,
		parityCommitments []kzg.Commitment) error
}

// LendingBatchBackend is a BatchBackend that can also write a batch's
// parity rows into reusable memory of its own and lend it to the batch (a
// GPU backend's pinned host buffers, which its device copies the rows
// straight into: no allocation and no host copy per batch); EncodeBatch
// uses it when its Backend has it, and the Batch then carries the release
// (Batch.Release). ExtendBatchLent encodes the D data rows given as data
// (host rows; rows nil) or, for a ResidentBatchBackend, as rows (device
// rows; data nil), writes what ExtendBatch writes into parityCommitments
// and returns the 3D parity rows, byte for byte ExtendBatch's, with
// release, which hands them back: nothing may read them after (the backend
// reuses them for another batch); calls after the first do nothing. When
// it has nothing free to lend it returns nil rows and a nil error, having
// done nothing: the caller encodes into its own memory.
type LendingBatchBackend interface {
	BatchBackend
	ExtendBatchLent(ctx context.Context, data [][]fr.Element, rows []DeviceRow, commitments []kzg.Commitment,
		parityCommitments []kzg.Commitment) (parity [][]fr.Element, release func(), err error)
}

// ConcurrentBackend is a Backend that can run several batch encodings at
// once (a GPU backend with a stream and buffers for each): BatchConcurrency
// is how many. Encoder.BatchConcurrency asks it; a Backend without it runs
// one at a time.
type ConcurrentBackend interface {
	Backend
	BatchConcurrency() int
}

// NewCPUBackend returns the pure-Go backend (gnark-crypto FFTs), parallel over
// columns or rows on the given number of workers (0 = runtime.NumCPU()).
func NewCPUBackend(workers int) Backend {
	if workers < 0 {
		workers = 0
	}
	return &cpuBackend{workers: workers}
}

type cpuBackend struct{ workers int }

var _ ConcurrentBackend = (*cpuBackend)(nil)

func (*cpuBackend) Name() string { return "cpu" }

// BatchConcurrency is 1: one batch at a time, each using every worker.
func (*cpuBackend) BatchConcurrency() int { return 1 }

// columnChunk is how many adjacent columns one worker task handles; adjacent
// columns share cache lines of every row.
const columnChunk = 64

func (b *cpuBackend) ExtendColumns(ctx context.Context, data, out [][]fr.Element) error {
	k := len(data)
	if err := checkK(k); err != nil {
		return err
	}
	if err := checkRows("data", data, k, ElementsPerRow); err != nil {
		return err
	}
	if err := checkOutRows(out, ColumnExtension*k, ElementsPerRow); err != nil {
		return err
	}
	// Blocks 1..3 (cosets of H_K) with no wanted row are skipped whole.
	var blocks []int
	for blk := 1; blk < ColumnExtension; blk++ {
		for _, r := range out[blk*k : (blk+1)*k] {
			if r != nil {
				blocks = append(blocks, blk)
				break
			}
		}
	}
	x := rs.GetExtender(k, ColumnExtension)
	type scratch struct{ col, tmp []fr.Element }
	return forEach(ctx, b.workers, ElementsPerRow, columnChunk,
		func() *scratch { return &scratch{make([]fr.Element, k), make([]fr.Element, k)} },
		func(s *scratch, lo, hi int) error {
			for i := 0; i < k; i++ {
				if out[i] != nil {
					copy(out[i][lo:hi], data[i][lo:hi])
				}
			}
			if len(blocks) == 0 {
				return nil
			}
			for t := lo; t < hi; t++ {
				for i := 0; i < k; i++ {
					s.col[i] = data[i][t]
				}
				x.Dom.IFFT(s.col)
				for _, blk := range blocks {
					x.Block(s.tmp, s.col, blk)
					for j, r := range out[blk*k : (blk+1)*k] {
						if r != nil {
							r[t] = s.tmp[j]
						}
					}
				}
			}
			return nil
		})
}

func (b *cpuBackend) ExtendRows(ctx context.Context, rows, out [][]fr.Element) error {
	if err := checkRows("rows", rows, -1, ElementsPerRow); err != nil {
		return err
	}
	if err := checkRows("out", out, len(rows), ElementsPerExtRow); err != nil {
		return err
	}
	return forEach(ctx, b.workers, len(rows), 1, noState, func(_ struct{}, lo, hi int) error {
		for i := lo; i < hi; i++ {
			extendRow(rows[i], out[i])
		}
		return nil
	})
}

// extendRow writes the 8192 EIP-7594 evaluations of row into ext.
func extendRow(row, ext []fr.Element) {
	x := rs.GetExtender(ElementsPerRow, 2)
	hi := ext[ElementsPerRow:ElementsPerExtRow]
	copy(hi, row)
	copy(ext[:ElementsPerRow], row)
	x.Dom.IFFT(hi)
	x.Shift(hi, 1)
	x.Dom.FFT(hi)
}

// checkRows checks that v has n rows (n < 0: any number) of width elements each.
func checkRows(name string, v [][]fr.Element, n, width int) error {
	if n >= 0 && len(v) != n {
		return shapeErr("%s has %d rows, want %d", name, len(v), n)
	}
	for i, r := range v {
		if len(r) != width {
			return shapeErr("%s row %d has %d elements, want %d", name, i, len(r), width)
		}
	}
	return nil
}

// checkOutRows checks that v has n entries, each nil or of width elements.
func checkOutRows(v [][]fr.Element, n, width int) error {
	if len(v) != n {
		return shapeErr("out has %d rows, want %d", len(v), n)
	}
	for i, r := range v {
		if r != nil && len(r) != width {
			return shapeErr("out row %d has %d elements, want %d", i, len(r), width)
		}
	}
	return nil
}

var errNilBackend = fmt.Errorf("encoder: WithBackend(nil)")
