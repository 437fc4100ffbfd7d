package kzg

import (
	"errors"
	"fmt"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// VerifyCells checks cells against their rows' commitments: EIP-7594
// verify_cell_kzg_proof_batch. Entry i says that cells[i] is cell
// cellIndices[i] of the row committed to by commitments[i], with proof
// proofs[i]. All entries are checked together (one pairing check); a nil
// error means every one verified. Malformed inputs are named precisely; a
// well-formed batch that does not verify returns ErrVerify.
func (c *Context) VerifyCells(commitments []Commitment, cellIndices []uint64, cells [][]fr.Element, proofs []Proof) error {
	n := len(commitments)
	if len(cellIndices) != n || len(cells) != n || len(proofs) != n {
		return fmt.Errorf("%w: %d commitments, %d cell indices, %d cells, %d proofs",
			ErrBadArgument, n, len(cellIndices), len(cells), len(proofs))
	}
	comms := make([]bls.G1Affine, n)
	pts := make([]bls.G1Affine, n)
	for i := 0; i < n; i++ {
		if cellIndices[i] >= CellsPerRow {
			return fmt.Errorf("%w: cell index %d of entry %d is not below %d", ErrBadArgument, cellIndices[i], i, CellsPerRow)
		}
		if len(cells[i]) != ScalarsPerCell {
			return fmt.Errorf("%w: cell %d has %d elements, want %d", ErrBadArgument, i, len(cells[i]), ScalarsPerCell)
		}
		var err error
		if comms[i], err = decodePoint("commitment", i, commitments[i][:]); err != nil {
			return err
		}
		if pts[i], err = decodePoint("proof", i, proofs[i][:]); err != nil {
			return err
		}
	}
	if n == 0 {
		return nil
	}
	return c.verifyCellsBatch(comms, pts, cellIndices, cells)
}

// VerifyCell checks one cell; see VerifyCells.
func (c *Context) VerifyCell(commitment Commitment, cellIndex uint64, cell []fr.Element, proof Proof) error {
	return c.VerifyCells([]Commitment{commitment}, []uint64{cellIndex}, [][]fr.Element{cell}, []Proof{proof})
}

// IsVerifyFailure reports whether err means "well-formed but does not
// verify", as opposed to malformed input.
func IsVerifyFailure(err error) bool { return errors.Is(err, ErrVerify) }
