package chain

import (
	"math"
	"testing"
)

// The figures of docs/spec.md §4.2, and an exact small case.
func TestSafetyBound(t *testing.T) {
	near := func(got, want, rel float64) bool { return math.Abs(got-want) <= rel*want }
	if w, q := SafetyBound(256, 1024, 0.25); !near(w, 3.1e-9, 0.1) || !near(q, 3.2e-6, 0.1) {
		t.Errorf("S = 256, b = 1/4: %.3g per window, %.3g per quorum; want ≈ 3.1e-9, 3.2e-6", w, q)
	}
	if w, q := SafetyBound(1024, 1024, 1.0/3); !near(q, 1.4e-8, 0.15) || w > q {
		t.Errorf("S = M = 1024, b = 1/3: %.3g per window, %.3g per quorum; want ≈ 1.4e-8", w, q)
	}
	// S = 256, b = 1/3: small per window, but not over the 1024 starts.
	if w, q := SafetyBound(256, 1024, 1.0/3); w < 1e-3 || w > 1e-2 || q < 0.05 {
		t.Errorf("S = 256, b = 1/3: %.3g per window, %.3g per quorum", w, q)
	}
	// s = 12: need ≥ 5 of 12 at b = 1/2: 1 − (1+12+66+220+495)/4096.
	if w, _ := SafetyBound(12, 12, 0.5); !near(w, 3302.0/4096, 1e-12) {
		t.Errorf("s = 12, b = 1/2: %v, want %v", w, 3302.0/4096)
	}
}
