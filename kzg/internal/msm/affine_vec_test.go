package msm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

// withPath runs f with the vector path on or off. The vector path runs
// everywhere (fp52 falls back to pure Go without AVX-512 IFMA), so both
// paths are tested on every machine.
func withPath(t *testing.T, vec bool, f func(t *testing.T)) {
	old := useVec
	useVec = vec
	defer func() { useVec = old }()
	f(t)
}

// TestPaths runs the MultiExp tests on the scalar and the vector path,
// whichever is the default here.
func TestPaths(t *testing.T) {
	for _, path := range []struct {
		name string
		vec  bool
	}{{"scalar", false}, {"vector", true}} {
		t.Run(path.name, func(t *testing.T) {
			withPath(t, path.vec, func(t *testing.T) {
				t.Run("MatchesGnark", TestMultiExpMatchesGnark)
				t.Run("ManyBases", TestMultiExpManyBases)
				t.Run("DegenerateBases", TestMultiExpDegenerateBases)
				t.Run("Groups", TestMultiExpGroups)
				t.Run("Add3", TestAdd3)
			})
		})
	}
}

// TestAdd3 checks one batch of every kind of addition (plain, doubling,
// P + (−P), infinity on either side) against gnark-crypto's Jacobian
// arithmetic, with operands that are the results of later pairs.
func TestAdd3(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	pts := randomPoints(t, 64, rng)
	const n = 100
	a := make([]bls.G1Affine, n)
	q := make([]bls.G1Affine, n)
	for j := range a {
		a[j], q[j] = pts[j%64], pts[(j*7+3)%64]
		switch j % 23 {
		case 5:
			q[j] = a[j] // doubling
		case 9:
			q[j].Neg(&a[j]) // cancellation
		case 13:
			q[j] = bls.G1Affine{}
		case 17:
			a[j] = bls.G1Affine{}
		}
	}
	want := make([]bls.G1Affine, n)
	for j := range want {
		var s, b bls.G1Jac
		s.FromAffine(&a[j])
		b.FromAffine(&q[j])
		s.AddAssign(&b)
		want[j].FromJacobian(&s)
	}
	// dst[j] = a[j]; q[j] is read from dst[j+1] for even j, before pair
	// j+1 writes it.
	dst := append([]bls.G1Affine(nil), a...)
	src := append([]bls.G1Affine(nil), q...)
	dp, sp := make([]*bls.G1Affine, n), make([]*bls.G1Affine, n)
	for j := range dp {
		dp[j], sp[j] = &dst[j], &src[j]
		if j%2 == 0 && j+1 < n {
			dst[j+1] = q[j] // pair j's operand, then pair j+1's
			sp[j] = &dst[j+1]
		}
	}
	// Pair j+1 then reads dst[j+1] = q[j] as its first operand: recompute
	// its expected sum.
	for j := 1; j < n; j += 2 {
		var s, b bls.G1Jac
		s.FromAffine(&q[j-1])
		b.FromAffine(&q[j])
		s.AddAssign(&b)
		want[j].FromJacobian(&s)
	}
	var s scratch
	s.addInto(dp, sp, true)
	for j := range dst {
		if !dst[j].Equal(&want[j]) {
			t.Fatalf("pair %d: wrong sum", j)
		}
	}
}

// BenchmarkMultiExpPath compares the scalar and the vector path in one run.
func BenchmarkMultiExpPath(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	points := randomPoints(b, 4096, rng)
	scalars := shortScalars(4096, 248, rng) // a row of payload
	full := randomScalars(64, rng)          // an FK20 MSM: 64 bases, c = 8
	for _, cs := range []struct{ n, c int }{{4096, 12}, {4096, 13}, {4096, 14}, {4096, 15}, {64, 8}} {
		n, c := cs.n, cs.c
		tab, err := NewTable(points[:n], c, 0)
		if err != nil {
			b.Fatal(err)
		}
		scalars := scalars
		if n == 64 {
			scalars = full
		}
		for _, vec := range []bool{false, true} {
			name := map[bool]string{false: "scalar", true: "vector"}[vec]
			b.Run(fmt.Sprintf("%d/c%d/%s", n, c, name), func(b *testing.B) {
				old := useVec
				useVec = vec
				defer func() { useVec = old }()
				b.SetBytes(int64(n) * 31)
				b.ReportAllocs()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0 := threadCPU()
				for b.Loop() {
					tab.MultiExp(scalars)
				}
				b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// threadCPU is the CPU time of the calling thread (locked by the caller), in
// nanoseconds: on a shared machine it moves far less with the other
// processes' load than wall time.
func threadCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// TestAdd3Sizes compares the vector and the scalar path on batches around
// the vector threshold and every padding of the last group of 8, with a few
// exceptional pairs mixed in.
func TestAdd3Sizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	pts := randomPoints(t, 97, rng)
	for _, n := range []int{vecMin - 1, vecMin, vecMin + 1, 23, 24, 25, 31, 33, 64, 257} {
		a := make([]bls.G1Affine, n)
		q := make([]bls.G1Affine, n)
		for j := range a {
			a[j], q[j] = pts[rng.IntN(len(pts))], pts[rng.IntN(len(pts))]
			if rng.IntN(10) == 0 {
				q[j] = a[j] // doubling (or a pair the draw made equal anyway)
			}
		}
		results := make([][]bls.G1Affine, 2)
		for i, vec := range []bool{false, true} {
			withPath(t, vec, func(t *testing.T) {
				dst := append([]bls.G1Affine(nil), a...)
				dp, sp := make([]*bls.G1Affine, n), make([]*bls.G1Affine, n)
				for j := range dp {
					dp[j], sp[j] = &dst[j], &q[j]
				}
				var s scratch
				s.addInto(dp, sp, false)
				results[i] = dst
			})
		}
		for j := range results[0] {
			if !results[0][j].Equal(&results[1][j]) {
				t.Fatalf("n=%d pair %d: vector and scalar sums differ", n, j)
			}
			var s, b bls.G1Jac
			s.FromAffine(&a[j])
			b.FromAffine(&q[j])
			s.AddAssign(&b)
			var want bls.G1Affine
			want.FromJacobian(&s)
			if !results[1][j].Equal(&want) {
				t.Fatalf("n=%d pair %d: wrong sum", n, j)
			}
		}
	}
}
