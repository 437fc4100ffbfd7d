// Package msm computes multi-scalar multiplications over fixed BLS12-381 G1
// bases, the operation behind every KZG commitment and FK20 proof.
//
// The bases of a KZG commitment never change (they are the trusted setup), so
// a Table stores, for every base P_i and window k, the point 2^(c·k)·P_i. A
// multi-scalar multiplication then needs no doublings at all: each scalar is
// cut into signed c-bit digits, each non-zero digit drops its precomputed
// point into one of 2^(c-1) buckets, and the buckets are summed with the
// running-sum trick. Compared with Pippenger over the raw bases (what
// gnark-crypto's MultiExp and so go-eth-kzg do) this removes the per-window
// bucket reductions and all doublings. Only as many windows are read as the
// largest scalar of the call needs (a row of 31-byte payload elements needs
// one window fewer than full-width scalars).
//
// All point additions are affine, batched so that one field inversion is
// shared by hundreds of them (Montgomery's trick): MultiExp streams the table
// into cache-resident bucket sums (stream.go), MultiExpGroups sorts points
// into bucket order and sums pairwise (sumBuckets), and the bucket running
// sums advance in lock-step lanes (running.go). Doubling, P + (−P) and the
// point at infinity are handled exactly, so results are correct for every
// input, not only for random ones.
//
// MultiExpPart splits one multi-scalar multiplication by bucket, so that
// several goroutines share one MSM without each reducing a full set of
// buckets.
//
// With AVX-512 IFMA the plain additions of every batch run 8 at a time in
// kzg/internal/fp52's radix-2^52 arithmetic (affine_vec.go); without it, and
// for the exceptional kinds, gnark-crypto's field arithmetic does them.
// gnark-crypto provides the curve arithmetic; this package only schedules
// it. Writing the schedule by hand is justified by the measured gain over
// gnark's general-purpose MultiExp (see kzg's benchmarks).
package msm

import (
	"fmt"
	"math/bits"
	"sync"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/internal/par"
)

// Table holds the window multiples of a fixed list of bases. It is immutable
// after NewTable and safe for concurrent use.
type Table struct {
	n      int            // number of bases
	c      int            // window width in bits
	w      int            // windows per scalar
	points []bls.G1Affine // points[i*w+k] = 2^(c·k)·P_i
	hasInf bool           // some base is the point at infinity
	pool   sync.Pool      // *scratch
}

// NewTable precomputes the window multiples of bases for c-bit windows
// (4 ≤ c ≤ 15), using the given number of goroutines (0 = all CPUs).
// bases is only read. Points at infinity are allowed.
func NewTable(bases []bls.G1Affine, c, workers int) (*Table, error) {
	if c < 4 || c > 15 {
		return nil, fmt.Errorf("msm: window width %d outside [4, 15]", c)
	}
	if len(bases) == 0 {
		return nil, fmt.Errorf("msm: no bases")
	}
	// Signed digits need one spare bit above the 255-bit scalars.
	w := (fr.Bits + 1 + c - 1) / c
	t := &Table{n: len(bases), c: c, w: w, points: make([]bls.G1Affine, len(bases)*w)}
	par.Range(len(bases), workers, 1, func(lo, hi int) {
		jac := make([]bls.G1Jac, (hi-lo)*w)
		for i := lo; i < hi; i++ {
			var p bls.G1Jac
			p.FromAffine(&bases[i])
			for k := 0; k < w; k++ {
				jac[(i-lo)*w+k] = p
				for d := 0; d < c; d++ {
					p.DoubleAssign()
				}
			}
		}
		copy(t.points[lo*w:hi*w], bls.BatchJacobianToAffineG1(jac))
	})
	for i := range bases {
		t.hasInf = t.hasInf || bases[i].IsInfinity()
	}
	return t, nil
}

// Len is the number of bases.
func (t *Table) Len() int { return t.n }

// MultiExp returns Σ scalars[i]·P_i over all bases of the table. It runs on
// the calling goroutine; MultiExpPart splits one MSM over several.
func (t *Table) MultiExp(scalars []fr.Element) (bls.G1Jac, error) {
	return t.MultiExpPart(scalars, 0, 1)
}

// MultiExpPart returns part (0 ≤ part < parts) of Σ scalars[i]·P_i: the sum
// over the digits whose bucket b = |d|−1 has b mod parts = part. The parts
// sum to MultiExp, cost about 1/parts of it each (interleaved buckets spread
// every window, the short top one included, evenly), and can run on
// different goroutines.
func (t *Table) MultiExpPart(scalars []fr.Element, part, parts int) (bls.G1Jac, error) {
	if len(scalars) != t.n {
		return bls.G1Jac{}, fmt.Errorf("msm: %d scalars for %d bases", len(scalars), t.n)
	}
	if parts < 1 || part < 0 || part >= parts {
		return bls.G1Jac{}, fmt.Errorf("msm: part %d of %d", part, parts)
	}
	s := t.scratch()
	defer t.pool.Put(s)
	return t.multiExpPart(s, scalars, part, parts), nil
}

func (t *Table) scratch() *scratch {
	s, _ := t.pool.Get().(*scratch)
	if s == nil {
		s = new(scratch)
	}
	return s
}

// windows returns the regular-form limbs of scalars (into s.limbs) and how
// many signed c-bit windows the largest needs: an ℓ-bit scalar has signed
// digits in ceil((ℓ+1)/c) windows (the top digit is then below 2^(c-1), so
// it carries nothing out).
func (t *Table) windows(s *scratch, scalars []fr.Element) int {
	s.limbs = grow(s.limbs, len(scalars))
	var or [4]uint64
	for i := range scalars {
		l := scalars[i].Bits()
		s.limbs[i] = l
		or[0] |= l[0]
		or[1] |= l[1]
		or[2] |= l[2]
		or[3] |= l[3]
	}
	n := 0
	for w := 3; w >= 0; w-- {
		if or[w] != 0 {
			n = 64*w + bits.Len64(or[w])
			break
		}
	}
	if n == 0 {
		return 0
	}
	return min((n+t.c)/t.c, t.w)
}

func (t *Table) multiExpPart(s *scratch, scalars []fr.Element, part, parts int) bls.G1Jac {
	c := t.c
	nb := 1 << (c - 1)
	w := t.windows(s, scalars)
	np := (nb - part + parts - 1) / parts // this part's buckets
	if w == 0 || np <= 0 {
		return infinity
	}
	s.st.reset(np)
	// slot[b] is the index of bucket b among this part's, or −1.
	if parts > 1 {
		s.slot = grow(s.slot, nb)
		for b := range s.slot {
			s.slot[b] = -1
			if b%parts == part {
				s.slot[b] = int32(b / parts)
			}
		}
	}
	// Digits are recoded without branches (their signs and whether they
	// belong to this part are random, so branches would be mispredicted
	// half the time) into the list of this scalar's points to add.
	mask := uint64(1)<<c - 1
	half := int32(1) << (c - 1)
	var stage [64]uint32 // bucket<<7 | window<<1 | negative; t.w ≤ 64
	for i := range scalars {
		limbs := &s.limbs[i]
		row := t.points[i*t.w : i*t.w+w]
		carry := int32(0)
		n := 0
		for k := range row {
			bit := k * c
			word, sh := bit>>6, uint(bit&63)
			v := limbs[word] >> sh // word < 4: (t.w−1)·c < 256
			if sh+uint(c) > 64 && word+1 < 4 {
				v |= limbs[word+1] << (64 - sh)
			}
			d := int32(v&mask) + carry // in [0, 2^c]
			carry = int32(uint32(half-d) >> 31)
			d -= carry << c // in (−2^(c−1), 2^(c−1)]
			neg := d >> 31
			b := (d ^ neg) - neg - 1          // |d| − 1, or −1 for d = 0
			keep := int32(uint32(-d|d) >> 31) // d ≠ 0
			if parts > 1 {
				b = s.slot[b&(half-1)]
				keep &= ^b >> 31 & 1
			}
			stage[n] = uint32(b)<<7 | uint32(k)<<1 | uint32(neg&1)
			n += int(keep)
		}
		for _, e := range stage[:n] {
			p := &row[e>>1&63]
			if t.hasInf && p.IsInfinity() {
				continue
			}
			s.add(int32(e>>7), p, e&1 != 0)
		}
	}
	s.finish()
	s0, s1 := s.bucketSums(s.st.buckets[:np])
	// Bucket j of this part stands for |d| = parts·j + part + 1.
	mulSmall(&s1, parts)
	mulSmall(&s0, part+1)
	s1.AddAssign(&s0)
	return s1
}

// MultiExpGroups splits the bases into consecutive groups of groupSize and
// returns, for each group g, Σ scalars[i]·P_i over i in that group. It uses up
// to workers goroutines (0 = all CPUs), each taking whole groups.
func (t *Table) MultiExpGroups(scalars []fr.Element, groupSize, workers int) ([]bls.G1Jac, error) {
	if len(scalars) != t.n {
		return nil, fmt.Errorf("msm: %d scalars for %d bases", len(scalars), t.n)
	}
	if groupSize <= 0 || t.n%groupSize != 0 {
		return nil, fmt.Errorf("msm: group size %d does not divide %d bases", groupSize, t.n)
	}
	groups := t.n / groupSize
	out := make([]bls.G1Jac, groups)
	par.Range(groups, workers, 1, func(lo, hi int) {
		t.multiExpGroups(scalars[lo*groupSize:hi*groupSize], lo*groupSize, hi*groupSize, groupSize, out[lo:hi])
	})
	return out, nil
}

// scratch is the per-call working memory, pooled because it is large.
type scratch struct {
	limbs  [][4]uint64 // scalars in regular form
	slot   []int32     // MultiExpPart's bucket map
	st     stream
	digits []int32 // MultiExpGroups' digits
	count  []int32 // sumBuckets' buckets: count[b] points at pts[off[b]:]
	off    []int32
	pts    []bls.G1Affine
	den    []fp.Element // batched inversions
	inv    []fp.Element
	kind   []uint8
	dst    []*bls.G1Affine // addInto's operands
	src    []*bls.G1Affine
	sum    []bls.G1Affine // bucketSums' lanes
	run    []bls.G1Affine

	vec        vecScratch      // the vector path's operands
	vd, va, vq []*bls.G1Affine // add3's vector pairs
	sd, sa, sq []*bls.G1Affine // add3's scalar pairs
	rd, ra, rq []*bls.G1Affine // sumRound's pairs
}

// multiExpGroups computes the group sums for bases [lo, hi) (scalars are
// scalars[0:hi-lo]) into out.
func (t *Table) multiExpGroups(scalars []fr.Element, lo, hi, groupSize int, out []bls.G1Jac) {
	c, w := t.c, t.w
	nb := 1 << (c - 1) // buckets per group, for digits 1..2^(c-1)
	groups := (hi - lo) / groupSize
	s := t.scratch()
	defer t.pool.Put(s)

	// 1. Signed digits, and the number of points per bucket.
	s.digits = grow(s.digits, (hi-lo)*w)
	s.count = grow(s.count, groups*nb+1)
	clear(s.count)
	mask := uint64(1)<<c - 1
	half := int32(1) << (c - 1)
	for i := range scalars {
		limbs := scalars[i].Bits() // regular (non-Montgomery) little-endian limbs
		g := int32(i/groupSize) * int32(nb)
		carry := int32(0)
		for k := 0; k < w; k++ {
			bit := k * c
			word, sh := bit/64, uint(bit%64)
			var v uint64
			if word < 4 {
				v = limbs[word] >> sh
				if sh+uint(c) > 64 && word+1 < 4 {
					v |= limbs[word+1] << (64 - sh)
				}
			}
			d := int32(v&mask) + carry
			carry = 0
			if d > half {
				d -= 1 << c
				carry = 1
			}
			s.digits[i*w+k] = d
			if d != 0 {
				s.count[g+abs32(d)-1]++
			}
		}
	}

	// 2. Bucket offsets, then the points in bucket order (negated for
	// negative digits).
	s.off = grow(s.off, groups*nb+1)
	total := int32(0)
	for b := 0; b < groups*nb; b++ {
		s.off[b] = total
		total += s.count[b]
	}
	s.off[groups*nb] = total
	s.pts = grow(s.pts, int(total))
	fill := s.count // reuse as the fill cursor; counts are rebuilt below
	for b := 0; b < groups*nb; b++ {
		fill[b] = s.off[b]
	}
	base := t.points[lo*w : hi*w]
	for i := range scalars {
		g := int32(i/groupSize) * int32(nb)
		for k := 0; k < w; k++ {
			d := s.digits[i*w+k]
			if d == 0 {
				continue
			}
			b := g + abs32(d) - 1
			p := &s.pts[fill[b]]
			*p = base[i*w+k]
			if d < 0 {
				p.Y.Neg(&p.Y)
			}
			fill[b]++
		}
	}
	for b := 0; b < groups*nb; b++ {
		s.count[b] = s.off[b+1] - s.off[b]
	}

	// 3. Sum each bucket's points pairwise, one batched inversion a round.
	s.sumBuckets(groups*nb, t.hasInf)

	// 4. Running-sum reduction per group: Σ (b+1)·B_b.
	for g := 0; g < groups; g++ {
		var running, sum bls.G1Jac
		running.Set(&infinity)
		sum.Set(&infinity)
		for b := nb - 1; b >= 0; b-- {
			id := g*nb + b
			if s.count[id] > 0 {
				running.AddMixed(&s.pts[s.off[id]])
			}
			sum.AddAssign(&running)
		}
		out[g] = sum
	}
}

var infinity = bls.G1Jac{X: fp.One(), Y: fp.One()}

func abs32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
