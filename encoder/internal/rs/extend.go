package rs

import (
	"fmt"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Extender evaluates a polynomial of degree < N on the larger domain H_{F·N}, in
// that domain's bit-reversed order. The bit-reversed order of H_{F·N} splits into
// F consecutive blocks of N points; block b is the coset ω_{F·N}^{brp_F(b)}·H_N in
// H_N's own bit-reversed order, so block 0 is H_N itself (the code is systematic)
// and block b is an FFT of the coefficients scaled by powers of the coset shift.
type Extender struct {
	N, F    int
	Dom     *Domain
	shift   [][]fr.Element // shift[b][i] = h_b^i with h_b = ω_{F·N}^{brp_F(b)}, b ≥ 1
	unshift [][]fr.Element // unshift[b][i] = h_b^{−i} / N (with IFFTUnscaled), b ≥ 0
}

var (
	extMu    sync.Mutex
	extCache = map[[2]int]*Extender{}
)

// GetExtender returns the cached extender for degree bound n and factor f (powers of two).
func GetExtender(n, f int) *Extender {
	extMu.Lock()
	defer extMu.Unlock()
	if x, ok := extCache[[2]int{n, f}]; ok {
		return x
	}
	if f <= 0 || f&(f-1) != 0 || n*f > 1<<MaxLogN {
		panic(fmt.Sprintf("rs: bad extender %d×%d", n, f))
	}
	x := &Extender{N: n, F: f, Dom: GetDomain(n), shift: make([][]fr.Element, f)}
	logF := GetDomain(f).Log
	x.unshift = make([][]fr.Element, f)
	for b := 0; b < f; b++ {
		h := RootPow(n*f, Reverse(b, logF))
		if b > 0 {
			x.shift[b] = powers(h, n)
		}
		var hInv fr.Element
		hInv.Inverse(&h)
		x.unshift[b] = powers(hInv, n)
		v := fr.Vector(x.unshift[b])
		v.ScalarMul(v, &x.Dom.NInv)
	}
	extCache[[2]int{n, f}] = x
	return x
}

// Block writes block b (N bit-reversed evaluations) of the extension of the
// polynomial with natural-order coefficients coeffs (length N, not modified) into dst.
func (x *Extender) Block(dst, coeffs []fr.Element, b int) {
	dst = dst[:x.N]
	if b == 0 {
		copy(dst, coeffs[:x.N])
	} else {
		v := fr.Vector(dst)
		v.Mul(coeffs[:x.N], x.shift[b])
	}
	x.Dom.FFT(dst)
}

// Shift multiplies coefficients in place by the powers of block b's coset shift,
// so that Dom.FFT then yields block b. It is Block without the copy.
func (x *Extender) Shift(coeffs []fr.Element, b int) {
	if b != 0 {
		v := fr.Vector(coeffs[:x.N])
		v.Mul(v, fr.Vector(x.shift[b]))
	}
}

// Interpolate replaces block b's N bit-reversed evaluations (in a) by the
// polynomial's N natural-order coefficients: the inverse of Block.
func (x *Extender) Interpolate(a []fr.Element, b int) {
	a = a[:x.N]
	x.Dom.IFFTUnscaled(a)
	v := fr.Vector(a)
	v.Mul(v, x.unshift[b])
}
