package msm

import (
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"

	"github.com/zgda/zgda/kzg/internal/fp52"
)

// Lock-step scalar multiplications. The G1 column extensions of the batch
// prover (kzg's g1Extender) multiply the points of all cell indices by the
// same twiddles at the same butterfly positions, so one scalar meets many
// points, and the many scalars of an FFT stage share their digit count: a
// GLV double-and-add run over all of them at once is a sequence of batched
// affine doublings and additions (one shared inversion each), which go to
// the vector path (affine_vec.go) 8 at a time. Exact like the rest of this
// file's arithmetic: infinity (zero proofs) and P = ±Q stay on the scalar
// path.

// Job is one scalar s = k1 + λ·k2 (mod r) to multiply every *Pts[j] by, in
// place: NAF[h] are the signed odd digits of k_h (least significant first,
// |digit| < 2^15), as gnark-crypto's ecc.WnafDecomposition gives them for
// |k_h|, negated where k_h < 0; λ is the GLV eigenvalue with φ(x, y) =
// (βx, y) = λ·(x, y).
type Job struct {
	Pts []*bls.G1Affine
	NAF *[2][]int8
}

// Lockstep holds the working memory of Mul and AddPairs; it is not safe
// for concurrent use (one per goroutine), and reusable.
type Lockstep struct {
	s            scratch
	tab, phi     []bls.G1Affine // odd multiples (2t+1)·P: tab[t·n + j], and φ of them
	acc, q       []bls.G1Affine
	started      []bool
	accP, qP, dP []*bls.G1Affine
	pa, pq, pd   []*bls.G1Affine
	off          []int
}

// Mul sets *p = s·*p for every job's scalar s and points p (no pointer may
// appear twice across jobs). beta is β.
func (l *Lockstep) Mul(jobs []Job, beta *fp.Element) {
	n := 0
	l.off = grow(l.off, len(jobs)+1)
	width, steps := 0, 0
	for i, jb := range jobs {
		l.off[i] = n
		n += len(jb.Pts)
		for _, d := range jb.NAF {
			steps = max(steps, len(d))
			for _, v := range d {
				width = max(width, int(abs8(v)+1)/2)
			}
		}
	}
	l.off[len(jobs)] = n
	if n == 0 {
		return
	}
	width = max(width, 1)
	// The odd multiples of every point, and their images under φ.
	tab := grow(l.tab, width*n)
	l.tab = tab
	for i, jb := range jobs {
		for j, p := range jb.Pts {
			tab[l.off[i]+j] = *p
		}
	}
	if width > 1 {
		acc := grow(l.acc, n) // 2P
		l.acc = acc
		copy(acc, tab[:n])
		l.accP = ptrs(l.accP, acc)
		l.s.double(l.accP)
		for t := 1; t < width; t++ {
			l.pd, l.pa, l.pq = l.pd[:0], l.pa[:0], l.pq[:0]
			for j := range n {
				l.pd = append(l.pd, &tab[t*n+j])
				l.pa = append(l.pa, &tab[(t-1)*n+j])
				l.pq = append(l.pq, &acc[j])
			}
			l.s.add3(l.pd, l.pa, l.pq, true)
		}
	}
	phi := grow(l.phi, width*n)
	l.phi = phi
	for j := range phi {
		phi[j].X.Mul(&tab[j].X, beta) // infinity (0, 0) stays
		phi[j].Y = tab[j].Y
	}

	acc := grow(l.acc, n)
	q := grow(l.q, n)
	l.acc, l.q = acc, q
	started := grow(l.started, len(jobs))
	l.started = started
	clear(started)
	for i := steps - 1; i >= 0; i-- {
		l.dP = l.dP[:0]
		for b := range jobs {
			if started[b] {
				for j := l.off[b]; j < l.off[b+1]; j++ {
					l.dP = append(l.dP, &acc[j])
				}
			}
		}
		if len(l.dP) > 0 {
			l.s.double(l.dP)
		}
		for h, src := range [2][]bls.G1Affine{tab, phi} {
			l.pd, l.pq = l.pd[:0], l.pq[:0]
			for b, jb := range jobs {
				if i >= len(jb.NAF[h]) {
					continue
				}
				d := jb.NAF[h][i]
				if d == 0 {
					continue
				}
				row := src[int(abs8(d)-1)/2*n:]
				for j := l.off[b]; j < l.off[b+1]; j++ {
					if !started[b] {
						acc[j] = row[j]
						if d < 0 {
							acc[j].Y.Neg(&acc[j].Y)
						}
						continue
					}
					q[j] = row[j]
					if d < 0 {
						q[j].Y.Neg(&q[j].Y)
					}
					l.pd, l.pq = append(l.pd, &acc[j]), append(l.pq, &q[j])
				}
				started[b] = true
			}
			if len(l.pd) > 0 {
				l.s.add3(l.pd, l.pd, l.pq, true)
			}
		}
	}
	for b, jb := range jobs {
		for j, p := range jb.Pts {
			if started[b] {
				*p = acc[l.off[b]+j]
			} else {
				*p = bls.G1Affine{}
			}
		}
	}
}

// AddPairs sets *dst[j] = *a[j] + *q[j] for every j with shared
// inversions, exactly (any operand may be infinity, a[j] = ±q[j] is
// fine). An operand of a pair may be the dst of a later pair, not of an
// earlier one; no dst appears twice.
func (l *Lockstep) AddPairs(dst, a, q []*bls.G1Affine) {
	l.s.add3(dst, a, q, true)
}

func abs8(v int8) int8 {
	if v < 0 {
		return -v
	}
	return v
}

func ptrs(dst []*bls.G1Affine, p []bls.G1Affine) []*bls.G1Affine {
	dst = dst[:0]
	for j := range p {
		dst = append(dst, &p[j])
	}
	return dst
}

// double sets *p[j] = 2·*p[j] for every j with one shared inversion
// (pointers distinct). A point with y = 0 — infinity, (0, 0) — doubles to
// infinity.
func (s *scratch) double(p []*bls.G1Affine) {
	vd := s.vd[:0]
	for _, q := range p {
		if q.Y.IsZero() {
			*q = bls.G1Affine{}
			continue
		}
		vd = append(vd, q)
	}
	s.vd = vd
	if len(vd) == 0 {
		return
	}
	if useVec && len(vd) >= vecMin {
		for len(vd)%fp52.Lanes != 0 { // pad with copies of the first
			vd = append(vd, vd[0])
		}
		s.vd = vd
		s.vec.double(vd)
		return
	}
	s.den = grow(s.den, len(vd))
	s.inv = grow(s.inv, len(vd))
	for j, q := range vd {
		s.den[j].Double(&q.Y)
	}
	batchInvert(s.den, s.inv)
	for j, q := range vd {
		chord(q, q, q, kindDouble, &s.den[j])
	}
}

// threeHalves is 3/2 mod p in every lane, in fp52's form.
var threeHalves = func() fp52.Vec {
	var e, two fp.Element
	two.SetUint64(2)
	two.Inverse(&two)
	e.SetUint64(3)
	e.Mul(&e, &two)
	var v fp52.Vec
	for k := range fp52.Lanes {
		v.FromGnark(k, &e)
	}
	return v
}()

// double sets *p[j] = 2·*p[j] (y ≠ 0, a multiple of 8 pointers, repeated
// only as padding): λ = (3/2)·x²/y, x3 = λ² − 2x, y3 = λ(x − x3) − y.
func (v *vecScratch) double(p []*bls.G1Affine) {
	g := len(p) / fp52.Lanes
	x, y := growVec(&v.x1, g), growVec(&v.y1, g)
	fp52.GatherPoints(x, y, p)
	d, n, acc := growVec(&v.d, g), growVec(&v.n, g), growVec(&v.acc, g)
	// Bounds as for store (x, y < Q): n < 2^415; 1/y below 2^414 + p; λ
	// below 2^412 + p; λ² < Q; x3 < 3Q; x − x3 + 3Q < 4Q; y3 < 2Q.
	fp52.Mul(n, x, x)
	fp52.MulBy(n, n, &threeHalves)
	run := v.run[:]
	run[0].SetOne()
	for i := range g {
		acc[i] = run[0]
		fp52.Mul(run, run, y[i:i+1])
	}
	invertLanes(&run[0])
	for i := g - 1; i >= 0; i-- {
		fp52.Mul(acc[i:i+1], acc[i:i+1], run) // 1/y[i]
		fp52.Mul(run, run, y[i:i+1])
	}
	lambda := acc
	fp52.Mul(lambda, n, acc)
	fp52.Mul(d, lambda, lambda)
	fp52.Sub2(d, d, x, x, 2) // x3 = λ² − 2x
	fp52.Sub(n, x, d, 3)     // x − x3
	fp52.Mul(n, n, lambda)
	fp52.Sub(n, n, y, 1) // y3
	fp52.ToGnark(d)
	fp52.ToGnark(n)
	fp52.ScatterPoints(p, d, n)
}
