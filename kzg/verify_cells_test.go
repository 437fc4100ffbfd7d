package kzg

import (
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	goethkzg "github.com/crate-crypto/go-eth-kzg"
)

// TestVerifyCellsAgreesWithGoEthKZG: cells and proofs made by go-eth-kzg
// for two rows, a mixed batch of them, verify here exactly when they verify
// under go-eth-kzg's VerifyCellKZGProofBatch (the consensus-spec vectors
// are TestSpecVerifyCellKZGProofBatch).
func TestVerifyCellsAgreesWithGoEthKZG(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	ctx := testContext()
	eth := ethContext(t)
	var comms []Commitment
	var ethComms []goethkzg.KZGCommitment
	var idx []uint64
	var cells [][]fr.Element
	var ethCells []*goethkzg.Cell
	var proofs []Proof
	var ethProofs []goethkzg.KZGProof
	for r := 0; r < 2; r++ {
		blob := toBlob(randomRow(rng))
		c, err := eth.BlobToKZGCommitment(blob, 0)
		if err != nil {
			t.Fatal(err)
		}
		cs, ps, err := eth.ComputeCellsAndKZGProofs(blob, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []uint64{0, 1, 5, 64, 127, uint64(rng.IntN(128))} {
			var cell []fr.Element
			for j := 0; j < ScalarsPerCell; j++ {
				var e fr.Element
				if err := e.SetBytesCanonical(cs[k][j*BytesPerScalar : (j+1)*BytesPerScalar]); err != nil {
					t.Fatal(err)
				}
				cell = append(cell, e)
			}
			comms, ethComms = append(comms, Commitment(c)), append(ethComms, c)
			idx, cells, ethCells = append(idx, k), append(cells, cell), append(ethCells, cs[k])
			proofs, ethProofs = append(proofs, Proof(ps[k])), append(ethProofs, ps[k])
		}
	}
	if err := ctx.VerifyCells(comms, idx, cells, proofs); err != nil {
		t.Fatalf("a valid batch: %v", err)
	}
	// Swap two proofs, then point one entry at another cell index: both
	// implementations must refuse.
	proofs[1], proofs[2] = proofs[2], proofs[1]
	ethProofs[1], ethProofs[2] = ethProofs[2], ethProofs[1]
	if err := ctx.VerifyCells(comms, idx, cells, proofs); !IsVerifyFailure(err) {
		t.Fatalf("swapped proofs: %v", err)
	}
	if eth.VerifyCellKZGProofBatch(ethComms, idx, ethCells, ethProofs) == nil {
		t.Fatal("go-eth-kzg accepts swapped proofs?")
	}
	proofs[1], proofs[2] = proofs[2], proofs[1]
	idx[3]++
	if err := ctx.VerifyCells(comms, idx, cells, proofs); !IsVerifyFailure(err) {
		t.Fatalf("wrong cell index: %v", err)
	}
}
