package kzg

import (
	"fmt"
	"math/big"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr/fft"
)

// ExtendedRow is row Index (0 ≤ Index < 4K) of the column-extended matrix of
// blob Blob, an index into the blobs argument of VerifyExtendedRows.
type ExtendedRow struct {
	Blob  int
	Index int
	Row   []fr.Element // 4096 elements
}

// VerifyExtendedRows checks rows of column-extended blobs against their
// blobs' data commitments C_0 … C_{K−1} (blobs[b]), as a DA node checks a
// batch (DESIGN.md §4), without deriving a single commitment. With weights
// r_t from crypto/rand, Σ r_t·C_{j_t} = Σ_i s_i·C_i where
// s_i = Σ_t r_t·L_i(x_{j_t}) (L_i the Lagrange basis of the data rows'
// points), so the whole batch costs one 4096-point MSM for commit(Σ r_t·row_t)
// and one MSM over the blobs' data commitments. Only when that fails are the
// rows checked one by one; the returned slice lists the bad ones (indices
// into rows), nil when all verify. rows and blobs are only read.
func (c *Context) VerifyExtendedRows(blobs [][]Commitment, rows []ExtendedRow) ([]int, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	points := make([][]bls.G1Affine, len(blobs))
	for b, data := range blobs {
		k := len(data)
		if k == 0 || k&(k-1) != 0 || k > 256 {
			return nil, fmt.Errorf("%w: blob %d has %d data commitments, want a power of two ≤ 256", ErrBadArgument, b, k)
		}
		points[b] = make([]bls.G1Affine, k)
		for i := range data {
			p, err := decodePoint("commitment", i, data[i][:])
			if err != nil {
				return nil, fmt.Errorf("blob %d: %w", b, err)
			}
			points[b][i] = p
		}
	}
	for t, r := range rows {
		if r.Blob < 0 || r.Blob >= len(blobs) {
			return nil, fmt.Errorf("%w: row %d names blob %d of %d", ErrBadArgument, t, r.Blob, len(blobs))
		}
		if ext := 4 * len(blobs[r.Blob]); r.Index < 0 || r.Index >= ext {
			return nil, fmt.Errorf("%w: row %d has index %d outside [0, %d)", ErrBadArgument, t, r.Index, ext)
		}
		if len(r.Row) != ScalarsPerRow {
			return nil, fmt.Errorf("%w: row %d has %d", ErrRowLength, t, len(r.Row))
		}
	}

	weights, combined, err := randomCombination(len(rows), func(t int) []fr.Element { return rows[t].Row })
	if err != nil {
		return nil, err
	}

	// Scalars s_i per blob. For j < K the row is a data row (L_i(x_j) = δ_ij);
	// otherwise L_i(x) = (x^K − 1)·y_i / (K·(x − y_i)), with the K points
	// y_i = ω_K^brp(i). All (x − y_i) are inverted in one batch.
	scalars := make([][]fr.Element, len(blobs))
	for b := range blobs {
		scalars[b] = make([]fr.Element, len(blobs[b]))
	}
	type pending struct{ t, b, k int }
	var todo []pending
	var dens []fr.Element
	dataPts := map[int][]fr.Element{} // K → y_i
	for t, r := range rows {
		k := len(blobs[r.Blob])
		if r.Index < k {
			scalars[r.Blob][r.Index].Add(&scalars[r.Blob][r.Index], &weights[t])
			continue
		}
		ys, ok := dataPts[k]
		if !ok {
			ys = brpRoots(k)
			dataPts[k] = ys
		}
		x := brpRoots(4 * k)[r.Index]
		for i := 0; i < k; i++ {
			var d fr.Element
			d.Sub(&x, &ys[i])
			dens = append(dens, d)
		}
		todo = append(todo, pending{t, r.Blob, k})
	}
	inv := fr.BatchInvert(dens)
	off := 0
	for _, p := range todo {
		r := rows[p.t]
		ys := dataPts[p.k]
		x := brpRoots(4 * p.k)[r.Index]
		// factor = r_t·(x^K − 1)/K
		var factor, kInv fr.Element
		factor.Exp(x, bigInt(p.k))
		factor.Sub(&factor, &one)
		kInv.SetUint64(uint64(p.k))
		kInv.Inverse(&kInv)
		factor.Mul(&factor, &kInv)
		factor.Mul(&factor, &weights[p.t])
		for i := 0; i < p.k; i++ {
			var term fr.Element
			term.Mul(&ys[i], &inv[off+i])
			term.Mul(&term, &factor)
			scalars[p.b][i].Add(&scalars[p.b][i], &term)
		}
		off += p.k
	}

	var allPts []bls.G1Affine
	var allSc []fr.Element
	for b := range blobs {
		allPts = append(allPts, points[b]...)
		allSc = append(allSc, scalars[b]...)
	}
	var rhs bls.G1Affine
	if _, err := rhs.MultiExp(allPts, allSc, ecc.MultiExpConfig{NbTasks: c.workers}); err != nil {
		return nil, err
	}
	lhs, err := c.Commit(combined)
	if err != nil {
		return nil, err
	}
	if lhs == Commitment(rhs.Bytes()) {
		return nil, nil
	}

	// Slow path, only for a batch that fails: name the bad rows.
	derived := make([][]Commitment, len(blobs))
	var bad []int
	for t, r := range rows {
		if derived[r.Blob] == nil {
			if derived[r.Blob], err = c.DeriveCommitments(blobs[r.Blob]); err != nil {
				return nil, err
			}
		}
		got, err := c.Commit(r.Row)
		if err != nil {
			return nil, err
		}
		if got != derived[r.Blob][r.Index] {
			bad = append(bad, t)
		}
	}
	if bad == nil {
		// Cannot happen when the arithmetic above is right; never accept.
		return nil, fmt.Errorf("kzg: batch check failed but every row verifies alone (internal error)")
	}
	return bad, nil
}

var (
	rootsMu    sync.Mutex
	rootsCache = map[int][]fr.Element{}
)

func bigInt(k int) *big.Int { return big.NewInt(int64(k)) }

var one = func() fr.Element { var o fr.Element; o.SetOne(); return o }()

// brpRoots returns the n-th roots of unity in bit-reversed order: entry j
// is the evaluation point of position j of a zgda/v1 column.
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

// randomCombination draws n weights r_t from crypto/rand and returns them
// with Σ r_t·row(t), the combined row that a batch check commits to.
func randomCombination(n int, row func(t int) []fr.Element) ([]fr.Element, []fr.Element, error) {
	weights := make([]fr.Element, n)
	combined := make([]fr.Element, ScalarsPerRow)
	for t := 0; t < n; t++ {
		if _, err := weights[t].SetRandom(); err != nil {
			return nil, nil, fmt.Errorf("kzg: drawing verification weights: %w", err)
		}
		r := row(t)
		var tmp fr.Element
		for i := range combined {
			tmp.Mul(&r[i], &weights[t])
			combined[i].Add(&combined[i], &tmp)
		}
	}
	return weights, combined, nil
}
