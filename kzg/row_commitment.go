package kzg

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

// RowCommitment is the commitment of extended row j of a batch's matrix
// (0 ≤ j < 4K; docs/spec.md §3.4 Column extension) from the commitments of
// its D data rows: C_j itself for a data row, the identity for a padding
// row, and Σ_i ℓ_i(x_j)·C_i for a parity row — one D-point MSM, where
// ParityCommitments derives all 3D at once. The chain checks proof-of-
// access answers with it (docs/spec.md §6 Proofs of random access).
func (c *Context) RowCommitment(data []Commitment, k, j int) (Commitment, error) {
	d := len(data)
	if err := checkMatrix(d, k); err != nil {
		return Commitment{}, err
	}
	if j < 0 || j >= 4*k {
		return Commitment{}, fmt.Errorf("%w: extended row %d outside [0, %d)", ErrBadArgument, j, 4*k)
	}
	switch {
	case j < d:
		p, err := decodePoint("commitment", j, data[j][:])
		if err != nil {
			return Commitment{}, err
		}
		return p.Bytes(), nil
	case j < k:
		var id bls.G1Affine
		return id.Bytes(), nil
	}
	pts := make([]bls.G1Affine, d)
	for i := range data {
		p, err := decodePoint("commitment", i, data[i][:])
		if err != nil {
			return Commitment{}, err
		}
		pts[i] = p
	}
	l := newLagrange(d, k).at(j)
	var out bls.G1Affine
	if _, err := out.MultiExp(pts, l[:d:d], ecc.MultiExpConfig{NbTasks: c.workers}); err != nil {
		return Commitment{}, err
	}
	return out.Bytes(), nil
}
