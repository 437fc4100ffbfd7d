package encoder

import (
	"context"
	"errors"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/da"
)

// ReconstructBatch returns the N = 4d dispersed rows of a batch of d data
// rows from a partial grid of their cells (docs/spec.md §3.6 Reconstruction):
// grid[n][c] is cell c < 128 of dispersed row n < N (ElementsPerCell
// elements; a nil row or cell is missing).
//
// It is Reconstruct on the 4K-row extended grid, with the K − d padding rows
// given whole (they are zero) and the extended rows no one holds (j ≥ K+3d)
// missing. Errors are Reconstruct's, with rows in dispersed numbering: a
// *RecoveryError (ErrUnrecoverable) lists the dispersed rows left incomplete
// (Have and Need count dispersed rows: d are needed), a *ByzantineError names
// the disagreeing dispersed row (−1 when the disagreement shows only on a
// padding or undispersed row). The result is freshly allocated (its rows
// share one allocation); grid is not modified.
func (e *Encoder) ReconstructBatch(ctx context.Context, d int, grid [][][]fr.Element) ([][]fr.Element, error) {
	if err := checkD(d); err != nil {
		return nil, err
	}
	k, n := da.MatrixRows(d), da.ExtensionFactor*d
	if len(grid) != n {
		return nil, shapeErr("grid has %d rows, want N = 4D = %d", len(grid), n)
	}
	ext := make([][][]fr.Element, ColumnExtension*k)
	for i, row := range grid {
		ext[da.ExtendedRow(i, d)] = row
	}
	if k > d {
		zeroCell := make([]fr.Element, ElementsPerCell)
		padding := make([][]fr.Element, CellsPerRow)
		for c := range padding {
			padding[c] = zeroCell
		}
		for j := d; j < k; j++ {
			ext[j] = padding
		}
	}
	all, err := e.Reconstruct(ctx, k, ext)
	if err != nil {
		return nil, dispersedErr(err, d, k)
	}
	out := make([][]fr.Element, n)
	for i := range out {
		out[i] = all[da.ExtendedRow(i, d)]
	}
	return out, nil
}

// dispersedRow maps extended row j back to its dispersed row, or −1 for a
// padding row (d ≤ j < k) or one that is not dispersed (j ≥ k+3d).
func dispersedRow(j, d, k int) int {
	switch {
	case j < d:
		return j
	case j >= k && j < k+3*d:
		return d + j - k
	}
	return -1
}

// dispersedErr renumbers the rows in Reconstruct's errors on the 4K grid
// as dispersed rows.
func dispersedErr(err error, d, k int) error {
	var re *RecoveryError
	if errors.As(err, &re) && re.Axis == AxisGrid {
		var missing []int
		for _, j := range re.Missing {
			if n := dispersedRow(j, d, k); n >= 0 {
				missing = append(missing, n)
			}
		}
		n := da.ExtensionFactor * d
		return &RecoveryError{Axis: AxisGrid, Line: -1, Have: n - len(missing), Need: d, Missing: missing}
	}
	var be *ByzantineError
	if errors.As(err, &be) {
		out := *be
		switch be.Axis {
		case AxisRow:
			out.Line = dispersedRow(be.Line, d, k)
		default:
			out.Index = dispersedRow(be.Index, d, k)
		}
		return &out
	}
	return err
}
