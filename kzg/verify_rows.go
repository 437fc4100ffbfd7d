package kzg

import (
	"fmt"
	"math/big"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr/fft"

	"github.com/zgda/zgda/internal/par"
)

// BatchRow is row Index of a batch's column-extended matrix (0 ≤ Index < 4K;
// docs/spec.md §3.4 Column extension), as VerifyBatchRows checks it.
type BatchRow struct {
	Index int          // extended row j < 4K
	Row   []fr.Element // 4096 elements
}

// VerifyBatchRows checks rows of a batch's extended matrix against the
// commitments of its D data rows (k = K, the smallest power of two ≥ D), as
// a DA node checks what it holds (docs/spec.md §3.4 Column extension, §3.3 Batch
// matrix), without deriving a single commitment.
//
// With weights r_t from crypto/rand, Σ r_t·C_{j_t} = Σ_{i<D} s_i·C_i where
// s_i = Σ_t r_t·ℓ_i(x_{j_t}) (ℓ_i the Lagrange basis over the K matrix
// points; the padding rows' terms vanish), so the whole set costs one
// 4096-point MSM for commit(Σ r_t·row_t) and one D-point MSM. Only when
// that check fails does it bisect (see bisect): one bad row among n is
// named after 1 + ⌈log2 n⌉ checks, each bad row costs at most ⌈log2 n⌉
// more.
//
// It returns the positions in rows of the bad ones (ascending, nil when all
// verify) and the number of random-linear-combination checks done. An honest
// row never fails a check; a bad one escapes with probability at most
// 2n/|Fr|. rows and data are only read.
func (c *Context) VerifyBatchRows(data []Commitment, k int, rows []BatchRow) (bad []int, checks int, err error) {
	d := len(data)
	if err := checkMatrix(d, k); err != nil {
		return nil, 0, err
	}
	for t, r := range rows {
		if r.Index < 0 || r.Index >= 4*k {
			return nil, 0, fmt.Errorf("%w: row %d has index %d outside [0, %d)", ErrBadArgument, t, r.Index, 4*k)
		}
		if len(r.Row) != ScalarsPerRow {
			return nil, 0, fmt.Errorf("%w: row %d has %d", ErrRowLength, t, len(r.Row))
		}
	}
	if len(rows) == 0 {
		return nil, 0, nil
	}
	pts := make([]bls.G1Affine, d)
	for i := range data {
		p, err := decodePoint("commitment", i, data[i][:])
		if err != nil {
			return nil, 0, err
		}
		pts[i] = p
	}
	lag := newLagrange(d, k)
	weights, err := drawWeights(len(rows))
	if err != nil {
		return nil, 0, err
	}
	residual := func(set []int) (bls.G1Jac, error) {
		combined := combineRows(set, weights, func(t int) []fr.Element { return rows[t].Row }, c.workers)
		scalars := make([]fr.Element, d)
		var term fr.Element
		for _, t := range set {
			j := rows[t].Index
			switch {
			case j < d:
				scalars[j].Add(&scalars[j], &weights[t])
			case j < k: // a padding row: its commitment is the identity
			default:
				l := lag.at(j)
				for i := range scalars {
					term.Mul(&l[i], &weights[t])
					scalars[i].Add(&scalars[i], &term)
				}
			}
		}
		return c.combinationResidual(combined, pts, scalars)
	}
	return bisectG1(len(rows), residual)
}

// VerifyRows checks that every row matches its commitment, as a DA node
// checks rows whose commitments it knows (docs/spec.md §3.4 Column extension): with
// weights r_j drawn from crypto/rand, commit(Σ r_j·row_j) = Σ r_j·C_j — one
// 4096-point MSM and one len(rows)-point MSM for the whole set. Only if that
// fails does it bisect, as VerifyBatchRows does, to name the bad ones: the
// returned slice lists their indices (ascending, nil when all verify).
// Commitments are fully checked first.
func (c *Context) VerifyRows(rows [][]fr.Element, commitments []Commitment) ([]int, error) {
	if len(rows) != len(commitments) {
		return nil, fmt.Errorf("%w: %d rows, %d commitments", ErrBadArgument, len(rows), len(commitments))
	}
	if len(rows) == 0 {
		return nil, nil
	}
	pts := make([]bls.G1Affine, len(commitments))
	for i := range commitments {
		p, err := decodePoint("commitment", i, commitments[i][:])
		if err != nil {
			return nil, err
		}
		pts[i] = p
	}
	for i, r := range rows {
		if len(r) != ScalarsPerRow {
			return nil, fmt.Errorf("%w: row %d has %d", ErrRowLength, i, len(r))
		}
	}
	weights, err := drawWeights(len(rows))
	if err != nil {
		return nil, err
	}
	residual := func(set []int) (bls.G1Jac, error) {
		combined := combineRows(set, weights, func(t int) []fr.Element { return rows[t] }, c.workers)
		sub := make([]bls.G1Affine, len(set))
		scalars := make([]fr.Element, len(set))
		for w, t := range set {
			sub[w], scalars[w] = pts[t], weights[t]
		}
		return c.combinationResidual(combined, sub, scalars)
	}
	bad, _, err := bisectG1(len(rows), residual)
	return bad, err
}

// combinationResidual is commit(combined) − Σ scalars[i]·pts[i]: the
// identity exactly when the combination holds.
func (c *Context) combinationResidual(combined []fr.Element, pts []bls.G1Affine, scalars []fr.Element) (bls.G1Jac, error) {
	var rhs bls.G1Jac
	if _, err := rhs.MultiExp(pts, scalars, ecc.MultiExpConfig{NbTasks: c.workers}); err != nil {
		return bls.G1Jac{}, err
	}
	lhs, err := c.Commit(combined)
	if err != nil {
		return bls.G1Jac{}, err
	}
	var la bls.G1Affine
	if _, err := la.SetBytes(lhs[:]); err != nil {
		return bls.G1Jac{}, fmt.Errorf("kzg: decoding a computed commitment: %w", err)
	}
	var out bls.G1Jac
	out.FromAffine(&la)
	out.SubAssign(&rhs)
	return out, nil
}

// bisectG1 is bisect over residuals in G1.
func bisectG1(n int, residual func(set []int) (bls.G1Jac, error)) ([]int, int, error) {
	return bisect(n, residual,
		func(a, b bls.G1Jac) bls.G1Jac { a.SubAssign(&b); return a },
		func(a bls.G1Jac) bool { return a.Z.IsZero() })
}

// bisect finds the members of [0, n) whose errors are not zero, given
// residual(set) = Σ_{t∈set} r_t·e_t (one weight r_t per member, drawn once
// for all checks; e_t = 0 for an honest member), and counts the calls to
// residual ("checks"). A set whose residual is zero is taken as honest; a
// set with a non-zero one is split in halves, and only the first half's
// residual is computed: the second half's is the difference, because the
// weights are shared. So one bad member among n costs 1 + ⌈log2 n⌉ checks,
// and every further one at most ⌈log2 n⌉. A set holding bad members passes
// only if its residual vanishes by chance: with the weights uniform in Fr,
// probability 1/|Fr| per set, and at most 2n sets are looked at.
func bisect[R any](n int, residual func(set []int) (R, error), sub func(a, b R) R, zero func(R) bool) ([]int, int, error) {
	if n == 0 {
		return nil, 0, nil
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	checks := 1
	r, err := residual(all)
	if err != nil || zero(r) {
		return nil, checks, err
	}
	var bad []int
	// walk: set's residual r is known and not zero.
	var walk func(set []int, r R) error
	walk = func(set []int, r R) error {
		if len(set) == 1 {
			bad = append(bad, set[0])
			return nil
		}
		lo, hi := set[:len(set)/2], set[len(set)/2:]
		checks++
		rlo, err := residual(lo)
		if err != nil {
			return err
		}
		rhi := sub(r, rlo)
		if !zero(rlo) {
			if err := walk(lo, rlo); err != nil {
				return err
			}
		}
		if !zero(rhi) {
			return walk(hi, rhi)
		}
		return nil
	}
	if err := walk(all, r); err != nil {
		return nil, checks, err
	}
	return bad, checks, nil
}

// lagrange caches, per extended row j ≥ K, the D values ℓ_i(x_j) =
// x_i·(x_j^K − 1) / (K·(x_j − x_i)) of the Lagrange basis over the K matrix
// points x_i = ω_K^brp(i) (docs/spec.md §3.4 Column extension), only for
// i < D: the padding rows' terms vanish.
type lagrange struct {
	d, k int
	xs   []fr.Element // the K matrix points
	ext  []fr.Element // the 4K extended points
	kInv fr.Element
	rows map[int][]fr.Element
}

func newLagrange(d, k int) *lagrange {
	l := &lagrange{d: d, k: k, xs: brpRoots(k), ext: brpRoots(4 * k), rows: map[int][]fr.Element{}}
	l.kInv.SetUint64(uint64(k))
	l.kInv.Inverse(&l.kInv)
	return l
}

// at returns ℓ_0(x_j) … ℓ_{D−1}(x_j) for j ≥ K (x_j is then outside the
// matrix points, so no denominator is zero). Not safe for concurrent use.
func (l *lagrange) at(j int) []fr.Element {
	if v, ok := l.rows[j]; ok {
		return v
	}
	x := l.ext[j]
	dens := make([]fr.Element, l.d)
	for i := range dens {
		dens[i].Sub(&x, &l.xs[i])
	}
	inv := fr.BatchInvert(dens)
	var factor fr.Element // (x^K − 1)/K
	factor.Exp(x, big.NewInt(int64(l.k)))
	factor.Sub(&factor, &one)
	factor.Mul(&factor, &l.kInv)
	for i := range inv {
		inv[i].Mul(&inv[i], &l.xs[i]).Mul(&inv[i], &factor)
	}
	l.rows[j] = inv
	return inv
}

var (
	rootsMu    sync.Mutex
	rootsCache = map[int][]fr.Element{}
)

var one = func() fr.Element { var o fr.Element; o.SetOne(); return o }()

// brpRoots returns the n-th roots of unity in bit-reversed order: entry j
// is the evaluation point of position j of a column (docs/spec.md §3.4
// Column extension). The slice is shared: callers must not modify it.
func brpRoots(n int) []fr.Element {
	rootsMu.Lock()
	defer rootsMu.Unlock()
	if r, ok := rootsCache[n]; ok {
		return r
	}
	r := make([]fr.Element, n)
	w := fft.NewDomain(uint64(n)).Generator
	r[0].SetOne()
	for i := 1; i < n; i++ {
		r[i].Mul(&r[i-1], &w)
	}
	fft.BitReverse(r)
	rootsCache[n] = r
	return r
}

// drawWeights draws n verification weights from crypto/rand.
func drawWeights(n int) ([]fr.Element, error) {
	weights := make([]fr.Element, n)
	for w := range weights {
		if _, err := weights[w].SetRandom(); err != nil {
			return nil, fmt.Errorf("kzg: drawing verification weights: %w", err)
		}
	}
	return weights, nil
}

// combineRows returns Σ_{t∈set} weights[t]·row(t), the combined row that a
// check commits to, computed on up to workers goroutines.
func combineRows(set []int, weights []fr.Element, row func(t int) []fr.Element, workers int) []fr.Element {
	combined := make([]fr.Element, ScalarsPerRow)
	par.Range(ScalarsPerRow, workers, 256, func(lo, hi int) {
		var tmp fr.Element
		for _, t := range set {
			r := row(t)[lo:hi]
			out := combined[lo:hi]
			for i := range r {
				tmp.Mul(&r[i], &weights[t])
				out[i].Add(&out[i], &tmp)
			}
		}
	})
	return combined
}
