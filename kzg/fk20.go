package kzg

import (
	"fmt"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr/fft"

	"github.com/zgda/zgda/internal/par"
	"github.com/zgda/zgda/kzg/internal/msm"
)

// FK20 (Feist–Khovratovich, "Fast amortized KZG proofs") computes all 128
// EIP-7594 cell proofs of a row at once.
//
// For cells of l = 64 points, the proof of cell k is the commitment of the
// quotient (f(x) − r(x)) / (x^64 − z_k), where z_k = ω_128^brp(k). Writing
// f = Σ f_m x^m and S_m = [τ^m]G1, that commitment is Σ_a z_k^a · h_a with
//
//	h_a = Σ_{r<64} Σ_{u ≤ 62−a} f_{64(u+a+1)+r} · S_{64u+r}   (a < 63), h_63 = 0,
//
// so the 128 proofs are one size-128 G1 FFT of h. Each h is a sum over r of
// correlations of A_r[t] = f_{64t+r} with B_r[u] = S_{64u+r}; reversing A_r
// turns them into linear convolutions of length 126 ≤ 128, computed as
// size-128 FFTs: h = IFFT(Σ_r FFT(A'_r) ⊙ FFT(B_r)). The FFTs of the setup
// side (B_r, scaled by 1/128 for the inverse FFT) are fixed, so the 128
// inner products Σ_r FFT(A'_r)[j]·FFT(B_r)[j] are fixed-base MSMs of 64
// points each, served from one precomputed table.
type fk20 struct {
	table  *msm.Table      // bases[j*64+r] = FFT(B_r)[j] / 128
	doms   *rowDomains     // row ⇄ coefficients → cells
	dom128 *fft.Domain     // 128: the Toeplitz FFTs
	omega  fr.Element      // ω_128
	inv    fr.Element      // ω_128^{-1}
	zero   [128]fr.Element // scratch template
}

const (
	fk20Cosets = CellsPerRow                    // 128 proofs
	fk20Cols   = ScalarsPerCell                 // l = 64
	fk20Rows   = ScalarsPerRow / ScalarsPerCell // 64 coefficient strides
)

func (c *Context) fk20Tables() (*fk20, error) {
	c.fk20Once.Do(func() {
		s, err := c.loadSetup()
		if err != nil {
			c.fk20Err = err
			return
		}
		c.fk20, c.fk20Err = newFK20(s.monomial, c.domains(), c.workers)
	})
	return c.fk20, c.fk20Err
}

func newFK20(monomial []bls.G1Affine, doms *rowDomains, workers int) (*fk20, error) {
	f := &fk20{
		doms:   doms,
		dom128: fft.NewDomain(fk20Cosets),
	}
	f.omega = f.dom128.Generator
	f.inv = f.dom128.GeneratorInv
	// B_r[u] = S_{64u+r}, u ≤ 62, zero-padded to 128, FFT'd in G1, / 128.
	bases := make([]bls.G1Affine, fk20Cosets*fk20Cols)
	var scale fr.Element
	scale.SetUint64(fk20Cosets)
	scale.Inverse(&scale)
	vecs := make([][]bls.G1Jac, fk20Cols)
	par.Range(fk20Cols, workers, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			v := make([]bls.G1Jac, fk20Cosets)
			for u := range v {
				if u < fk20Rows-1 {
					v[u].FromAffine(&monomial[fk20Cols*u+r])
				} else {
					v[u].Set(&g1Infinity)
				}
			}
			g1FFT(v, f.omega, 1)
			scaleG1(v, &scale, 1)
			vecs[r] = v
		}
	})
	jac := make([]bls.G1Jac, len(bases))
	for j := 0; j < fk20Cosets; j++ {
		for r := 0; r < fk20Cols; r++ {
			jac[j*fk20Cols+r] = vecs[r][j]
		}
	}
	copy(bases, bls.BatchJacobianToAffineG1(jac))
	tab, err := msm.NewTable(bases, fk20WindowBits, workers)
	if err != nil {
		return nil, err
	}
	f.table = tab
	return f, nil
}

// ComputeCellsAndProofs returns the 128 cells (64 field elements each) of a
// row and their KZG proofs: EIP-7594 compute_cells_and_kzg_proofs.
func (c *Context) ComputeCellsAndProofs(row []fr.Element) ([][]fr.Element, []Proof, error) {
	if len(row) != ScalarsPerRow {
		return nil, nil, fmt.Errorf("%w: got %d", ErrRowLength, len(row))
	}
	f, err := c.fk20Tables()
	if err != nil {
		return nil, nil, err
	}
	coeffs := f.doms.coefficients(row)
	proofs, err := f.proofs(coeffs[:ScalarsPerRow], c.workers)
	if err != nil {
		return nil, nil, err
	}
	return f.doms.cells(coeffs), proofs, nil
}

// proofs computes the 128 FK20 proofs of the polynomial with the given 4096
// natural-order coefficients.
func (f *fk20) proofs(coeffs []fr.Element, workers int) ([]Proof, error) {
	h, err := f.proofPoints(coeffs, workers)
	if err != nil {
		return nil, err
	}
	aff := bls.BatchJacobianToAffineG1(h)
	out := make([]Proof, len(aff))
	for i := range aff {
		out[i] = aff[i].Bytes()
	}
	return out, nil
}

// proofPoints is proofs before encoding: the 128 proofs as Jacobian points
// (the batch prover combines them in G1, batch_proofs.go).
func (f *fk20) proofPoints(coeffs []fr.Element, workers int) ([]bls.G1Jac, error) {
	// scalars[j*64+r] = FFT(A'_r)[j], A'_r[m] = f_{64(63−m)+r}.
	scalars := make([]fr.Element, fk20Cosets*fk20Cols)
	vec := make([]fr.Element, fk20Cosets)
	for r := 0; r < fk20Cols; r++ {
		clear(vec)
		for m := 0; m < fk20Rows; m++ {
			vec[m] = coeffs[fk20Cols*(fk20Rows-1-m)+r]
		}
		f.dom128.FFT(vec, fft.DIF)
		fft.BitReverse(vec) // natural order, as the G1 side
		for j := 0; j < fk20Cosets; j++ {
			scalars[j*fk20Cols+r] = vec[j]
		}
	}
	prods, err := f.table.MultiExpGroups(scalars, fk20Cols, workers)
	if err != nil {
		return nil, err
	}
	// conv = IFFT(prods) (1/128 is in the table); h_a = conv[62−a].
	g1FFT(prods, f.inv, workers)
	h := make([]bls.G1Jac, fk20Cosets)
	for a := range h {
		if a < fk20Rows-1 {
			h[a] = prods[fk20Rows-2-a]
		} else {
			h[a].Set(&g1Infinity)
		}
	}
	// proof k = H(z_k), z_k = ω_128^brp(k): FFT, then bit-reverse.
	g1FFT(h, f.omega, workers)
	fft.BitReverse(h)
	return h, nil
}
