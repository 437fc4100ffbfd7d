package hostcheck

import (
	"math/big"
	"testing"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
)

func fpEdges() []fp.Element {
	var e [6]fp.Element
	e[1].SetOne()
	e[2].Neg(&e[1])
	e[3].SetUint64(^uint64(0))
	q := fp.Modulus().Bits()
	e[4] = fp.Element{uint64(q[0]) - 1, uint64(q[1]), uint64(q[2]), uint64(q[3]), uint64(q[4]), uint64(q[5])}
	e[5] = fp.Element{1, 0, 0, 0, 0, 0}
	return e[:]
}

func TestFp(t *testing.T) {
	r := rng(t)
	var a, b []fp.Element
	for _, x := range fpEdges() {
		for _, y := range fpEdges() {
			a, b = append(a, x), append(b, y)
		}
	}
	for i := 0; i < 5000; i++ {
		var x, y fp.Element
		var buf [48]byte
		for j := range buf {
			buf[j] = byte(r.Uint32())
		}
		x.SetBytes(buf[:])
		for j := range buf {
			buf[j] = byte(r.Uint32())
		}
		y.SetBytes(buf[:])
		a, b = append(a, x), append(b, y)
	}
	for _, tc := range []struct {
		name string
		op   Op
		ref  func(z, x, y *fp.Element)
	}{
		{"add", Add, func(z, x, y *fp.Element) { z.Add(x, y) }},
		{"sub", Sub, func(z, x, y *fp.Element) { z.Sub(x, y) }},
		{"mul", Mul, func(z, x, y *fp.Element) { z.Mul(x, y) }},
	} {
		got := FpBinary(tc.op, a, b)
		for i := range a {
			var want fp.Element
			tc.ref(&want, &a[i], &b[i])
			if got[i] != want {
				t.Fatalf("fp %s(%s, %s) = %x, want %x", tc.name, a[i].String(), b[i].String(), got[i], want)
			}
		}
	}
	inv := FpInverse(a[:100])
	for i := range inv {
		var want fp.Element
		want.Inverse(&a[i])
		if inv[i] != want {
			t.Fatalf("fp inverse(%s) = %x, want %x", a[i].String(), inv[i], want)
		}
	}
}

// g1Points returns n pseudo-random points in Jacobian form with Z ≠ 1 (as
// scalar multiplication leaves them), plus their affine forms.
func g1Points(t *testing.T, n int) ([]bls12381.G1Jac, []bls12381.G1Affine) {
	r := rng(t)
	g, _, _, _ := bls12381.Generators()
	jac := make([]bls12381.G1Jac, n)
	aff := make([]bls12381.G1Affine, n)
	for i := range jac {
		k := new(big.Int).SetUint64(r.Uint64())
		k.Lsh(k, 64).Or(k, new(big.Int).SetUint64(r.Uint64()+1))
		jac[i].ScalarMultiplication(&g, k)
		aff[i].FromJacobian(&jac[i])
	}
	return jac, aff
}

func TestG1(t *testing.T) {
	const n = 24
	p, pa := g1Points(t, n)
	q, qa := g1Points(t, 2*n)
	q, qa = q[n:], qa[n:]
	var inf bls12381.G1Jac
	inf.X.SetOne()
	inf.Y.SetOne() // Z = 0
	var infA bls12381.G1Affine
	// Edge cases appended to the random pairs: P+P, P+(−P), ∞+P, P+∞, ∞+∞.
	var negP bls12381.G1Jac
	negP.Neg(&p[0])
	var negPA bls12381.G1Affine
	negPA.FromJacobian(&negP)
	lhs := append(append([]bls12381.G1Jac(nil), p...), p[1], p[2], inf, p[3], inf)
	rhs := append(append([]bls12381.G1Jac(nil), q...), p[1], negP, q[0], inf, inf)
	rhsA := append(append([]bls12381.G1Affine(nil), qa...), pa[1], negPA, qa[0], infA, infA)
	rhs[n+1] = p[2]
	rhs[n+1].Neg(&rhs[n+1])
	rhsA[n+1].FromJacobian(&rhs[n+1])

	want := make([]bls12381.G1Affine, len(lhs))
	for i := range lhs {
		var s bls12381.G1Jac
		s.Set(&lhs[i]).AddAssign(&rhs[i])
		want[i].FromJacobian(&s)
	}
	check := func(name string, got []bls12381.G1Affine, want []bls12381.G1Affine) {
		t.Helper()
		for i := range want {
			if !got[i].Equal(&want[i]) || got[i] != want[i] {
				t.Fatalf("%s case %d: got %s, want %s", name, i, got[i].String(), want[i].String())
			}
			if !got[i].IsInfinity() && !got[i].IsOnCurve() {
				t.Fatalf("%s case %d: result off the curve", name, i)
			}
		}
	}
	check("add", G1Add(lhs, rhs), want)
	check("add mixed", G1AddMixed(lhs, rhsA), want)

	dbl := make([]bls12381.G1Affine, len(lhs))
	for i := range lhs {
		var d bls12381.G1Jac
		d.Double(&lhs[i])
		dbl[i].FromJacobian(&d)
	}
	check("double", G1Double(lhs), dbl)
	affs := make([]bls12381.G1Affine, len(lhs))
	for i := range lhs {
		affs[i].FromJacobian(&lhs[i])
	}
	check("to affine", G1ToAffine(lhs), affs)
}
