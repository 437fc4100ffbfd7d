package msm

import (
	"math/bits"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

// Bucket reduction: from bucket sums B_j, the weighted sums Σ_j B_j and
// Σ_j j·B_j. The running-sum trick (R_j = Σ_{j'≥j} B_j', Σ_j j·B_j =
// Σ_{j≥1} R_j) costs two additions a bucket, but each depends on the
// previous one. Cutting the buckets into lanes that advance in lock step
// makes the additions of one step independent, so they are affine additions
// sharing one inversion instead of Jacobian ones; a step also adds the
// previous step's R into the lane's sum (sum += R_{t+1} while R_t = R_{t+1}
// + B_t), so both additions of a bucket go into the same batch. The few lane
// results are combined in Jacobian coordinates.

// laneCount balances the inversions of the lock-step phase (one per step,
// nb/lanes steps) against the Jacobian additions of the combination (three
// per lane): about sqrt(nb) lanes.
func laneCount(nb int) int {
	return 1 << (bits.Len(uint(nb)) / 2)
}

// bucketSums returns Σ_j B_j and Σ_j j·B_j over the buckets (infinity =
// empty). buckets is only read.
func (s *scratch) bucketSums(buckets []bls.G1Affine) (s0, s1 bls.G1Jac) {
	nb := len(buckets)
	lanes := laneCount(nb)
	steps := (nb + lanes - 1) / lanes
	s.sum = grow(s.sum, lanes)
	s.run = grow(s.run, lanes)
	clear(s.sum)
	clear(s.run)
	var empty bls.G1Affine
	dst := grow(s.dst, 2*lanes)[:0]
	src := grow(s.src, 2*lanes)[:0]
	for t := steps - 1; t >= 0; t-- {
		dst, src = dst[:0], src[:0]
		for l := range lanes {
			if t < steps-1 {
				dst = append(dst, &s.sum[l])
				src = append(src, &s.run[l]) // read before the next pair writes it
			}
			dst = append(dst, &s.run[l])
			if j := l*steps + t; j < nb {
				src = append(src, &buckets[j])
			} else {
				src = append(src, &empty)
			}
		}
		s.addInto(dst, src, true)
	}
	s.dst, s.src = dst, src

	// Lane l holds run = Σ_t B_{l·steps+t} and sum = Σ_t t·B_{l·steps+t}, so
	// Σ_j j·B_j = Σ_l sum_l + steps·Σ_l l·run_l; the last term is one more
	// running sum, over the lanes.
	var r, lr, sums bls.G1Jac
	r, lr, sums = infinity, infinity, infinity
	for l := lanes - 1; l >= 0; l-- {
		r.AddMixed(&s.run[l])
		if l > 0 {
			lr.AddAssign(&r)
		}
		sums.AddMixed(&s.sum[l])
	}
	mulSmall(&lr, steps)
	sums.AddAssign(&lr)
	return r, sums
}

// mulSmall sets p = k·p for a small k ≥ 1 by double-and-add.
func mulSmall(p *bls.G1Jac, k int) {
	q := *p
	for i := bits.Len(uint(k)) - 2; i >= 0; i-- {
		p.DoubleAssign()
		if k>>i&1 == 1 {
			p.AddAssign(&q)
		}
	}
}
