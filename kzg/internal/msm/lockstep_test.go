package msm

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// glvTest is λ, the lattice and β for BLS12-381 G1 (as kzg's g1mul.go
// derives them).
func glvTest(t *testing.T) (*big.Int, *ecc.Lattice, *fp.Element) {
	t.Helper()
	x0 := new(big.Int).SetUint64(0xd201000000010000)
	lambda := new(big.Int).Mul(x0, x0)
	lambda.Sub(lambda, big.NewInt(1))
	var lat ecc.Lattice
	ecc.PrecomputeLattice(fr.Modulus(), lambda, &lat)
	_, _, g, _ := bls.Generators()
	var lg bls.G1Affine
	lg.ScalarMultiplication(&g, lambda)
	var beta fp.Element
	beta.Inverse(&g.X)
	beta.Mul(&beta, &lg.X)
	if !lg.Y.Equal(&g.Y) {
		t.Fatal("λ·G is not φ(G)")
	}
	return lambda, &lat, &beta
}

// wnaf returns k's signed width-5 NAF digits.
func wnaf(k *big.Int) []int8 {
	a := new(big.Int).Abs(k)
	d := make([]int8, a.BitLen()+2)
	d = d[:ecc.WnafDecomposition(a, 5, d)]
	if k.Sign() < 0 {
		for i := range d {
			d[i] = -d[i]
		}
	}
	return d
}

// digitsValue is Σ d_i·2^i.
func digitsValue(d []int8) *big.Int {
	v := new(big.Int)
	for i := len(d) - 1; i >= 0; i-- {
		v.Lsh(v, 1)
		v.Add(v, big.NewInt(int64(d[i])))
	}
	return v
}

// TestLockstepMul checks Lockstep.Mul against gnark-crypto's
// G1Jac.ScalarMultiplication on random points, infinity, repeated and
// negated points, for random GLV scalars, 0, 1 and digit strings whose last
// addition is a doubling (acc = φ(P)) or a cancellation (acc = −φ(P)), on
// both paths.
func TestLockstepMul(t *testing.T) {
	lambda, lat, beta := glvTest(t)
	rng := rand.New(rand.NewPCG(41, 42))
	base := randomPoints(t, 24, rng)
	pts := make([]bls.G1Affine, 0, 40)
	pts = append(pts, base...)
	pts = append(pts, bls.G1Affine{}, base[3], base[3], bls.G1Affine{})
	var neg bls.G1Affine
	neg.Neg(&base[5])
	pts = append(pts, neg, base[5], bls.G1Affine{}, base[0])
	lamDigits := wnaf(lambda)
	var nafs [][2][]int8
	for range 6 {
		var s fr.Element
		s.SetRandom()
		var sb big.Int
		s.BigInt(&sb)
		k := ecc.SplitScalar(&sb, lat)
		nafs = append(nafs, [2][]int8{wnaf(&k[0]), wnaf(&k[1])})
	}
	nafs = append(nafs,
		[2][]int8{nil, nil},                     // 0
		[2][]int8{{1}, nil},                     // 1
		[2][]int8{{0, 0, 0, -15, 0, 7}, {0, 1}}, // small
		[2][]int8{lamDigits, {1}},               // λP + φ(P): a doubling
		[2][]int8{lamDigits, {-1}},              // λP − φ(P): infinity
	)
	for _, vec := range []bool{false, true} {
		for _, size := range []int{len(pts), 5} {
			t.Run(fmt.Sprintf("vec=%v/n=%d", vec, size), func(t *testing.T) {
				withPath(t, vec, func(t *testing.T) {
					got := make([][]bls.G1Affine, len(nafs))
					jobs := make([]Job, len(nafs))
					for b := range nafs {
						got[b] = append([]bls.G1Affine(nil), pts[:size]...)
						jobs[b] = Job{Pts: ptrs(nil, got[b]), NAF: &nafs[b]}
					}
					var l Lockstep
					for range 2 { // reused scratch
						for b := range got {
							copy(got[b], pts[:size])
						}
						l.Mul(jobs, beta)
					}
					for b, naf := range nafs {
						s := digitsValue(naf[1])
						s.Mul(s, lambda)
						s.Add(s, digitsValue(naf[0]))
						s.Mod(s, fr.Modulus())
						for j := range got[b] {
							var want bls.G1Jac
							want.FromAffine(&pts[j])
							want.ScalarMultiplication(&want, s)
							var wa bls.G1Affine
							wa.FromJacobian(&want)
							if !wa.Equal(&got[b][j]) {
								t.Fatalf("job %d point %d: got %v, want %v", b, j, got[b][j], wa)
							}
						}
					}
				})
			})
		}
	}
}
