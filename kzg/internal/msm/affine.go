package msm

import (
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"

	"github.com/zgda/zgda/kzg/internal/fp52"
)

// Batched affine arithmetic. An affine addition needs one field inversion;
// Montgomery's trick shares one inversion among a batch of independent
// additions for three multiplications each, so a batched affine addition
// costs about 6 multiplications against 11 for a mixed Jacobian one. Every
// routine here is exact: doublings, P + (−P) and the point at infinity
// ((0,0) in gnark's affine encoding) are all handled.

// Kinds of one addition in a batch.
const (
	kindAdd    = iota // distinct x: λ = (y2−y1)/(x2−x1)
	kindDouble        // same point: λ = 3x²/(2y)
	kindFirst         // second is infinity: result is the first
	kindSecond        // first is infinity: result is the second
	kindZero          // P + (−P): result is infinity
)

// classify returns the kind of a + q and, for kindAdd and kindDouble, sets
// den to the denominator of λ.
func classify(a, q *bls.G1Affine, den *fp.Element) uint8 {
	if q.IsInfinity() {
		return kindFirst
	}
	if a.IsInfinity() {
		return kindSecond
	}
	den.Sub(&q.X, &a.X)
	if !den.IsZero() {
		return kindAdd
	}
	if a.Y.Equal(&q.Y) && !a.Y.IsZero() {
		den.Double(&a.Y)
		return kindDouble
	}
	return kindZero
}

// chord sets dst = a + q for kindAdd or kindDouble, where inv is the inverse
// of the denominator classify gave. dst may alias a or q.
func chord(dst, a, q *bls.G1Affine, kind uint8, inv *fp.Element) {
	var lambda, t, x3 fp.Element
	if kind == kindDouble {
		lambda.Square(&a.X)
		t.Double(&lambda)
		lambda.Add(&lambda, &t)
	} else {
		lambda.Sub(&q.Y, &a.Y)
	}
	lambda.Mul(&lambda, inv)
	x3.Square(&lambda)
	x3.Sub(&x3, &a.X)
	x3.Sub(&x3, &q.X)
	t.Sub(&a.X, &x3)
	t.Mul(&t, &lambda)
	dst.Y.Sub(&t, &a.Y)
	dst.X = x3
}

// addInto sets *dst[j] = *dst[j] + *src[j] for every j with one shared
// inversion. Every pair is read before any later pair is written, so a src
// may be the dst of a later pair (the running sums rely on this); no dst may
// appear twice. Unless mayInf, no operand is the point at infinity.
func (s *scratch) addInto(dst, src []*bls.G1Affine, mayInf bool) {
	s.add3(dst, dst, src, mayInf)
}

// add3 sets *dst[j] = *a[j] + *q[j] for every j, under addInto's rules (an
// operand of a pair may be the dst of a later pair, not of an earlier one;
// no dst appears twice). It reports whether some sum is the point at
// infinity (P + (−P)).
func (s *scratch) add3(dst, a, q []*bls.G1Affine, mayInf bool) bool {
	if !useVec || len(dst) < vecMin {
		return s.add3Scalar(dst, a, q, mayInf)
	}
	// Plain additions go to the vector path, the rest (doublings,
	// cancellations, infinity: rare) to the scalar one. The vector pairs
	// are read first and written last, so neither path sees a write of the
	// other before its reads.
	vd, va, vq := s.vd[:0], s.va[:0], s.vq[:0]
	sd, sa, sq := s.sd[:0], s.sa[:0], s.sq[:0]
	for j := range dst {
		if a[j].X == q[j].X || mayInf && (a[j].IsInfinity() || q[j].IsInfinity()) {
			sd, sa, sq = append(sd, dst[j]), append(sa, a[j]), append(sq, q[j])
			continue
		}
		vd, va, vq = append(vd, dst[j]), append(va, a[j]), append(vq, q[j])
	}
	if len(vd) < vecMin {
		s.vd, s.va, s.vq, s.sd, s.sa, s.sq = vd, va, vq, sd, sa, sq
		return s.add3Scalar(dst, a, q, mayInf)
	}
	for len(vd)%fp52.Lanes != 0 { // pad with copies of the first pair
		vd, va, vq = append(vd, vd[0]), append(va, va[0]), append(vq, vq[0])
	}
	s.vd, s.va, s.vq, s.sd, s.sa, s.sq = vd, va, vq, sd, sa, sq
	s.vec.load(va, vq)
	zero := false
	if len(sd) > 0 {
		zero = s.add3Scalar(sd, sa, sq, mayInf)
	}
	s.vec.store(vd)
	return zero
}

// add3Scalar is add3 in gnark-crypto's scalar arithmetic.
func (s *scratch) add3Scalar(dst, a, q []*bls.G1Affine, mayInf bool) bool {
	s.kind = grow(s.kind, len(dst))
	s.den = grow(s.den, len(dst))
	n := 0
	for j := range dst {
		if !mayInf {
			s.den[n].Sub(&q[j].X, &a[j].X)
			if !s.den[n].IsZero() {
				s.kind[j] = kindAdd
				n++
				continue
			}
		}
		s.kind[j] = classify(a[j], q[j], &s.den[n])
		if s.kind[j] <= kindDouble {
			n++
		}
	}
	s.inv = grow(s.inv, n)
	batchInvert(s.den[:n], s.inv[:n])
	n = 0
	zero := false
	for j := range dst {
		switch s.kind[j] {
		case kindAdd, kindDouble:
			chord(dst[j], a[j], q[j], s.kind[j], &s.den[n])
			n++
		case kindFirst:
			*dst[j] = *a[j]
		case kindSecond:
			*dst[j] = *q[j]
		case kindZero:
			*dst[j] = bls.G1Affine{}
			zero = true
		}
	}
	return zero
}

// sumBuckets reduces every bucket b (points pts[off[b] : off[b]+count[b]])
// to a single point at pts[off[b]], in rounds: a bucket of L points becomes
// ceil(L/2) points a round, and all pairs of a round share one inversion.
// No bucket conflict can occur, so this is the schedule for inputs where
// many points fall into few buckets. Checks for the point at infinity are
// skipped until one can occur (a point at infinity in the input, or a sum
// P + (−P) in an earlier round): they cost a tenth of the time.
func (s *scratch) sumBuckets(buckets int, mayInf bool) {
	for {
		pairs := 0
		for b := 0; b < buckets; b++ {
			pairs += int(s.count[b] / 2)
		}
		if pairs == 0 {
			return
		}
		if useVec && pairs >= vecMin {
			mayInf = s.sumRound(buckets, mayInf)
			continue
		}
		s.den = grow(s.den, pairs)
		s.inv = grow(s.inv, pairs)
		s.kind = grow(s.kind, pairs)

		// Pass 1: classify each pair and record its denominator.
		p := 0
		for b := 0; b < buckets; b++ {
			o := s.off[b]
			for j := int32(0); j < s.count[b]/2; j++ {
				a, q := &s.pts[o+2*j], &s.pts[o+2*j+1]
				if mayInf {
					s.kind[p] = classify(a, q, &s.den[p])
				} else {
					s.den[p].Sub(&q.X, &a.X)
					s.kind[p] = kindAdd
					if s.den[p].IsZero() {
						s.kind[p] = classify(a, q, &s.den[p])
					}
				}
				if s.kind[p] > kindDouble {
					s.den[p].SetOne()
				}
				p++
			}
		}

		// Montgomery's trick: invert all denominators with one inversion.
		batchInvert(s.den[:pairs], s.inv[:pairs])

		// Pass 2: apply. Pair j of a bucket writes slot j, which no later
		// pair of this round reads (they read slots ≥ 2j+2).
		p = 0
		for b := 0; b < buckets; b++ {
			o, n := s.off[b], s.count[b]
			for j := int32(0); j < n/2; j++ {
				a, q := &s.pts[o+2*j], &s.pts[o+2*j+1]
				dst := &s.pts[o+j]
				switch s.kind[p] {
				case kindFirst:
					*dst = *a
				case kindSecond:
					*dst = *q
				case kindZero:
					*dst = bls.G1Affine{}
					mayInf = true
				default:
					chord(dst, a, q, s.kind[p], &s.den[p])
				}
				p++
			}
			if n%2 == 1 {
				s.pts[o+n/2] = s.pts[o+n-1]
			}
			s.count[b] = (n + 1) / 2
		}
	}
}

// sumRound is one round of sumBuckets through add3 (the vector path), and
// reports whether a point at infinity may occur from now on.
func (s *scratch) sumRound(buckets int, mayInf bool) bool {
	dst, a, q := s.rd[:0], s.ra[:0], s.rq[:0]
	for b := 0; b < buckets; b++ {
		o := s.off[b]
		for j := int32(0); j < s.count[b]/2; j++ {
			dst = append(dst, &s.pts[o+j])
			a, q = append(a, &s.pts[o+2*j]), append(q, &s.pts[o+2*j+1])
		}
	}
	s.rd, s.ra, s.rq = dst, a, q
	// Pair j of a bucket writes slot j, which no later pair of this round
	// reads (they read slots ≥ 2j+2), as add3 requires.
	if s.add3(dst, a, q, mayInf) {
		mayInf = true
	}
	for b := 0; b < buckets; b++ {
		o, n := s.off[b], s.count[b]
		if n%2 == 1 {
			s.pts[o+n/2] = s.pts[o+n-1]
		}
		s.count[b] = (n + 1) / 2
	}
	return mayInf
}

// batchInvert replaces every element of v by its inverse (all non-zero),
// using acc as scratch of the same length: 3 multiplications an element and
// one inversion. A single product chain is as fast as interleaved ones
// here: the 6-limb multiplication is throughput-bound, so independent chains
// do not overlap, and each extra chain costs an inversion (~75
// multiplications).
func batchInvert(v, acc []fp.Element) {
	if len(v) == 0 {
		return
	}
	var run fp.Element
	run.SetOne()
	for i := range v {
		acc[i] = run
		run.Mul(&run, &v[i])
	}
	run.Inverse(&run)
	for i := len(v) - 1; i >= 0; i-- {
		var inv fp.Element
		inv.Mul(&run, &acc[i])
		run.Mul(&run, &v[i])
		v[i] = inv
	}
}
