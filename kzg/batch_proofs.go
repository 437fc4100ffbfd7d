package kzg

import (
	"context"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/kzg/internal/msm"
)

// The all-rows prover (docs/spec.md §3.5 Cells): the cells and proofs of
// every dispersed row of a batch, with FK20 run on the D data rows only.
//
// A cell's proof is linear in its row for a fixed cell index c (the
// quotient (p − I)/(X^64 − z_c) and its commitment are linear in p), and
// parity row j is Σ_{i<D} ℓ_i(x_j)·row_i (docs/spec.md §3.4). So for each c,
// the proofs of cell c down the extended matrix are the column extension,
// in G1, of the K proofs of cell c of the matrix rows — the padding rows'
// being the identity, which is what FK20 gives for a zero row. That is
// ParityCommitments' derivation, once per cell index; it is done here per
// coset of the K matrix points rather than by one FFT of size 4K, because
// only the cosets holding rows K … K+3D−1 are wanted:
//
//	extended row sK + i (s = 1, 2, 3; i < K) is the point g_s·x_i,
//	g_s = ω_4K^brp_4(s),
//
// so with the K coefficients c_m of the column polynomial (one inverse FFT
// of size K), coset s is the size-K FFT of c_m·g_s^m, bit-reversed (1/K is
// folded into those scales). Per parity proof that is about
// (2/3)·(log2 K − 2) + 1 G1 scalar multiplications (5 at K = 256, with the
// scalars prepared once: g1Mul), against FK20's 8,192-pair fixed-base MSM
// and two size-128 G1 FFTs per row of 128 proofs. The 128 cell indices'
// extensions use the same twiddles at the same butterflies, so they run
// together (a group of cells per worker): every twiddle multiplication of
// an FFT stage, for all the group's cells, is one GLV double-and-add in
// lock-step (msm.Lockstep), each step one batched affine doubling or
// addition with a shared inversion, on the IFMA vector path where the CPU
// has it; the butterflies' additions are batched the same way. That made
// the derivation about 4.5× cheaper at K = 256 than one Jacobian
// extension per cell (BenchmarkParityProofDerivation beside
// BenchmarkBatchCellsAndProofs).

// ComputeBatchCellsAndProofs returns the 128 cells and proofs of each of a
// batch's N = 4D dispersed rows (docs/spec.md §3.4 Column extension and
// dispersed rows, §3.5 Cells), byte for byte what ComputeCellsAndProofs
// gives for each row, at the cost of FK20 on the D data rows only: the
// parity rows' proofs are derived from the data rows' in G1 (see above).
//
// rows are the dispersed rows in order, as encoder.Batch.Rows holds them:
// rows[n] for n < D is data row n, rows[n] for n ≥ D is extended row
// K + (n − D); k is K, the smallest power of two ≥ D. The parity rows are
// given rather than recomputed because the encoder has them, and only
// their cells (compute_cells, no FK20) are computed from them. Since their
// proofs come from the data rows, they must be the column extension of the
// data rows: that is checked first by one random linear combination over
// the field (about 4D·4096 multiplications, no G1 work; bisected when it
// fails), and parity rows that are not it are refused with ErrBadArgument
// naming them. Padding rows have no cells and are not part of the result.
//
// cells[n][c] and proofs[n][c] are cell c of dispersed row n and its proof;
// the 128 cells of a row are views of one 8192-element buffer owned by the
// caller (as ComputeCellsAndProofs returns them). rows are only read. The
// work is spread over the Context's workers: whole data rows per worker
// for FK20, groups of cell indices for the derivation. It stops early and
// returns ctx's error when ctx is done.
func (c *Context) ComputeBatchCellsAndProofs(ctx context.Context, rows [][]fr.Element, k int) (cells [][][]fr.Element, proofs [][]Proof, err error) {
	if len(rows)%4 != 0 {
		return nil, nil, fmt.Errorf("%w: %d dispersed rows, want 4D", ErrBadArgument, len(rows))
	}
	d := len(rows) / 4
	if err := checkMatrix(d, k); err != nil {
		return nil, nil, err
	}
	for n, r := range rows {
		if len(r) != ScalarsPerRow {
			return nil, nil, fmt.Errorf("%w: dispersed row %d has %d", ErrRowLength, n, len(r))
		}
	}
	f, err := c.fk20Tables()
	if err != nil {
		return nil, nil, err
	}
	if err := c.checkParityRows(rows, d, k); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	n := len(rows)
	cells = make([][][]fr.Element, n)
	proofs = make([][]Proof, n)
	points := make([][]bls.G1Affine, d) // data row i's proofs, cell by cell

	// FK20 on the data rows: one row per worker while each worker has one,
	// then the rows left over one by one on all workers.
	prove := func(i, workers int) {
		coeffs := f.doms.coefficients(rows[i])
		h, err := f.proofPoints(coeffs[:ScalarsPerRow], workers)
		if err != nil {
			panic(err) // lengths are ours
		}
		points[i] = bls.BatchJacobianToAffineG1(h)
		proofs[i] = encodeAffine(points[i])
		cells[i] = f.doms.cells(coeffs)
	}
	w := c.workers
	whole := d - d%w
	if err := c.each(ctx, whole, func(i int) { prove(i, 1) }); err != nil {
		return nil, nil, err
	}
	for i := whole; i < d; i++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		prove(i, w)
	}
	// The parity rows' cells, from the rows themselves.
	if err := c.each(ctx, n-d, func(t int) {
		cells[d+t] = f.doms.cells(f.doms.coefficients(rows[d+t]))
		proofs[d+t] = make([]Proof, CellsPerRow)
	}); err != nil {
		return nil, nil, err
	}
	// The parity rows' proofs, in groups of cell indices.
	ext := newG1Extender(k, paritySpan(d, k))
	groups := cellGroups(w)
	per := (CellsPerRow + groups - 1) / groups
	if err := c.each(ctx, groups, func(g int) {
		lo, hi := g*per, min((g+1)*per, CellsPerRow)
		cn := hi - lo
		in := make([]bls.G1Affine, k*cn) // the zero value is infinity: padding rows
		for i := range d {
			copy(in[i*cn:(i+1)*cn], points[i][lo:hi])
		}
		var ls lockstepFFT
		out := ext.extendCells(in, cn, &ls)
		for t := range n - d {
			for x := range cn {
				proofs[d+t][lo+x] = out[t*cn+x].Bytes()
			}
		}
	}); err != nil {
		return nil, nil, err
	}
	return cells, proofs, nil
}

// encodeProofs compresses proof points.
func encodeProofs(h []bls.G1Jac) []Proof {
	return encodeAffine(bls.BatchJacobianToAffineG1(h))
}

// encodeAffine compresses affine proof points.
func encodeAffine(aff []bls.G1Affine) []Proof {
	out := make([]Proof, len(aff))
	for i := range aff {
		out[i] = aff[i].Bytes()
	}
	return out
}

// paritySpan is the extended rows of the parity dispersed rows, K … K+3D−1.
func paritySpan(d, k int) [2]int { return [2]int{k, k + 3*d} }

// checkParityRows checks that rows[D:] are extended rows K … K+3D−1 of the
// matrix of rows[:D] (docs/spec.md §3.4): with weights r_t from
// crypto/rand, Σ_t r_t·parity_t = Σ_{i<D} s_i·row_i, s_i = Σ_t r_t·ℓ_i(x_{K+t}),
// element by element, bisecting (as VerifyBatchRows does) to name the rows
// that are not when it fails.
func (c *Context) checkParityRows(rows [][]fr.Element, d, k int) error {
	p := len(rows) - d
	weights, err := drawWeights(p)
	if err != nil {
		return err
	}
	lag := newLagrange(d, k)
	all := make([]int, d)
	for i := range all {
		all[i] = i
	}
	residual := func(set []int) ([]fr.Element, error) {
		s := make([]fr.Element, d)
		var term fr.Element
		for _, t := range set {
			l := lag.at(k + t)
			for i := range s {
				term.Mul(&l[i], &weights[t])
				s[i].Add(&s[i], &term)
			}
		}
		lhs := combineRows(set, weights, func(t int) []fr.Element { return rows[d+t] }, c.workers)
		rhs := combineRows(all, s, func(i int) []fr.Element { return rows[i] }, c.workers)
		for i := range lhs {
			lhs[i].Sub(&lhs[i], &rhs[i])
		}
		return lhs, nil
	}
	sub := func(a, b []fr.Element) []fr.Element {
		out := make([]fr.Element, len(a))
		for i := range out {
			out[i].Sub(&a[i], &b[i])
		}
		return out
	}
	isZero := func(a []fr.Element) bool {
		for i := range a {
			if !a[i].IsZero() {
				return false
			}
		}
		return true
	}
	bad, _, err := bisect(p, residual, sub, isZero)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		for i := range bad {
			bad[i] += d // dispersed row numbers
		}
		return fmt.Errorf("%w: dispersed rows %v are not the column extension of data rows 0 … %d (docs/spec.md §3.4)", ErrBadArgument, bad, d-1)
	}
	return nil
}

// each calls fn(i) for every i < n on up to the Context's workers
// goroutines, handing out indices one at a time, and returns ctx's error
// (with some indices not done) when ctx is done.
func (c *Context) each(ctx context.Context, n int, fn func(i int)) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(c.workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// g1Extender derives, from K points (values at the K matrix points x_i,
// bit-reversed order; docs/spec.md §3.4), their values at the extended rows
// [lo, hi) ⊂ [0, 4K), coset by coset (see the comment at the top), for
// several cell indices at once. It is read-only once built, so one serves
// all workers concurrently.
type g1Extender struct {
	k       int
	lo, hi  int
	omega   fr.Element // ω_K
	inverse fr.Element // ω_K^−1
	scales  [][]g1Mul  // per coset s touched: g_s^m / K, m < K
	first   int        // the first coset touched
}

func newG1Extender(k int, span [2]int) *g1Extender {
	e := &g1Extender{k: k, lo: span[0], hi: span[1], first: span[0] / k,
		omega: rootOfUnity(k, false), inverse: rootOfUnity(k, true)}
	var kInv fr.Element
	kInv.SetUint64(uint64(k))
	kInv.Inverse(&kInv)
	ext := brpRoots(4 * k)
	for s := e.first; s*k < e.hi; s++ {
		g := ext[s*k] // g_s = x_{sK}, since x_0 = 1 among the K matrix points
		sc := make([]g1Mul, k)
		f := kInv
		for m := range sc {
			sc[m] = newG1Mul(&f)
			f.Mul(&f, &g)
		}
		e.scales = append(e.scales, sc)
	}
	return e
}

// minCellGroup is the fewest cell indices extended together: each twiddle
// multiplication is then a batch of at least this many points per
// butterfly, enough for the vector path (kzg/internal/msm's lock-step
// multiplication, which wants 16 or more).
const minCellGroup = 16

// cellGroups is how many groups the 128 cell indices are extended in on w
// workers: one per worker, each of at least minCellGroup cells.
func cellGroups(w int) int { return max(1, min(w, CellsPerRow/minCellGroup)) }

// extendCells returns, for c cell indices at once, the values at extended
// rows lo … hi−1: in holds K·c points, in[i·c + j] point i of cell j, and
// is overwritten; the result holds (hi − lo)·c points the same way. The
// twiddle multiplications are done for all c cells (and all butterflies of
// an FFT stage) in lock-step as batched affine arithmetic (msm.Lockstep),
// whose working memory ls is.
func (e *g1Extender) extendCells(in []bls.G1Affine, c int, ls *lockstepFFT) []bls.G1Affine {
	k := e.k
	// Bit-reversed values → K·(natural coefficients): an inverse FFT whose
	// 1/K is in the coset scales.
	bitReverseRows(in, c)
	ls.fft(in, c, e.inverse)
	out := make([]bls.G1Affine, len(e.scales)*k*c)
	for s, sc := range e.scales {
		buf := out[s*k*c : (s+1)*k*c]
		copy(buf, in)
		ls.jobs = ls.jobs[:0]
		for m := range sc {
			ls.add(&sc[m], buf[m*c:(m+1)*c])
		}
		ls.run()
		ls.fft(buf, c, e.omega)
		bitReverseRows(buf, c)
	}
	off := e.lo - e.first*k
	return out[off*c : (off+e.hi-e.lo)*c]
}

// lockstepFFT is one worker's state for extendCells.
type lockstepFFT struct {
	ls        msm.Lockstep
	jobs      []msm.Job
	ptrs      []*bls.G1Affine // the jobs' points
	t, neg    []bls.G1Affine  // a stage's twiddle products and their negations
	dst, a, q []*bls.G1Affine // a stage's butterfly additions
}

// add queues the multiplication of every point of pts by m's scalar.
func (l *lockstepFFT) add(m *g1Mul, pts []bls.G1Affine) {
	switch {
	case m.one:
		return
	case m.gen:
		for j := range pts {
			m.mulAffine(&pts[j])
		}
		return
	}
	lo := len(l.ptrs)
	for j := range pts {
		l.ptrs = append(l.ptrs, &pts[j])
	}
	l.jobs = append(l.jobs, msm.Job{Pts: l.ptrs[lo:len(l.ptrs):len(l.ptrs)], NAF: &m.naf})
}

// run does the queued multiplications.
func (l *lockstepFFT) run() {
	l.ls.Mul(l.jobs, &glv().beta)
	l.jobs, l.ptrs = l.jobs[:0], l.ptrs[:0]
}

// fft is g1FFT on rows of c points (row i is a[i·c : (i+1)·c]), every
// butterfly applied to the c points of its rows in lock-step.
func (l *lockstepFFT) fft(a []bls.G1Affine, c int, omega fr.Element) {
	n := len(a) / c
	if n <= 1 {
		return
	}
	logN := bits.TrailingZeros(uint(n))
	bitReverseRows(a, c)
	tw := g1Twiddles(n, omega)
	l.t = grow(l.t, n/2*c)
	l.neg = grow(l.neg, n/2*c)
	t, neg := l.t, l.neg
	for s := 1; s <= logN; s++ {
		m := 1 << s
		half := m / 2
		stride := n / m
		// t[b] = ω^(j·stride)·a[i1] for butterfly b = (blk, j), every cell.
		for b := range n / 2 {
			blk, j := b/half, b%half
			i1 := blk*m + j + half
			copy(t[b*c:(b+1)*c], a[i1*c:(i1+1)*c])
		}
		l.jobs, l.ptrs = l.jobs[:0], l.ptrs[:0]
		for j := 1; j < half; j++ { // j = 0: ω^0 = 1
			lo := len(l.ptrs)
			for blk := range n / m {
				b := blk*half + j
				for x := range c {
					l.ptrs = append(l.ptrs, &t[b*c+x])
				}
			}
			l.jobs = append(l.jobs, msm.Job{Pts: l.ptrs[lo:len(l.ptrs):len(l.ptrs)], NAF: &tw[j*stride].naf})
			if tw[j*stride].gen { // not seen: done apart
				for _, p := range l.jobs[len(l.jobs)-1].Pts {
					tw[j*stride].mulAffine(p)
				}
				l.jobs = l.jobs[:len(l.jobs)-1]
				l.ptrs = l.ptrs[:lo]
			}
		}
		l.run()
		// a[i1] = a[i0] − t, then a[i0] = a[i0] + t: a[i0] is read by the
		// first pair before the second writes it, as AddPairs allows.
		l.dst, l.a, l.q = l.dst[:0], l.a[:0], l.q[:0]
		for b := range n / 2 {
			blk, j := b/half, b%half
			i0 := blk*m + j
			i1 := i0 + half
			for x := range c {
				neg[b*c+x].Neg(&t[b*c+x])
				l.dst = append(l.dst, &a[i1*c+x])
				l.a = append(l.a, &a[i0*c+x])
				l.q = append(l.q, &neg[b*c+x])
			}
		}
		for b := range n / 2 {
			blk, j := b/half, b%half
			i0 := blk*m + j
			for x := range c {
				l.dst = append(l.dst, &a[i0*c+x])
				l.a = append(l.a, &a[i0*c+x])
				l.q = append(l.q, &t[b*c+x])
			}
		}
		l.ls.AddPairs(l.dst, l.a, l.q)
	}
}

// bitReverseRows permutes the rows of c points of a into bit-reversed order.
func bitReverseRows(a []bls.G1Affine, c int) {
	n := len(a) / c
	if n <= 1 {
		return
	}
	shift := 64 - bits.TrailingZeros(uint(n))
	for i := range n {
		r := int(bits.Reverse64(uint64(i)) >> shift)
		if r > i {
			for x := range c {
				a[i*c+x], a[r*c+x] = a[r*c+x], a[i*c+x]
			}
		}
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
