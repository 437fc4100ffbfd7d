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
// bucket reductions and all doublings.
//
// Bucket accumulation uses affine additions with one shared field inversion
// per round (Montgomery's trick): all pending points of a bucket are summed
// pairwise, round after round, so every addition of a round is independent
// and no bucket conflict can occur. Doubling and P + (−P) are handled exactly,
// so the result is correct for every input, not only for random ones.
//
// gnark-crypto provides the field and curve arithmetic; this package only
// schedules it. Writing the schedule by hand is justified by the measured
// gain over gnark's general-purpose MultiExp (see kzg's benchmarks).
package msm

import (
	"fmt"
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

// MultiExp returns Σ scalars[i]·P_i over all bases of the table.
// It runs on the calling goroutine; callers parallelise over independent
// MSMs (rows), which scales better than splitting one.
func (t *Table) MultiExp(scalars []fr.Element) (bls.G1Jac, error) {
	if len(scalars) != t.n {
		return bls.G1Jac{}, fmt.Errorf("msm: %d scalars for %d bases", len(scalars), t.n)
	}
	var out [1]bls.G1Jac
	t.multiExpGroups(scalars, 0, t.n, t.n, out[:])
	return out[0], nil
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

// scratch is the per-call working memory, pooled because it is large
// (one affine point per non-zero digit).
type scratch struct {
	digits []int32
	count  []int32
	off    []int32
	pts    []bls.G1Affine
	den    []fp.Element
	acc    []fp.Element
	kind   []uint8
}

// multiExpGroups computes the group sums for bases [lo, hi) (scalars are
// scalars[0:hi-lo]) into out.
func (t *Table) multiExpGroups(scalars []fr.Element, lo, hi, groupSize int, out []bls.G1Jac) {
	c, w := t.c, t.w
	nb := 1 << (c - 1) // buckets per group, for digits 1..2^(c-1)
	groups := (hi - lo) / groupSize
	s, _ := t.pool.Get().(*scratch)
	if s == nil {
		s = new(scratch)
	}
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

// Pair kinds for one round of bucket summation.
const (
	kindAdd    = iota // distinct x: λ = (y2−y1)/(x2−x1)
	kindDouble        // same point: λ = 3x²/(2y)
	kindFirst         // second is infinity: result is the first
	kindSecond        // first is infinity: result is the second
	kindZero          // P + (−P): result is infinity
)

// sumBuckets reduces every bucket to a single point (at pts[off[b]]), in
// rounds: a bucket of L points becomes ceil(L/2) points a round. Checks for
// the point at infinity are skipped until one can occur (a base at infinity,
// or a sum P + (−P) in an earlier round): they cost a tenth of the time.
func (s *scratch) sumBuckets(buckets int, mayInf bool) {
	for {
		pairs := 0
		for b := 0; b < buckets; b++ {
			pairs += int(s.count[b] / 2)
		}
		if pairs == 0 {
			return
		}
		s.den = grow(s.den, pairs)
		s.acc = grow(s.acc, pairs)
		s.kind = grow(s.kind, pairs)

		// Pass 1: classify each pair and record its denominator.
		p := 0
		for b := 0; b < buckets; b++ {
			o := s.off[b]
			for j := int32(0); j < s.count[b]/2; j++ {
				a, q := &s.pts[o+2*j], &s.pts[o+2*j+1]
				switch {
				case mayInf && q.IsInfinity():
					s.kind[p] = kindFirst
					s.den[p].SetOne()
				case mayInf && a.IsInfinity():
					s.kind[p] = kindSecond
					s.den[p].SetOne()
				case a.X.Equal(&q.X):
					if a.Y.Equal(&q.Y) && !a.Y.IsZero() {
						s.kind[p] = kindDouble
						s.den[p].Double(&a.Y)
					} else {
						s.kind[p] = kindZero
						s.den[p].SetOne()
					}
				default:
					s.kind[p] = kindAdd
					s.den[p].Sub(&q.X, &a.X)
				}
				p++
			}
		}

		// Montgomery's trick: invert all denominators with one inversion.
		batchInvert(s.den[:pairs], s.acc[:pairs])

		// Pass 2: apply. Pair j of a bucket writes slot j, which no later
		// pair of this round reads (they read slots ≥ 2j+2).
		p = 0
		for b := 0; b < buckets; b++ {
			o, n := s.off[b], s.count[b]
			for j := int32(0); j < n/2; j++ {
				// dst may be a's slot: read through pointers, write last.
				a, q := &s.pts[o+2*j], &s.pts[o+2*j+1]
				dst := &s.pts[o+j]
				switch s.kind[p] {
				case kindFirst:
					*dst = *a
				case kindSecond:
					*dst = *q
				case kindZero:
					dst.X.SetZero()
					dst.Y.SetZero()
					mayInf = true
				default:
					var lambda, t, x3 fp.Element
					if s.kind[p] == kindDouble {
						lambda.Square(&a.X)
						t.Double(&lambda)
						lambda.Add(&lambda, &t)
					} else {
						lambda.Sub(&q.Y, &a.Y)
					}
					lambda.Mul(&lambda, &s.den[p])
					x3.Square(&lambda)
					x3.Sub(&x3, &a.X)
					x3.Sub(&x3, &q.X)
					t.Sub(&a.X, &x3)
					t.Mul(&t, &lambda)
					dst.Y.Sub(&t, &a.Y)
					dst.X = x3
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

// batchInvert replaces every element of v by its inverse (all non-zero),
// using acc as scratch of the same length. Four interleaved product chains
// (four inversions instead of one) let the CPU overlap the multiplications,
// which a single chain would serialise.
func batchInvert(v, acc []fp.Element) {
	const lanes = 4
	var run [lanes]fp.Element
	for l := range run {
		run[l].SetOne()
	}
	for i := range v {
		acc[i] = run[i%lanes]
		run[i%lanes].Mul(&run[i%lanes], &v[i])
	}
	for l := range run {
		run[l].Inverse(&run[l])
	}
	for i := len(v) - 1; i >= 0; i-- {
		var inv fp.Element
		inv.Mul(&run[i%lanes], &acc[i])
		run[i%lanes].Mul(&run[i%lanes], &v[i])
		v[i] = inv
	}
}

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
