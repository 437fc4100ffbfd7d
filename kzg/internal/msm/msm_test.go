package msm

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// randomPoints returns n distinct points of G1 (multiples of the generator
// by random scalars, so no linear relation is known to the test).
func randomPoints(t testing.TB, n int, rng *rand.Rand) []bls.G1Affine {
	t.Helper()
	_, _, g, _ := bls.Generators()
	jac := make([]bls.G1Jac, n)
	for i := range jac {
		var s fr.Element
		s.SetUint64(rng.Uint64())
		s.Mul(&s, &s) // spread over the field
		var b big.Int
		s.BigInt(&b)
		var gj bls.G1Jac
		gj.FromAffine(&g)
		jac[i].ScalarMultiplication(&gj, &b)
	}
	return bls.BatchJacobianToAffineG1(jac)
}

func randomScalars(n int, rng *rand.Rand) []fr.Element {
	s := make([]fr.Element, n)
	for i := range s {
		s[i].SetRandom()
	}
	_ = rng
	return s
}

func reference(t testing.TB, points []bls.G1Affine, scalars []fr.Element) bls.G1Affine {
	t.Helper()
	var r bls.G1Affine
	if _, err := r.MultiExp(points, scalars, ecc.MultiExpConfig{}); err != nil {
		t.Fatal(err)
	}
	return r
}

func check(t *testing.T, name string, tab *Table, points []bls.G1Affine, scalars []fr.Element) {
	t.Helper()
	got, err := tab.MultiExp(scalars)
	if err != nil {
		t.Fatal(err)
	}
	var ga bls.G1Affine
	ga.FromJacobian(&got)
	if want := reference(t, points, scalars); !ga.Equal(&want) {
		t.Fatalf("%s: MultiExp differs from gnark-crypto's", name)
	}
}

func TestMultiExpMatchesGnark(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []int{4, 7, 8, 12} {
		points := randomPoints(t, 64, rng)
		tab, err := NewTable(points, c, 0)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "random", tab, points, randomScalars(64, rng))

		// Edge scalars: 0, 1, r−1, 2^k, 2^k−1, one digit at a window edge.
		edge := make([]fr.Element, 64)
		var minusOne fr.Element
		minusOne.SetOne()
		minusOne.Neg(&minusOne)
		for i := range edge {
			switch i % 6 {
			case 0:
				edge[i].SetZero()
			case 1:
				edge[i].SetOne()
			case 2:
				edge[i] = minusOne
			case 3:
				edge[i].SetBigInt(new(big.Int).Lsh(big.NewInt(1), uint(i*4%255)))
			case 4:
				edge[i].SetBigInt(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(i*3%255)), big.NewInt(1)))
			case 5:
				edge[i].SetUint64(1 << (c - 1))
			}
		}
		check(t, "edge scalars", tab, points, edge)
		check(t, "all zero", tab, points, make([]fr.Element, 64))
	}
}

// TestMultiExpDegenerateBases forces the exact-arithmetic branches: equal
// points in one bucket (doubling), P and −P in one bucket (cancellation) and
// points at infinity.
func TestMultiExpDegenerateBases(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := randomPoints(t, 4, rng)
	var negP0 bls.G1Affine
	negP0.Neg(&p[0])
	bases := []bls.G1Affine{p[0], p[0], p[0], negP0, {}, p[1], p[1], {}, negP0, p[2], p[3], p[3]}
	tab, err := NewTable(bases, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	same := make([]fr.Element, len(bases))
	for i := range same {
		same[i].SetUint64(7) // every point lands in the same bucket
	}
	check(t, "same digit", tab, bases, same)
	check(t, "random", tab, bases, randomScalars(len(bases), rng))
	var minusOne fr.Element
	minusOne.SetOne()
	minusOne.Neg(&minusOne)
	for i := range same {
		same[i] = minusOne
	}
	check(t, "minus one", tab, bases, same)
}

func TestMultiExpGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	points := randomPoints(t, 96, rng)
	tab, err := NewTable(points, 6, 0)
	if err != nil {
		t.Fatal(err)
	}
	scalars := randomScalars(96, rng)
	got, err := tab.MultiExpGroups(scalars, 32, 0)
	if err != nil {
		t.Fatal(err)
	}
	for g := 0; g < 3; g++ {
		var ga bls.G1Affine
		ga.FromJacobian(&got[g])
		want := reference(t, points[g*32:(g+1)*32], scalars[g*32:(g+1)*32])
		if !ga.Equal(&want) {
			t.Fatalf("group %d differs", g)
		}
	}
	if _, err := tab.MultiExpGroups(scalars, 40, 0); err == nil {
		t.Fatal("group size 40 of 96 bases accepted")
	}
	if _, err := tab.MultiExp(scalars[:5]); err == nil {
		t.Fatal("5 scalars for 96 bases accepted")
	}
	if _, err := NewTable(points, 3, 0); err == nil {
		t.Fatal("window width 3 accepted")
	}
}

func BenchmarkMultiExp(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	points := randomPoints(b, 4096, rng)
	scalars := randomScalars(4096, rng)
	for _, c := range []int{10, 11, 12, 13} {
		tab, _ := NewTable(points, c, 0)
		b.Run("fixed/c"+string(rune('0'+c/10))+string(rune('0'+c%10)), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				tab.MultiExp(scalars)
			}
		})
	}
	b.Run("gnark", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var r bls.G1Affine
			r.MultiExp(points, scalars, ecc.MultiExpConfig{NbTasks: 1})
		}
	})
}
