package msm

import (
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"

	"github.com/zgda/zgda/kzg/internal/fp52"
)

// Vector affine additions. With AVX-512 IFMA, fp52 multiplies 8 field
// elements at once several times faster than gnark-crypto multiplies one,
// so the plain additions of a batch (distinct x, no point at infinity: all
// but a handful) are done 8 at a time in fp52's transposed radix-2^52 form:
// the operands are converted in (a change of radix), the batch inversion
// runs as 8 interleaved product chains with one scalar inversion of the 8
// lane products, and the results are converted back (one multiplication
// each). The other kinds stay on the scalar path. Without IFMA, useVec is
// false and everything is scalar; fp52's pure-Go code still runs the vector
// path correctly (slowly), which is how the tests cover it everywhere.

// useVec selects the vector path; tests switch it to cover both paths.
var useVec = fp52.Enabled()

// vecMin is the fewest plain additions worth the vector path: below it the
// 8-lane inversion (one scalar inversion and ~30 multiplications) and the
// padding of the last group cost more than they save.
const vecMin = 16

// vecScratch is the vector path's working memory.
type vecScratch struct {
	x1, y1, x2, y2 []fp52.Vec
	d, n, acc      []fp52.Vec
	run            [1]fp52.Vec
}

// load reads the operands of plain additions *a[j] + *q[j] (a.X ≠ q.X,
// neither the point at infinity); store then writes the sums. Operands may
// change in between. The number of pairs is a multiple of 8 (pad with
// copies of a pair, and repeat its dst).
func (v *vecScratch) load(a, q []*bls.G1Affine) {
	g := len(a) / fp52.Lanes
	x1, y1 := growVec(&v.x1, g), growVec(&v.y1, g)
	x2, y2 := growVec(&v.x2, g), growVec(&v.y2, g)
	fp52.GatherPoints(x1, y1, a)
	fp52.GatherPoints(x2, y2, q)
}

// store sets *dst[j] to the sum of the j-th pair load read; no dst may
// appear twice, except for padding.
func (v *vecScratch) store(dst []*bls.G1Affine) {
	x1, y1, x2 := v.x1, v.y1, v.x2
	g := len(x1)
	if len(dst) != g*fp52.Lanes {
		panic("msm: vector store of a different batch")
	}
	d, n, acc := growVec(&v.d, g), growVec(&v.n, g), growVec(&v.acc, g)
	// Bounds (Q = 2^32·p; converted inputs are below Q, products of
	// operands below 2^415 below 2^414 + p): d, n < 2Q; the inverses below
	// 2^414 + p; λ below 2^412 + p; λ² < Q; x3 < 3Q; x1 − x3 + 3Q < 4Q <
	// 2^415; y3 < 2Q.
	fp52.Sub(d, x2, x1, 1)   // x2 − x1
	fp52.Sub(n, v.y2, y1, 1) // y2 − y1

	// Montgomery's trick, lane by lane: acc[i] = Π_{i'<i} d[i'].
	run := v.run[:]
	run[0].SetOne()
	for i := range g {
		acc[i] = run[0]
		fp52.Mul(run, run, d[i:i+1])
	}
	invertLanes(&run[0])
	for i := g - 1; i >= 0; i-- {
		fp52.Mul(acc[i:i+1], acc[i:i+1], run) // 1/d[i]
		fp52.Mul(run, run, d[i:i+1])
	}

	lambda := acc
	fp52.Mul(lambda, n, acc)    // λ = (y2 − y1)/(x2 − x1)
	fp52.Mul(d, lambda, lambda) // λ²
	fp52.Sub2(d, d, x1, x2, 2)  // x3 = λ² − x1 − x2
	fp52.Sub(n, x1, d, 3)       // x1 − x3
	fp52.Mul(n, n, lambda)      // λ(x1 − x3)
	fp52.Sub(n, n, y1, 1)       // y3 = λ(x1 − x3) − y1
	fp52.ToGnark(d)
	fp52.ToGnark(n)
	fp52.ScatterPoints(dst, d, n)
}

// invertLanes replaces every lane of r (all non-zero) by its inverse: one
// scalar inversion for the 8 lanes, by Montgomery's trick again.
func invertLanes(r *fp52.Vec) {
	t := [1]fp52.Vec{*r}
	fp52.ToGnark(t[:])
	var e, pre [fp52.Lanes]fp.Element
	var acc fp.Element
	acc.SetOne()
	for k := range e {
		e[k] = t[0].Lane(k)
		pre[k] = acc
		acc.Mul(&acc, &e[k])
	}
	acc.Inverse(&acc)
	for k := fp52.Lanes - 1; k >= 0; k-- {
		var inv fp.Element
		inv.Mul(&acc, &pre[k])
		acc.Mul(&acc, &e[k])
		r.FromGnark(k, &inv)
	}
}

func growVec(s *[]fp52.Vec, n int) []fp52.Vec {
	if cap(*s) < n {
		*s = make([]fp52.Vec, n)
	}
	*s = (*s)[:n]
	return *s
}
