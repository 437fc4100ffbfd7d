package msm

import (
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

// Streaming bucket accumulation. The table is read once, in order, and every
// (digit, point) is added straight into its bucket's running affine sum. The
// buckets (2^(c-1) affine points, under 1 MB) stay in the core's cache, where
// sorting all points into bucket order first would write and re-read
// megabytes. Additions are batched, up to batchSize to one inversion. A point
// whose bucket already has an addition in the current batch is deferred to
// the next batch; once deferSize points wait, further ones are spilled, and
// the spilled points are summed by the conflict-free pairwise schedule
// (sumBuckets), so that inputs crowding few buckets (equal scalars, say)
// cost about as much as random ones.

const (
	// batchSize bucket additions share one inversion (an inversion costs
	// about 75 multiplications, so about 1% of the batch's cost), while the
	// batch's points and denominators stay in the L2 cache. Larger batches
	// spill more points (a batch of n over B buckets spills about n/2B of
	// them), which costs little: a spilled point is still one addition.
	batchSize = 1024
	// deferSize points at most wait for the next batch: random digits defer
	// a few percent, crowded ones spill the rest.
	deferSize = batchSize / 2
	// spillSize spilled points are summed at a time.
	spillSize = 2048
)

// stream is the state of one streaming accumulation.
type stream struct {
	buckets []bls.G1Affine // bucket sums; infinity = empty
	mark    []uint32       // mark[b] == epoch: b has an addition in the batch
	epoch   uint32

	bk []int32        // the batch: buckets[bk[j]] += pt[j]
	pt []bls.G1Affine // the batch's points, negated where the digit was

	dfB []int32        // deferred points' buckets
	dfP []bls.G1Affine // deferred points

	spB   []int32        // spilled points' buckets
	spP   []bls.G1Affine // spilled points
	group []int32        // group[b]: b's index among the spill's buckets, or −1
	gb    []int32        // the spill's buckets
}

// reset prepares s for nb empty buckets.
func (st *stream) reset(nb int) {
	st.buckets = grow(st.buckets, nb)
	clear(st.buckets)
	st.mark = grow(st.mark, nb)
	clear(st.mark)
	st.epoch = 1
	st.bk = grow(st.bk, batchSize)[:0]
	st.pt = grow(st.pt, batchSize)
	st.dfB = grow(st.dfB, deferSize)[:0]
	st.dfP = grow(st.dfP, deferSize)
	st.spB = grow(st.spB, spillSize)[:0]
	st.spP = grow(st.spP, spillSize)
	st.group = grow(st.group, nb)
	for i := range st.group {
		st.group[i] = -1
	}
}

// add adds p (negated if neg) into bucket b. p is not the point at infinity.
func (s *scratch) add(b int32, p *bls.G1Affine, neg bool) {
	st := &s.st
	a := &st.buckets[b]
	switch {
	case st.mark[b] == st.epoch && len(st.dfB) < deferSize:
		st.dfB = append(st.dfB, b)
		setPoint(&st.dfP[len(st.dfB)-1], p, neg)
	case st.mark[b] == st.epoch:
		st.spB = append(st.spB, b)
		setPoint(&st.spP[len(st.spB)-1], p, neg)
		if len(st.spB) == spillSize {
			s.flush()
			s.reduceSpill()
			s.refill()
		}
	case a.IsInfinity():
		setPoint(a, p, neg)
	default:
		st.mark[b] = st.epoch
		st.bk = append(st.bk, b)
		setPoint(&st.pt[len(st.bk)-1], p, neg)
		if len(st.bk) == batchSize {
			s.flush()
			s.refill()
		}
	}
}

// setPoint sets dst = p, or −p if neg.
func setPoint(dst, p *bls.G1Affine, neg bool) {
	*dst = *p
	if neg {
		dst.Y.Neg(&dst.Y)
	}
}

// flush applies the batch.
func (s *scratch) flush() {
	st := &s.st
	n := len(st.bk)
	if n == 0 {
		return
	}
	s.dst = grow(s.dst, n)
	s.src = grow(s.src, n)
	for j, b := range st.bk {
		s.dst[j] = &st.buckets[b]
		s.src[j] = &st.pt[j]
	}
	s.addInto(s.dst, s.src, false)
	st.bk = st.bk[:0]
	st.epoch++
}

// refill starts the (empty) batch with the deferred points; those whose
// bucket is already taken wait again.
func (s *scratch) refill() {
	st := &s.st
	keep := 0
	for i, b := range st.dfB {
		switch {
		case st.mark[b] == st.epoch:
			st.dfB[keep] = b
			st.dfP[keep] = st.dfP[i]
			keep++
		case st.buckets[b].IsInfinity():
			st.buckets[b] = st.dfP[i]
		default:
			st.mark[b] = st.epoch
			st.bk = append(st.bk, b)
			st.pt[len(st.bk)-1] = st.dfP[i]
		}
	}
	st.dfB = st.dfB[:keep]
}

// reduceSpill adds the spilled points into their buckets. The batch must be
// empty (flushed).
func (s *scratch) reduceSpill() {
	st := &s.st
	if len(st.spB) == 0 {
		return
	}
	// Group the spilled points by bucket, each group led by the bucket's
	// current sum, and sum every group pairwise.
	st.gb = st.gb[:0]
	s.count = s.count[:0]
	for _, b := range st.spB {
		g := st.group[b]
		if g < 0 {
			g = int32(len(st.gb))
			st.group[b] = g
			st.gb = append(st.gb, b)
			lead := int32(0)
			if !st.buckets[b].IsInfinity() {
				lead = 1
			}
			s.count = append(s.count, lead)
		}
		s.count[g]++
	}
	groups := len(st.gb)
	s.off = grow(s.off, groups+1)
	total := int32(0)
	for g := range groups {
		s.off[g] = total
		total += s.count[g]
	}
	s.off[groups] = total
	s.pts = grow(s.pts, int(total))
	fill := s.count // reuse as the fill cursor; counts are rebuilt below
	for g, b := range st.gb {
		fill[g] = s.off[g]
		if !st.buckets[b].IsInfinity() {
			s.pts[fill[g]] = st.buckets[b]
			fill[g]++
		}
	}
	for i, b := range st.spB {
		g := st.group[b]
		s.pts[fill[g]] = st.spP[i]
		fill[g]++
	}
	for g := range groups {
		s.count[g] = s.off[g+1] - s.off[g]
	}
	s.sumBuckets(groups, false)
	for g, b := range st.gb {
		st.buckets[b] = s.pts[s.off[g]]
		st.group[b] = -1
	}
	st.spB = st.spB[:0]
}

// finish applies everything pending; the buckets then hold their sums.
func (s *scratch) finish() {
	st := &s.st
	s.flush()
	s.refill()
	s.flush()
	for i, b := range st.dfB { // deferred twice: crowded buckets
		if len(st.spB) == spillSize {
			s.reduceSpill()
		}
		st.spB = append(st.spB, b)
		st.spP[len(st.spB)-1] = st.dfP[i]
	}
	st.dfB = st.dfB[:0]
	s.reduceSpill()
}
