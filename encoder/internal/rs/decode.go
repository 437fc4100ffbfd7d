package rs

import (
	"fmt"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Decoder recovers a polynomial P of degree < K from its evaluations on H_N
// (bit-reversed order) when whole units are missing. The N positions form
// U = N/W units of W consecutive bit-reversed positions; unit u is the coset
// ω_N^{brp_U(u)}·H_W, whose vanishing polynomial is x^W − ω_U^{brp_U(u)}. (W = 64,
// N = 8192, K = 4096 are EIP-7594's cells; W = 1 gives single points, as in
// column decoding.)
//
// The method is EIP-7594 recover_cells': with Z(x) = Π_{u missing}(x^W − ω_U^{brp_U(u)})
// and E the evaluations (zero where missing), D = interpolant of E·Z on H_N equals
// P·Z, and P = D/Z is computed on a coset g·H_K where Z has no roots. Since deg P < K,
// the division needs only K points: D is reduced mod x^K − g^K (which leaves its
// values on g·H_K unchanged) before a size-K coset FFT. It is exact when
// W·|missing| ≤ N − K.
//
// A Decoder is built per erasure pattern (O(|missing|·U + U log U) work) and is
// then safe for concurrent use.
type Decoder struct {
	N, W, U, K int
	base       *decoderBase
	zs         []fr.Element // Z on unit u of H_N (zero where missing)
	zsCosInv   []fr.Element // 1/Z on block p/W of g·H_K (bit-reversed)
	missing    []bool
}

// decoderBase holds the pattern-independent tables for (N, K).
type decoderBase struct {
	domN, domK *Domain
	foldPow    []fr.Element // (g^K)^m, m < N/K
	fwd        []fr.Element // g^r / N, r < K: coset shift and D's IFFT scaling
	back       []fr.Element // g^−r / K, r < K
}

var (
	baseMu    sync.Mutex
	baseCache = map[[2]int]*decoderBase{}
)

func getBase(n, k int) *decoderBase {
	baseMu.Lock()
	defer baseMu.Unlock()
	if b, ok := baseCache[[2]int{n, k}]; ok {
		return b
	}
	b := &decoderBase{domN: GetDomain(n), domK: GetDomain(k)}
	g := CosetShift()
	var gk, gInv fr.Element
	gk.Exp(g, bigInt(k))
	b.foldPow = powers(gk, n/k)
	b.fwd = powers(g, k)
	v := fr.Vector(b.fwd)
	v.ScalarMul(v, &b.domN.NInv)
	gInv.Inverse(&g)
	b.back = powers(gInv, k)
	v = fr.Vector(b.back)
	v.ScalarMul(v, &b.domK.NInv)
	baseCache[[2]int{n, k}] = b
	return b
}

// NewDecoder builds the decoder for domain size n, unit width w, degree bound k
// (powers of two, w ≤ k ≤ n) and the given missing units (each in [0, n/w), no
// repeats, w·len(missing) ≤ n − k).
func NewDecoder(n, w, k int, missing []int) (*Decoder, error) {
	if w <= 0 || k < w || n < k || n%k != 0 || k%w != 0 || n > 1<<MaxLogN {
		return nil, fmt.Errorf("rs: bad decoder shape n=%d w=%d k=%d", n, w, k)
	}
	u := n / w
	if w*len(missing) > n-k {
		return nil, fmt.Errorf("rs: %d of %d units missing, at most %d decodable", len(missing), u, (n-k)/w)
	}
	dc := &Decoder{N: n, W: w, U: u, K: k, base: getBase(n, k), missing: make([]bool, u)}
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
	// Zs on g^W·H_L, L = K/W: position p of g·H_K (bit-reversed) maps under x ↦ x^W
	// to g^W·ω_L^{brp_L(p/W)}. Reduce Zs mod y^L − g^K, shift by g^W, FFT.
	l := k / w
	g := CosetShift()
	var gw, gk fr.Element
	gw.Exp(g, bigInt(w))
	gk.Exp(g, bigInt(k))
	zf := make([]fr.Element, l)
	var c fr.Element
	c.SetOne()
	for m := 0; m*l < u; m++ {
		for r := 0; r < l; r++ {
			var t fr.Element
			t.Mul(&zc[m*l+r], &c)
			zf[r].Add(&zf[r], &t)
		}
		c.Mul(&c, &gk)
	}
	gwp := powers(gw, l)
	zv := fr.Vector(zf)
	zv.Mul(zv, gwp)
	GetDomain(l).FFT(zf)
	dc.zsCosInv = fr.BatchInvert(zf)
	return dc, nil
}

// Missing reports whether unit u is missing.
func (dc *Decoder) Missing(u int) bool { return dc.missing[u] }

// Decode takes e (N evaluations on H_N in bit-reversed order; values at missing
// positions are ignored; e is scratch) and returns e[:K] holding the K
// natural-order coefficients of the polynomial of degree < K through the known
// evaluations.
func (dc *Decoder) Decode(e []fr.Element) []fr.Element {
	b := dc.base
	n, k, w := dc.N, dc.K, dc.W
	e = e[:n]
	// E·Z on H_N.
	for u := 0; u < dc.U; u++ {
		blk := fr.Vector(e[u*w : (u+1)*w])
		if dc.missing[u] {
			clear(blk)
			continue
		}
		scaleBlock(blk, &dc.zs[u])
	}
	b.domN.IFFTUnscaled(e) // N·D
	// D mod x^K − g^K, then shifted by g^r and scaled by 1/N.
	acc := fr.Vector(e[:k])
	for m := 1; m < n/k; m++ {
		v := fr.Vector(e[m*k : (m+1)*k])
		v.ScalarMul(v, &b.foldPow[m])
		acc.Add(acc, v)
	}
	acc.Mul(acc, b.fwd)
	b.domK.FFT(acc) // D on g·H_K
	for p := 0; p < k; p += w {
		scaleBlock(acc[p:p+w], &dc.zsCosInv[p/w])
	}
	b.domK.IFFTUnscaled(acc) // K·P(g·x)
	acc.Mul(acc, b.back)
	return acc
}

func scaleBlock(v fr.Vector, s *fr.Element) {
	if len(v) == 1 {
		v[0].Mul(&v[0], s)
		return
	}
	v.ScalarMul(v, s)
}
