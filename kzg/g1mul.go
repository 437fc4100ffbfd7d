package kzg

import (
	"math/big"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// g1Mul is a scalar prepared once for many G1 multiplications: the G1
// FFTs (twiddles ω^j) and the coset scales multiply thousands of points by
// the same few scalars. It is gnark-crypto's GLV method (s ≡ k1 + λ·k2
// mod r, |k1|, |k2| ≈ 2^128, φ(P) = λ·P with φ(x, y) = (βx, y); width-5
// NAF digits), with the scalar split and NAF digits computed once per
// scalar instead of per multiplication, and the odd multiples of φ(P)
// taken as φ of those of P (one field multiplication each, no additions).
// The result is the same point as G1Jac.ScalarMultiplication.
type g1Mul struct {
	one bool      // s = 1: a copy
	naf [2][]int8 // NAF digits of |k1|, |k2|, least significant first, signed as k1, k2
	gen bool      // the split is not short (not seen; kept for safety): use big
	big big.Int
}

const g1NafWindow = 5

var glv = sync.OnceValue(func() *glvParams {
	// λ = x0² − 1 for the BLS parameter x0 = −0xd201000000010000: a cube
	// root of unity mod r.
	x0 := new(big.Int).SetUint64(0xd201000000010000)
	p := &glvParams{}
	p.lambda.Mul(x0, x0).Sub(&p.lambda, big.NewInt(1))
	r := fr.Modulus()
	var chk big.Int
	chk.Mul(&p.lambda, &p.lambda).Add(&chk, &p.lambda).Add(&chk, big.NewInt(1)).Mod(&chk, r)
	if chk.Sign() != 0 {
		panic("kzg: λ is not a cube root of unity")
	}
	ecc.PrecomputeLattice(r, &p.lambda, &p.lattice)
	// β is the cube root of unity in Fp with φ(P) = λ·P: read off λ·G.
	_, _, g, _ := bls.Generators()
	var lg bls.G1Affine
	lg.ScalarMultiplication(&g, &p.lambda)
	var inv fp.Element
	inv.Inverse(&g.X)
	p.beta.Mul(&lg.X, &inv)
	if !lg.Y.Equal(&g.Y) {
		panic("kzg: λ·G is not φ(G)")
	}
	return p
})

type glvParams struct {
	lambda  big.Int
	lattice ecc.Lattice
	beta    fp.Element
}

// newG1Mul prepares s.
func newG1Mul(s *fr.Element) g1Mul {
	var m g1Mul
	if s.IsOne() {
		m.one = true
		return m
	}
	var sb big.Int
	s.BigInt(&sb)
	k := ecc.SplitScalar(&sb, &glv().lattice)
	for h := range k {
		if k[h].BitLen() > 130 {
			m.gen = true
			m.big.Set(&sb)
			return m
		}
		neg := k[h].Sign() < 0
		k[h].Abs(&k[h])
		digits := make([]int8, fr.Bits+2)
		n := ecc.WnafDecomposition(&k[h], g1NafWindow, digits)
		digits = digits[:n]
		if neg {
			for i := range digits {
				digits[i] = -digits[i]
			}
		}
		m.naf[h] = digits
	}
	return m
}

// mulAffine sets p = s·p one point at a time, in Jacobian coordinates:
// the lock-step path's fallback for scalars it does not take.
func (m *g1Mul) mulAffine(p *bls.G1Affine) {
	var q bls.G1Jac
	q.FromAffine(p)
	m.mul(&q, &q)
	p.FromJacobian(&q)
}

// mul sets p = s·q (p and q may alias).
func (m *g1Mul) mul(p, q *bls.G1Jac) {
	switch {
	case m.one:
		p.Set(q)
		return
	case m.gen:
		p.ScalarMultiplication(q, &m.big)
		return
	}
	// Odd multiples (2i+1)·q and their images under φ.
	var t, u [1 << (g1NafWindow - 2)]bls.G1Jac
	var two bls.G1Jac
	t[0].Set(q)
	two.Double(q)
	for i := 1; i < len(t); i++ {
		t[i].Set(&t[i-1]).AddAssign(&two)
	}
	beta := &glv().beta
	for i := range u {
		u[i].Set(&t[i])
		u[i].X.Mul(&u[i].X, beta)
	}
	n := max(len(m.naf[0]), len(m.naf[1]))
	var res bls.G1Jac
	res.Set(&g1Infinity)
	started := false
	for i := n - 1; i >= 0; i-- {
		if started {
			res.DoubleAssign()
		}
		for h, tab := range [2]*[len(t)]bls.G1Jac{&t, &u} {
			if i >= len(m.naf[h]) {
				continue
			}
			switch d := m.naf[h][i]; {
			case d > 0:
				res.AddAssign(&tab[(d-1)/2])
				started = true
			case d < 0:
				res.SubAssign(&tab[(-d-1)/2])
				started = true
			}
		}
	}
	p.Set(&res)
}

// g1Twiddles caches, per FFT size and root, the prepared ω^j for j < n/2.
var (
	twiddleMu    sync.Mutex
	twiddleCache = map[[2]fr.Element][]g1Mul{}
)

func g1Twiddles(n int, omega fr.Element) []g1Mul {
	var key [2]fr.Element
	key[0] = omega
	key[1].SetUint64(uint64(n))
	twiddleMu.Lock()
	defer twiddleMu.Unlock()
	if tw, ok := twiddleCache[key]; ok {
		return tw
	}
	tw := make([]g1Mul, n/2)
	var w fr.Element
	w.SetOne()
	for j := range tw {
		tw[j] = newG1Mul(&w)
		w.Mul(&w, &omega)
	}
	twiddleCache[key] = tw
	return tw
}
