package chain

import (
	"math"
	"math/big"
	"testing"
)

func near(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }

// The figures of docs/spec.md §4.2's table.
func TestSafetyBoundSpecFigures(t *testing.T) {
	if w, q := SafetyBound(256, 1024, 0.25); !near(w, 3.1e-9, 0.02) || !near(q, 3.2e-6, 0.02) {
		t.Errorf("S = 256, b = 1/4: %.3g per window, %.3g per quorum; want ≈ 3.1e-9 and ≤ 3.2e-6", w, q)
	}
	// b = 1/3 at S = 256: small per window, but 1024 starts make the union
	// bound useless (the spec's 8% of quorums is a simulation, not this).
	if w, q := SafetyBound(256, 1024, 1.0/3); !near(w, 2.9e-3, 0.02) || q != 1 {
		t.Errorf("S = 256, b = 1/3: %.3g per window, %.3g per quorum; want ≈ 2.9e-3 and 1", w, q)
	}
	if w, q := SafetyBound(1024, 1024, 1.0/3); !near(w, 1.4e-8, 0.02) || q != w {
		t.Errorf("S = M = 1024, b = 1/3: %.3g per window, %.3g per quorum; want ≈ 1.4e-8 for both", w, q)
	}
}

// Known answers: the exact tail in rational arithmetic (Python's
// fractions), to float64 precision.
func TestSafetyBoundKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		s    int
		b    float64
		want float64
	}{
		{256, 1.0 / 4, 3.0936156279021956e-09},
		{256, 1.0 / 3, 0.0028555304601924807},
		{512, 1.0 / 3, 3.9132929621430186e-05},
		{768, 1.0 / 3, 8.768863310351687e-07},
		{1024, 1.0 / 3, 1.4251842430065464e-08},
		{1024, 1.0 / 4, 1.2670781989620916e-31},
		{256, 1.0 / 5, 1.6458651932312312e-15},
		{12, 1.0 / 2, 3302.0 / 4096}, // ≥ 5 of 12: 1 − (1+12+66+220+495)/4096
	} {
		w, _ := SafetyBound(tc.s, 1<<16, tc.b)
		if !near(w, tc.want, 1e-9) {
			t.Errorf("S = %d, b = %.4g: %.17g, want %.17g", tc.s, tc.b, w, tc.want)
		}
	}
}

// binomialTail is P[Binomial(s, p/q) ≥ ⌈5s/12⌉] exactly:
// Σ_k C(s, k)·p^k·(q−p)^(s−k) / q^s.
func binomialTail(s int, p, q int64) *big.Rat {
	num := new(big.Int)
	for k := (5*s + 11) / 12; k <= s; k++ {
		t := new(big.Int).Binomial(int64(s), int64(k))
		t.Mul(t, new(big.Int).Exp(big.NewInt(p), big.NewInt(int64(k)), nil))
		t.Mul(t, new(big.Int).Exp(big.NewInt(q-p), big.NewInt(int64(s-k)), nil))
		num.Add(num, t)
	}
	return new(big.Rat).SetFrac(num, new(big.Int).Exp(big.NewInt(q), big.NewInt(int64(s)), nil))
}

// Every window size from 1 to 200 against the exact sum, and the quorum
// bound's three regimes.
func TestSafetyBoundExact(t *testing.T) {
	for _, b := range [][2]int64{{1, 4}, {1, 3}, {1, 2}, {1, 10}, {2, 3}} {
		bf := float64(b[0]) / float64(b[1])
		for s := 1; s <= 200; s++ {
			want, _ := binomialTail(s, b[0], b[1]).Float64()
			w, q := SafetyBound(s, 4*s, bf)
			if !near(w, want, 1e-10) {
				t.Fatalf("S = %d, b = %d/%d: %.17g, want %.17g", s, b[0], b[1], w, want)
			}
			if wantQ := math.Min(1, float64(4*s)*want); !near(q, wantQ, 1e-10) {
				t.Fatalf("S = %d, M = %d, b = %d/%d: per quorum %.17g, want %.17g", s, 4*s, b[0], b[1], q, wantQ)
			}
			if w2, q2 := SafetyBound(s, s, bf); w2 != w || q2 != w {
				t.Fatalf("S = M = %d: per quorum %g, want the window's %g", s, q2, w)
			}
		}
	}
	// ≥ 5/12 is ⌈5s/12⌉: s = 12 needs 5, s = 13 needs 6 (5·13/12 = 5.42).
	if w, _ := SafetyBound(13, 13, 0.5); !near(w, 1-float64(1+13+78+286+715+1287)/8192, 1e-12) {
		t.Errorf("s = 13: %v", w)
	}
	for _, tc := range []struct {
		s, m int
		b    float64
		w, q float64
	}{
		{256, 1024, 0, 0, 0}, {256, 1024, -1, 0, 0}, {256, 1024, math.NaN(), 0, 0},
		{256, 1024, 1, 1, 1}, {256, 1024, 2, 1, 1}, {0, 1024, 0.25, 0, 0}, {256, 0, 0.25, 0, 0},
	} {
		if w, q := SafetyBound(tc.s, tc.m, tc.b); w != tc.w || q != tc.q {
			t.Errorf("SafetyBound(%d, %d, %v) = %v, %v; want %v, %v", tc.s, tc.m, tc.b, w, q, tc.w, tc.q)
		}
	}
}
