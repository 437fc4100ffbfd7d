package kzg

import (
	"crypto/rand"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr/fft"
)

// EIP-7594 cell verification (verify_cell_kzg_proof_batch), done here
// rather than through go-eth-kzg: building go-eth-kzg's context also builds
// its FK20 prover tables, about 4 s on 2 cores, which a sampler that checks
// 16 cells would pay on every run.
//
// Cell k of a row holds p at x_j = ω_8192^brp_13(64k + j) = h·ω_64^brp_6(j),
// h = ω_8192^brp_7(k) (docs/spec.md §3.5). Its proof π opens p on that
// coset: p − I = q·(X^64 − h^64), I the interpolation of the cell (degree
// < 64), π = [q(τ)]. So e(π, [τ^64] − h^64·[1]) = e(C − [I(τ)], [1]), and
// with random weights r_i one pairing check covers every cell:
//
//	e(Σ r_i π_i, [τ^64]) = e(Σ r_i (C_i + h_i^64 π_i) − [Σ r_i I_i(τ)], [1]).

// addInterpolation adds r·I(X) to acc (64 coefficients), I the polynomial
// of degree < 64 that takes cell's values on the coset h·⟨ω_64⟩.
func (c *Context) addInterpolation(acc []fr.Element, cell []fr.Element, h *fr.Element, r *fr.Element) {
	// The cell is in bit-reversed order on ⟨ω_64⟩ (scaled by h): the
	// inverse FFT (DIT) gives the coefficients a_m of I(h·Y) in natural
	// order, and I_m = a_m·h^−m.
	e := make([]fr.Element, ScalarsPerCell)
	copy(e, cell)
	c.domains().dom64.FFTInverse(e, fft.DIT)
	var hInv, s fr.Element
	hInv.Inverse(h)
	s.Set(r)
	for m := range e {
		var t fr.Element
		t.Mul(&e[m], &s)
		acc[m].Add(&acc[m], &t)
		s.Mul(&s, &hInv)
	}
}

// verifyCellsBatch checks decoded cells (validated by VerifyCells) with one
// pairing check; ErrVerify when they do not verify.
func (c *Context) verifyCellsBatch(comms, proofs []bls.G1Affine, indices []uint64, cells [][]fr.Element) error {
	st, err := c.loadSetup()
	if err != nil {
		return err
	}
	n := len(comms)
	r := make([]fr.Element, n)
	for i := range r {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("kzg: random weights: %w", err)
		}
		r[i].SetBytes(b[:]) // reduced mod r: uniform enough for a 255-bit field
	}
	interp := make([]fr.Element, ScalarsPerCell)
	lhsPts := make([]bls.G1Affine, 0, 2*n)
	lhsSc := make([]fr.Element, 0, 2*n)
	for i := 0; i < n; i++ {
		h, z := c.cellCoset(indices[i])
		c.addInterpolation(interp, cells[i], &h, &r[i])
		var rz fr.Element
		rz.Mul(&r[i], &z)
		lhsPts = append(lhsPts, comms[i], proofs[i])
		lhsSc = append(lhsSc, r[i], rz)
	}
	var sumProofs, rhs, iCommit bls.G1Affine
	if _, err := sumProofs.MultiExp(proofs, r, ecc.MultiExpConfig{NbTasks: c.workers}); err != nil {
		return err
	}
	if _, err := rhs.MultiExp(lhsPts, lhsSc, ecc.MultiExpConfig{NbTasks: c.workers}); err != nil {
		return err
	}
	if _, err := iCommit.MultiExp(st.monomial[:ScalarsPerCell], interp, ecc.MultiExpConfig{NbTasks: c.workers}); err != nil {
		return err
	}
	rhs.Sub(&rhs, &iCommit)
	// e(Σ r π, [τ^64]) · e(−rhs, [1]) == 1
	var negRHS bls.G1Affine
	negRHS.Neg(&rhs)
	ok, err := bls.PairingCheck([]bls.G1Affine{sumProofs, negRHS}, []bls.G2Affine{st.g2Cell, st.g2})
	if err != nil {
		return fmt.Errorf("kzg: pairing: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w: the batch of %d cells does not verify", ErrVerify, n)
	}
	return nil
}
