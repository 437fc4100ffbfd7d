package kzg

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// TestCellAndProofMatchesFK20 checks the single-cell path against FK20 and
// go-eth-kzg, byte for byte, and that its proofs verify.
func TestCellAndProofMatchesFK20(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	ctx := testContext()
	eth := ethContext(t)
	cases := []struct {
		name string
		row  []fr.Element
	}{
		{"random", randomRow(rng)},
		{"zero", make([]fr.Element, ScalarsPerRow)},
	}
	if !testing.Short() {
		cases = append(cases, struct {
			name string
			row  []fr.Element
		}{"random2", randomRow(rng)})
	}
	indices := []uint64{0, 1, 2, 63, 64, 100, 127}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cells, proofs, err := ctx.ComputeCellsAndProofs(tc.row)
			if err != nil {
				t.Fatal(err)
			}
			wantCells, wantProofs, err := eth.ComputeCellsAndKZGProofs(toBlob(tc.row), 0)
			if err != nil {
				t.Fatal(err)
			}
			comm, err := ctx.Commit(tc.row)
			if err != nil {
				t.Fatal(err)
			}
			var cs []Commitment
			var cl [][]fr.Element
			var ps []Proof
			for _, k := range indices {
				cell, proof, err := ctx.ComputeCellAndProof(tc.row, k)
				if err != nil {
					t.Fatal(err)
				}
				if got := string(CellBytes(cell)); got != string(CellBytes(cells[k])) || got != string(wantCells[k][:]) {
					t.Errorf("cell %d differs from ComputeCellsAndProofs or go-eth-kzg", k)
				}
				if proof != proofs[k] || proof != Proof(wantProofs[k]) {
					t.Errorf("proof %d is %s, FK20 %s, go-eth-kzg %x", k, proof, proofs[k], wantProofs[k])
				}
				cs, cl, ps = append(cs, comm), append(cl, cell), append(ps, proof)
			}
			if err := ctx.VerifyCells(cs, indices, cl, ps); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCellAndProofErrors(t *testing.T) {
	ctx := testContext()
	if _, _, err := ctx.ComputeCellAndProof(make([]fr.Element, 10), 0); !errors.Is(err, ErrRowLength) {
		t.Errorf("short row: %v, want ErrRowLength", err)
	}
	if _, _, err := ctx.ComputeCellAndProof(make([]fr.Element, ScalarsPerRow), CellsPerRow); !errors.Is(err, ErrBadArgument) {
		t.Errorf("index 128: %v, want ErrBadArgument", err)
	}
}
