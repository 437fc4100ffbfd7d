package kzg

import (
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

// LagrangeG1 returns a copy of the setup's 4096 G1 Lagrange points in
// bit-reversed order: row element i is committed against point i, so
// Commit(row) = Σ row[i]·LagrangeG1()[i]. It is for other implementations of
// the same commitment (the CUDA committer uploads these points). The caller
// owns the result.
func (c *Context) LagrangeG1() ([]bls.G1Affine, error) {
	s, err := c.loadSetup()
	if err != nil {
		return nil, err
	}
	return append([]bls.G1Affine(nil), s.lagrange...), nil
}
