package kzg

import (
	"math/big"
	"math/rand/v2"
	"testing"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// TestG1MulMatchesGnark checks prepared scalars against
// G1Jac.ScalarMultiplication: roots of unity and their inverses (the
// twiddles), 1/K-style scales, edge values and random full-width scalars,
// on random points and on the identity.
func TestG1MulMatchesGnark(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	var scalars []fr.Element
	for _, n := range []int{2, 4, 128, 1024} {
		scalars = append(scalars, rootOfUnity(n, false), rootOfUnity(n, true))
	}
	var e fr.Element
	for _, v := range []uint64{0, 1, 2, 3, 7, 256} {
		e.SetUint64(v)
		scalars = append(scalars, e)
		var inv fr.Element
		inv.Inverse(&e)
		scalars = append(scalars, inv)
		e.Neg(&e)
		scalars = append(scalars, e)
	}
	for range 20 {
		e.SetUint64(rng.Uint64())
		var hi fr.Element
		hi.SetUint64(rng.Uint64())
		e.Mul(&e, &hi).Mul(&e, &hi).Mul(&e, &hi)
		scalars = append(scalars, e)
	}
	_, _, g, _ := bls.Generators()
	var base bls.G1Jac
	base.FromAffine(&g)
	points := []bls.G1Jac{base, g1Infinity}
	for range 3 {
		var p bls.G1Jac
		p.ScalarMultiplication(&base, new(big.Int).SetUint64(rng.Uint64()))
		points = append(points, p)
	}
	for i := range scalars {
		m := newG1Mul(&scalars[i])
		var sb big.Int
		scalars[i].BigInt(&sb)
		for j := range points {
			var want, got bls.G1Jac
			want.ScalarMultiplication(&points[j], &sb)
			got.Set(&points[j])
			m.mul(&got, &got) // aliased, as the FFTs call it
			if !got.Equal(&want) {
				t.Fatalf("scalar %d (%s), point %d: g1Mul differs from ScalarMultiplication", i, scalars[i].String(), j)
			}
		}
	}
}
