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
// that check fails does it bisect: each failing set is split in halves,
// checked with fresh weights, and searched further where it fails, so one
// bad row among n is named after at most 2·⌈log2 n⌉+1 checks.
//
// It returns the positions in rows of the bad ones (ascending, nil when all
// verify) and the number of random-linear-combination checks done. An honest
// row never fails a check; a bad one passes a check with probability
// 1/|Fr|. rows and data are only read.
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
	check := func(set []int) (bool, error) {
		weights, combined, err := randomCombination(set, func(t int) []fr.Element { return rows[t].Row }, c.workers)
		if err != nil {
			return false, err
		}
		scalars := make([]fr.Element, d)
		var term fr.Element
		for w, t := range set {
			j := rows[t].Index
			switch {
			case j < d:
				scalars[j].Add(&scalars[j], &weights[w])
			case j < k: // a padding row: its commitment is the identity
			default:
				l := lag.at(j)
				for i := range scalars {
					term.Mul(&l[i], &weights[w])
					scalars[i].Add(&scalars[i], &term)
				}
			}
		}
		return c.combinationHolds(combined, pts, scalars)
	}
	return bisect(len(rows), check)
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
	check := func(set []int) (bool, error) {
		weights, combined, err := randomCombination(set, func(t int) []fr.Element { return rows[t] }, c.workers)
		if err != nil {
			return false, err
		}
		sub := make([]bls.G1Affine, len(set))
		for w, t := range set {
			sub[w] = pts[t]
		}
		return c.combinationHolds(combined, sub, weights)
	}
	bad, _, err := bisect(len(rows), check)
	return bad, err
}

// combinationHolds reports whether commit(combined) = Σ scalars[i]·pts[i].
func (c *Context) combinationHolds(combined []fr.Element, pts []bls.G1Affine, scalars []fr.Element) (bool, error) {
	var rhs bls.G1Affine
	if _, err := rhs.MultiExp(pts, scalars, ecc.MultiExpConfig{NbTasks: c.workers}); err != nil {
		return false, err
	}
	lhs, err := c.Commit(combined)
	if err != nil {
		return false, err
	}
	return lhs == Commitment(rhs.Bytes()), nil
}

// bisect finds the failing members of [0, n) with check (true: the subset
// passes) and counts the checks. A set of honest members never fails, so
// a failing set holds a bad member; when its first half passes, the second
// half is known to fail without a check of its own. A bad member survives a
// check only with probability 1/|Fr|.
func bisect(n int, check func(set []int) (bool, error)) ([]int, int, error) {
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	checks := 0
	var bad []int
	var walk func(set []int, failing bool) error
	walk = func(set []int, failing bool) error {
		if !failing {
			checks++
			ok, err := check(set)
			if err != nil || ok {
				return err
			}
		}
		if len(set) == 1 {
			bad = append(bad, set[0])
			return nil
		}
		lo, hi := set[:len(set)/2], set[len(set)/2:]
		checks++
		ok, err := check(lo)
		if err != nil {
			return err
		}
		if ok {
			return walk(hi, true)
		}
		if err := walk(lo, true); err != nil {
			return err
		}
		return walk(hi, false)
	}
	if err := walk(all, false); err != nil {
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

// randomCombination draws one weight per member of set from crypto/rand
// and returns them with Σ r_w·row(set[w]), the combined row that a check
// commits to, computed on up to workers goroutines.
func randomCombination(set []int, row func(t int) []fr.Element, workers int) ([]fr.Element, []fr.Element, error) {
	weights := make([]fr.Element, len(set))
	for w := range weights {
		if _, err := weights[w].SetRandom(); err != nil {
			return nil, nil, fmt.Errorf("kzg: drawing verification weights: %w", err)
		}
	}
	combined := make([]fr.Element, ScalarsPerRow)
	par.Range(ScalarsPerRow, workers, 256, func(lo, hi int) {
		var tmp fr.Element
		for w, t := range set {
			r := row(t)[lo:hi]
			out := combined[lo:hi]
			for i := range r {
				tmp.Mul(&r[i], &weights[w])
				out[i].Add(&out[i], &tmp)
			}
		}
	})
	return weights, combined, nil
}
