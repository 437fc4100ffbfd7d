package chain

import "math"

// SafetyBound is the chance that faulty nodes, holding a share b of a
// quorum's tickets, hold 5/12 or more of a window of s slots
// (docs/spec.md §4.2): perWindow = P[Binomial(s, b) ≥ ⌈5s/12⌉], summed
// exactly term by term in float64 (binomial coefficients through
// math.Lgamma). perQuorum bounds the chance that some window of a quorum of
// m slots is unsafe, which is what matters because a disperser can pick any
// of the m window starts by reordering its batch: m·perWindow by the union
// bound, capped at 1 (where it no longer says anything), and perWindow
// itself when s ≥ m (every start gives the whole quorum). Below 5/12 a
// certificate is safe: the honest signed share exceeds the 1/4 of the rows
// needed to decode. b outside (0, 1) gives 0 or 1; s or m below 1 gives 0.
func SafetyBound(s, m int, b float64) (perWindow, perQuorum float64) {
	switch {
	case s < 1 || m < 1 || b <= 0 || math.IsNaN(b):
		return 0, 0
	case b >= 1:
		return 1, 1
	}
	need := (5*s + 11) / 12
	lb, lq := math.Log(b), math.Log1p(-b)
	ls, _ := math.Lgamma(float64(s) + 1)
	for k := need; k <= s; k++ {
		lk, _ := math.Lgamma(float64(k) + 1)
		lr, _ := math.Lgamma(float64(s-k) + 1)
		perWindow += math.Exp(ls - lk - lr + float64(k)*lb + float64(s-k)*lq)
	}
	perWindow = math.Min(1, perWindow)
	if s >= m {
		return perWindow, perWindow
	}
	return perWindow, math.Min(1, float64(m)*perWindow)
}
