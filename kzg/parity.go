package kzg

import (
	"fmt"
	"math/bits"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr/fft"

	"github.com/zgda/zgda/internal/par"
)

// MaxMatrixRows is the largest batch matrix K (docs/spec.md §3.3 Batch matrix:
// D ≤ 256, so K ≤ 256).
const MaxMatrixRows = 256

// ParityCommitments returns the commitments of the parity rows of a batch
// matrix (docs/spec.md §3.4 Column extension): data are the commitments
// C_0 … C_{D−1} of its D data rows, k is K, the smallest power of two ≥ D,
// and the result holds the 3D commitments of extended rows K … K+3D−1, the
// parity dispersed rows n = D … 4D−1, in that order.
//
// A commitment is linear in its row, so the column extension applied to the
// commitments — an inverse FFT of size K in G1, then a size-K FFT on each
// coset of the extended rows, in bit-reversed order, run in lock-step as
// batched affine arithmetic (g1Extender, shared with the batch prover) —
// gives the extended rows' commitments without any
// 4096-point MSM. The K − D padding rows are all zero: their commitments are
// the G1 identity and nothing else of them is built. The result equals
// C_j = Σ_{i<D} ℓ_i(x_j)·C_i with ℓ_i the Lagrange basis over all K matrix
// points. Inputs are fully checked; data is only read.
func (c *Context) ParityCommitments(data []Commitment, k int) ([]Commitment, error) {
	d := len(data)
	if err := checkMatrix(d, k); err != nil {
		return nil, err
	}
	pts := make([]bls.G1Affine, k) // the zero value is the identity: padding rows
	for i := range data {
		p, err := decodePoint("commitment", i, data[i][:])
		if err != nil {
			return nil, err
		}
		pts[i] = p
	}
	// The column extension of one "cell" (c = 1), as the batch prover
	// runs it for 128: one owner of the G1 extension.
	var ls lockstepFFT
	ext := newG1Extender(k, paritySpan(d, k)).extendCells(pts, 1, &ls)
	out := make([]Commitment, 3*d)
	for i := range out {
		out[i] = ext[i].Bytes()
	}
	return out, nil
}

// checkMatrix checks D data rows in a matrix of K rows: 1 ≤ D ≤ K ≤
// MaxMatrixRows, K the smallest power of two ≥ D (docs/spec.md §3.3 Batch matrix).
func checkMatrix(d, k int) error {
	if d < 1 || d > MaxMatrixRows {
		return fmt.Errorf("%w: %d data rows, want 1 to %d", ErrBadArgument, d, MaxMatrixRows)
	}
	if k&(k-1) != 0 || k < d || k >= 2*d {
		return fmt.Errorf("%w: K = %d for %d data rows, want the smallest power of two ≥ D", ErrBadArgument, k, d)
	}
	return nil
}

var g1Infinity = func() bls.G1Jac {
	var p bls.G1Jac
	p.X.SetOne()
	p.Y.SetOne()
	return p
}()

// rootOfUnity returns ω_n (or its inverse), Ethereum's primitive n-th root.
func rootOfUnity(n int, inverse bool) fr.Element {
	d := fft.NewDomain(uint64(n))
	if inverse {
		return d.GeneratorInv
	}
	return d.Generator
}

// g1FFT evaluates, in place, the polynomial with natural-order G1
// coefficients a at ω^0 … ω^{n−1} (natural order out). Each stage's
// butterflies run on up to workers goroutines.
func g1FFT(a []bls.G1Jac, omega fr.Element, workers int) {
	n := len(a)
	if n <= 1 {
		return
	}
	logN := bits.TrailingZeros(uint(n))
	fft.BitReverse(a)
	tw := g1Twiddles(n, omega) // ω^j, j < n/2, prepared once per (n, ω)
	for s := 1; s <= logN; s++ {
		m := 1 << s
		half := m / 2
		stride := n / m
		butterflies := n / 2
		par.Range(butterflies, workers, 64, func(lo, hi int) {
			for b := lo; b < hi; b++ {
				blk, j := b/half, b%half
				i0 := blk*m + j
				i1 := i0 + half
				var t bls.G1Jac
				tw[j*stride].mul(&t, &a[i1]) // a copy for j = 0
				a[i1].Set(&a[i0])
				a[i1].SubAssign(&t)
				a[i0].AddAssign(&t)
			}
		})
	}
}

// scaleG1 multiplies every point by s.
func scaleG1(a []bls.G1Jac, s *fr.Element, workers int) {
	m := newG1Mul(s)
	par.Range(len(a), workers, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			m.mul(&a[i], &a[i])
		}
	})
}
