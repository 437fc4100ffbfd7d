package rs

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Decoder recovers a polynomial from its evaluations on H_N (bit-reversed order)
// when whole units are missing. The N positions form U = N/W units of W
// consecutive bit-reversed positions; unit u is the coset ω_N^{brp_U(u)}·H_W, whose
// vanishing polynomial is x^W − ω_U^{brp_U(u)}. (W = 64 gives EIP-7594's cells of
// an 8192-point extended row; W = 1 gives single points, as in column decoding.)
//
// With Z(x) = Π_{u missing}(x^W − ω_U^{brp_U(u)}) the method is EIP-7594
// recover_cells': interpolate E·Z (E zeroed where missing) on H_N, then divide by Z
// on the coset g·H_N, where Z has no roots. It is exact whenever the true
// polynomial P has deg P + W·|missing| < N; Decode then returns P's coefficients.
//
// A Decoder is built once per erasure pattern (O(|missing|² + U log U) work) and
// is then safe for concurrent use.
type Decoder struct {
	N, W, U  int
	dom      *Domain
	zs       []fr.Element // Z on unit u of H_N (zero where missing)
	zsCosInv []fr.Element // 1 / Z on unit u of g·H_N
	missing  []bool
}

// NewDecoder builds the decoder for domain size n, unit width w and the given
// missing units (each in [0, n/w), no repeats). At least one unit must remain.
func NewDecoder(n, w int, missing []int) (*Decoder, error) {
	if w <= 0 || n%w != 0 {
		return nil, fmt.Errorf("rs: unit width %d does not divide %d", w, n)
	}
	u := n / w
	if len(missing) >= u {
		return nil, fmt.Errorf("rs: %d of %d units missing", len(missing), u)
	}
	dc := &Decoder{N: n, W: w, U: u, dom: GetDomain(n), missing: make([]bool, u)}
	du := GetDomain(u)
	roots := powers(du.Root, u)
	// Coefficients of Zs(y) = Π (y − ω_U^{brp_U(m)}), so that Z(x) = Zs(x^W); deg Zs < U.
	zc := make([]fr.Element, u)
	zc[0].SetOne()
	deg := 0
	for _, m := range missing {
		if m < 0 || m >= u || dc.missing[m] {
			return nil, fmt.Errorf("rs: bad or repeated missing unit %d", m)
		}
		dc.missing[m] = true
		var neg fr.Element
		neg.Neg(&roots[Reverse(m, du.Log)])
		deg++
		// zc ← zc·(y − root): new[i] = old[i−1] − root·old[i], descending so old values are read.
		for i := deg; i > 0; i-- {
			var t fr.Element
			t.Mul(&zc[i], &neg)
			zc[i].Add(&t, &zc[i-1])
		}
		zc[0].Mul(&zc[0], &neg)
	}
	// Zs on H_U in bit-reversed order: unit u of H_N maps to ω_U^{brp_U(u)} under x ↦ x^W.
	dc.zs = make([]fr.Element, u)
	copy(dc.zs, zc)
	du.FFT(dc.zs)
	// Zs on g^W·H_U: unit u of g·H_N maps to g^W·ω_U^{brp_U(u)}.
	g := CosetShift()
	var gw fr.Element
	gw.SetOne()
	for i := 0; i < w; i++ {
		gw.Mul(&gw, &g)
	}
	gp := powers(gw, u)
	cos := make(fr.Vector, u)
	cos.Mul(zc, gp)
	du.FFT(cos)
	dc.zsCosInv = fr.BatchInvert(cos)
	return dc, nil
}

// Missing reports whether unit u is missing.
func (dc *Decoder) Missing(u int) bool { return dc.missing[u] }

// Decode replaces e (N evaluations on H_N in bit-reversed order; values at missing
// positions are ignored) by the N natural-order coefficients of the decoded
// polynomial. When the known evaluations come from a polynomial P within the
// decoder's bound, the result is P (coefficients at and above deg P are zero).
func (dc *Decoder) Decode(e []fr.Element) {
	e = e[:dc.N]
	w := dc.W
	// E·Z on H_N.
	for u := 0; u < dc.U; u++ {
		blk := fr.Vector(e[u*w : (u+1)*w])
		if dc.missing[u] {
			for i := range blk {
				blk[i].SetZero()
			}
			continue
		}
		scaleBlock(blk, &dc.zs[u])
	}
	dc.dom.IFFT(e)
	// (E·Z) / Z on g·H_N.
	dc.dom.CosetFFT(e)
	for u := 0; u < dc.U; u++ {
		scaleBlock(fr.Vector(e[u*w:(u+1)*w]), &dc.zsCosInv[u])
	}
	dc.dom.CosetIFFT(e)
}

func scaleBlock(v fr.Vector, s *fr.Element) {
	if len(v) == 1 {
		v[0].Mul(&v[0], s)
		return
	}
	v.ScalarMul(v, s)
}
