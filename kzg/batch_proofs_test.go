package kzg

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// dispersedRows returns a batch's N = 4D dispersed rows (docs/spec.md §3.4)
// for the given data rows, extended by the test's own column extension.
func dispersedRows(data [][]fr.Element) ([][]fr.Element, int) {
	d := len(data)
	k := 1
	for k < d {
		k <<= 1
	}
	matrix := slices.Clone(data)
	for len(matrix) < k {
		matrix = append(matrix, make([]fr.Element, ScalarsPerRow))
	}
	ext := extendColumns(matrix)
	return append(slices.Clone(ext[:d]), ext[k:k+3*d]...), k
}

func constRow(v uint64) []fr.Element {
	row := make([]fr.Element, ScalarsPerRow)
	for i := range row {
		row[i].SetUint64(v)
	}
	return row
}

// TestComputeBatchCellsAndProofs checks every dispersed row's cells and
// proofs against ComputeCellsAndProofs of that row, byte for byte.
func TestComputeBatchCellsAndProofs(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	ctx := testContext()
	for _, tc := range []struct {
		name string
		data [][]fr.Element
	}{
		{"D=1/K=1/random", [][]fr.Element{randomRow(rng)}},
		{"D=1/K=1/zero", [][]fr.Element{constRow(0)}},
		{"D=1/K=1/repeated", [][]fr.Element{constRow(12345)}},
		{"D=3/K=4/random,zero,repeated", [][]fr.Element{randomRow(rng), constRow(0), constRow(7)}},
		{"D=5/K=8/random,repeated,zero", [][]fr.Element{randomRow(rng), randomRow(rng), constRow(1 << 40), randomRow(rng), constRow(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && len(tc.data) > 3 {
				t.Skip("FK20 on 25 rows")
			}
			rows, k := dispersedRows(tc.data)
			cells, proofs, err := ctx.ComputeBatchCellsAndProofs(context.Background(), rows, k)
			if err != nil {
				t.Fatal(err)
			}
			if len(cells) != len(rows) || len(proofs) != len(rows) {
				t.Fatalf("%d cell rows and %d proof rows for %d rows", len(cells), len(proofs), len(rows))
			}
			for n, row := range rows {
				wantCells, wantProofs, err := ctx.ComputeCellsAndProofs(row)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(proofs[n], wantProofs) {
					for c := range wantProofs {
						if proofs[n][c] != wantProofs[c] {
							t.Fatalf("dispersed row %d cell %d: proof %s, want %s", n, c, proofs[n][c], wantProofs[c])
						}
					}
				}
				for c := range wantCells {
					if !slices.Equal(CellBytes(cells[n][c]), CellBytes(wantCells[c])) {
						t.Fatalf("dispersed row %d cell %d differs", n, c)
					}
				}
			}
		})
	}
}

// TestBatchProofsPaddingRows checks what the derivation assumes of the
// padding rows: FK20 of an all-zero row gives zero cells and the identity
// as every proof, in the bytes ComputeCellsAndProofs writes for it.
func TestBatchProofsPaddingRows(t *testing.T) {
	cells, proofs, err := testContext().ComputeCellsAndProofs(constRow(0))
	if err != nil {
		t.Fatal(err)
	}
	var inf bls.G1Affine // the zero value is the identity
	want := Proof(inf.Bytes())
	if want[0] != 0xc0 {
		t.Fatalf("identity encodes as %s", want)
	}
	for c := range proofs {
		if proofs[c] != want {
			t.Fatalf("cell %d of the zero row: proof %s, want the identity %s", c, proofs[c], want)
		}
		for _, e := range cells[c] {
			if !e.IsZero() {
				t.Fatalf("cell %d of the zero row is not zero", c)
			}
		}
	}
}

// TestG1ExtenderAllExtendedRows derives one cell index's proofs over all 4K
// extended rows (not only the parity ones) and checks the padding rows and
// the rows past the batch against FK20 of those rows: the coset machinery
// is right on every coset, coset 0 included.
func TestG1ExtenderAllExtendedRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	ctx := testContext()
	data, matrixRows, k := matrix(rng, 3) // K = 4: padding row 3, rows 13…15 past the batch
	ext := extendColumns(matrixRows)
	f, err := ctx.fk20Tables()
	if err != nil {
		t.Fatal(err)
	}
	points := make([][]bls.G1Jac, k)
	for i := range points {
		if i < len(data) {
			if points[i], err = f.proofPoints(f.doms.coefficients(data[i])[:ScalarsPerRow], 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := make([][]Proof, 4*k)
	for _, j := range []int{0, 1, 2, 3, 13, 14, 15} {
		if _, want[j], err = ctx.ComputeCellsAndProofs(ext[j]); err != nil {
			t.Fatal(err)
		}
	}
	e := newG1Extender(k, [2]int{0, 4 * k})
	cellIdx := []int{0, 77, 127}
	cn := len(cellIdx)
	in := make([]bls.G1Affine, k*cn) // zero: infinity, the padding row
	for i := range points {
		if points[i] != nil {
			aff := bls.BatchJacobianToAffineG1(points[i])
			for x, cell := range cellIdx {
				in[i*cn+x] = aff[cell]
			}
		}
	}
	var ls lockstepFFT
	got := e.extendCells(in, cn, &ls)
	for x, cell := range cellIdx {
		for _, j := range []int{0, 1, 2, 3, 13, 14, 15} {
			if p := got[j*cn+x].Bytes(); p != want[j][cell] {
				t.Errorf("cell %d, extended row %d: derived %s, want %s", cell, j, Proof(p), want[j][cell])
			}
		}
	}
}

func TestComputeBatchCellsAndProofsRefuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(75, 76))
	ctx := testContext()
	rows, k := dispersedRows([][]fr.Element{randomRow(rng), randomRow(rng), randomRow(rng)}) // N = 12
	changed := slices.Clone(rows)
	changed[7] = slices.Clone(rows[7])
	changed[7][100].SetUint64(1)
	swapped := slices.Clone(rows)
	swapped[4], swapped[10] = swapped[10], swapped[4]
	short := slices.Clone(rows)
	short[5] = short[5][:10]
	for name, tc := range map[string]struct {
		rows [][]fr.Element
		k    int
		err  error
		says string
	}{
		"changed parity row":    {changed, k, ErrBadArgument, "dispersed rows [7] "},
		"swapped parity rows":   {swapped, k, ErrBadArgument, "dispersed rows [4 10] "},
		"a data row for parity": {append(slices.Clone(rows[:11]), rows[0]), k, ErrBadArgument, "dispersed rows [11] "},
		"not 4D rows":           {rows[:11], k, ErrBadArgument, "11 dispersed rows"},
		"no rows":               {nil, k, ErrBadArgument, "0 data rows"},
		"K too large":           {rows, 8, ErrBadArgument, "K = 8"},
		"K not a power of two":  {rows, 3, ErrBadArgument, "K = 3"},
		"short row":             {short, k, ErrRowLength, "dispersed row 5"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := ctx.ComputeBatchCellsAndProofs(context.Background(), tc.rows, tc.k)
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %v saying %q", err, tc.err, tc.says)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := ctx.ComputeBatchCellsAndProofs(cctx, rows, k); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}

// ExampleContext_ComputeBatchCellsAndProofs is the shape of a call: the N
// dispersed rows in (data rows, then parity rows), N rows of 128 cells and
// proofs out.
func ExampleContext_ComputeBatchCellsAndProofs() {
	rows, k := dispersedRows([][]fr.Element{constRow(3)}) // D = 1, K = 1
	cells, proofs, err := Default().ComputeBatchCellsAndProofs(context.Background(), rows, k)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(cells), len(cells[0]), len(proofs), len(proofs[0]), slices.Equal(proofs[1], proofs[0]))
	// Output: 4 128 4 128 true
}
