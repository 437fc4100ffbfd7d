package kzg

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	goethkzg "github.com/crate-crypto/go-eth-kzg"
)

// ethVerifier is go-eth-kzg's context, used for EIP-7594 batch verification:
// verification needs no precomputed tables of ours, and go-eth-kzg is the
// field's well-kept implementation of verify_cell_kzg_proof_batch.
type ethVerifier = *goethkzg.Context

func (c *Context) verifier() (ethVerifier, error) {
	c.ethOnce.Do(func() {
		c.eth, c.ethErr = goethkzg.NewContext4096Secure()
		if c.ethErr != nil {
			c.ethErr = fmt.Errorf("kzg: loading the verification context: %w", c.ethErr)
		}
	})
	return c.eth, c.ethErr
}

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
	ethCells := make([]*goethkzg.Cell, n)
	ethComms := make([]goethkzg.KZGCommitment, n)
	ethProofs := make([]goethkzg.KZGProof, n)
	for i := 0; i < n; i++ {
		if cellIndices[i] >= CellsPerRow {
			return fmt.Errorf("%w: cell index %d of entry %d is not below %d", ErrBadArgument, cellIndices[i], i, CellsPerRow)
		}
		if len(cells[i]) != ScalarsPerCell {
			return fmt.Errorf("%w: cell %d has %d elements, want %d", ErrBadArgument, i, len(cells[i]), ScalarsPerCell)
		}
		if _, err := decodePoint("commitment", i, commitments[i][:]); err != nil {
			return err
		}
		if _, err := decodePoint("proof", i, proofs[i][:]); err != nil {
			return err
		}
		var cell goethkzg.Cell
		for j := range cells[i] {
			b := cells[i][j].Bytes()
			copy(cell[j*BytesPerScalar:], b[:])
		}
		ethCells[i] = &cell
		ethComms[i] = goethkzg.KZGCommitment(commitments[i])
		ethProofs[i] = goethkzg.KZGProof(proofs[i])
	}
	if n == 0 {
		return nil
	}
	v, err := c.verifier()
	if err != nil {
		return err
	}
	if err := v.VerifyCellKZGProofBatch(ethComms, cellIndices, ethCells, ethProofs); err != nil {
		return fmt.Errorf("%w: %v", ErrVerify, err)
	}
	return nil
}

// VerifyCell checks one cell; see VerifyCells.
func (c *Context) VerifyCell(commitment Commitment, cellIndex uint64, cell []fr.Element, proof Proof) error {
	return c.VerifyCells([]Commitment{commitment}, []uint64{cellIndex}, [][]fr.Element{cell}, []Proof{proof})
}

// IsVerifyFailure reports whether err means "well-formed but does not
// verify", as opposed to malformed input.
func IsVerifyFailure(err error) bool { return errors.Is(err, ErrVerify) }
