package chain

import "math"

// SafetyBound is the chance that faulty nodes, holding a share b of a
// quorum's tickets, hold 5/12 or more of a window of s slots
// (docs/spec.md §4.2): perWindow = P[Binomial(s, b) ≥ ⌈5s/12⌉], and
// perQuorum ≈ m·perWindow when s < m (a disperser can pick any of the m
// window starts by reordering its batch: a union bound, loose once it
// nears 1, and capped at 1), perWindow when the
// window is the whole quorum. Below 5/12 a certificate is safe:
// the honest signed share exceeds the 1/4 of the rows needed to decode.
func SafetyBound(s, m int, b float64) (perWindow, perQuorum float64) {
	need := (5*s + 11) / 12
	lb, lq := math.Log(b), math.Log1p(-b)
	ls1, _ := math.Lgamma(float64(s) + 1)
	for k := need; k <= s; k++ {
		lk, _ := math.Lgamma(float64(k) + 1)
		lr, _ := math.Lgamma(float64(s-k) + 1)
		perWindow += math.Exp(ls1 - lk - lr + float64(k)*lb + float64(s-k)*lq)
	}
	if s >= m {
		return perWindow, perWindow
	}
	return perWindow, math.Min(1, float64(m)*perWindow)
}
