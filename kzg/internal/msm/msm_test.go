package msm

import (
	"fmt"
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

// shortScalars returns n scalars below 2^bits (bits ≤ 256 − 8), as rows of
// packed payload are.
func shortScalars(n, bits int, rng *rand.Rand) []fr.Element {
	s := make([]fr.Element, n)
	for i := range s {
		var b [32]byte
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		v := new(big.Int).SetBytes(b[:])
		s[i].SetBigInt(v.Rsh(v, uint(256-bits)))
	}
	return s
}

// check compares MultiExp, and the sum of MultiExpPart's parts for a few
// splits, with gnark-crypto's MultiExp.
func check(t *testing.T, name string, tab *Table, points []bls.G1Affine, scalars []fr.Element) {
	t.Helper()
	want := reference(t, points, scalars)
	for _, parts := range []int{1, 2, 3, 5} {
		sum := infinity
		for part := range parts {
			got, err := tab.MultiExpPart(scalars, part, parts)
			if err != nil {
				t.Fatal(err)
			}
			sum.AddAssign(&got)
		}
		var ga bls.G1Affine
		ga.FromJacobian(&sum)
		if !ga.Equal(&want) {
			t.Fatalf("%s: %d parts differ from gnark-crypto's MultiExp", name, parts)
		}
	}
	got, err := tab.MultiExp(scalars)
	if err != nil {
		t.Fatal(err)
	}
	var ga bls.G1Affine
	ga.FromJacobian(&got)
	if !ga.Equal(&want) {
		t.Fatalf("%s: MultiExp differs from gnark-crypto's", name)
	}
}

func TestMultiExpMatchesGnark(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []int{4, 7, 8, 12, 13, 14} {
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
		check(t, "248-bit", tab, points, shortScalars(64, 248, rng))
		check(t, "64-bit", tab, points, shortScalars(64, 64, rng))
		top := make([]fr.Element, 64) // one scalar with the top bit, the rest short
		copy(top, shortScalars(64, 248, rng))
		top[17] = minusOne
		check(t, "one full-width", tab, points, top)
	}
}

// TestMultiExpManyBases runs enough points for many batches, spill
// reductions in the middle of the stream and every lane of the running sums.
func TestMultiExpManyBases(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 2048 random points")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	points := randomPoints(t, 2048, rng)
	tab, err := NewTable(points, 13, 0)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "random", tab, points, randomScalars(len(points), rng))
	check(t, "248-bit", tab, points, shortScalars(len(points), 248, rng))
	// Digit 7 in 19 windows of every scalar: all points in one bucket, so
	// nearly all spill, many times over the spill's capacity.
	seven := new(big.Int)
	for k := range 19 {
		seven.Add(seven, new(big.Int).Lsh(big.NewInt(7), uint(13*k)))
	}
	same := make([]fr.Element, len(points))
	for i := range same {
		same[i].SetBigInt(seven)
	}
	check(t, "same digit", tab, points, same)
	for i := range same {
		same[i].SetUint64(uint64(i%3 + 1)) // three buckets, P and 2P, 3P of other bases
	}
	check(t, "three digits", tab, points, same)

	// P_i and −P_i with equal scalars: every bucket cancels to infinity.
	pm := make([]bls.G1Affine, len(points))
	for i := range pm {
		pm[i] = points[i/2]
		if i%2 == 1 {
			pm[i].Neg(&pm[i])
		}
	}
	tab, err = NewTable(pm, 13, 0)
	if err != nil {
		t.Fatal(err)
	}
	pair := shortScalars(len(pm), 248, rng)
	for i := 1; i < len(pair); i += 2 {
		pair[i] = pair[i-1]
	}
	check(t, "P and −P", tab, pm, pair)
	pair[5].SetUint64(12345) // all but one pair cancel
	check(t, "P and −P but one", tab, pm, pair)
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
	check(t, "248-bit", tab, bases, shortScalars(len(bases), 248, rng))
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
	if _, err := tab.MultiExpPart(scalars, 2, 2); err == nil {
		t.Fatal("part 2 of 2 accepted")
	}
	if _, err := NewTable(points, 3, 0); err == nil {
		t.Fatal("window width 3 accepted")
	}
}

func BenchmarkMultiExp(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	points := randomPoints(b, 4096, rng)
	scalars := shortScalars(4096, 248, rng) // a row of payload
	for _, c := range []int{12, 13, 14, 15} {
		var tab *Table // built by the first benchmark that needs it
		table := func(b *testing.B) *Table {
			if tab == nil {
				tab, _ = NewTable(points, c, 0)
			}
			return tab
		}
		name := fmt.Sprintf("4096/c%d", c)
		b.Run(name, func(b *testing.B) {
			tab := table(b)
			b.SetBytes(4096 * 31)
			b.ReportAllocs()
			for b.Loop() {
				tab.MultiExp(scalars)
			}
		})
		// Both halves of a split MSM, one after the other: the cost of
		// splitting.
		b.Run(name+"/2parts", func(b *testing.B) {
			tab := table(b)
			b.SetBytes(4096 * 31)
			b.ReportAllocs()
			for b.Loop() {
				tab.MultiExpPart(scalars, 0, 2)
				tab.MultiExpPart(scalars, 1, 2)
			}
		})
	}
	b.Run("4096/gnark", func(b *testing.B) {
		b.SetBytes(4096 * 31)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var r bls.G1Affine
			r.MultiExp(points, scalars, ecc.MultiExpConfig{NbTasks: 1})
		}
	})
}
