package encoder

import (
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder/internal/rs"
)

// columnCode decodes the rate-1/4 column code (degree < k at the 4k points
// ω_{4k}^{brp(j)}) for one erasure pattern. It decodes from the k lowest present
// positions ("chosen"); the other present positions ("extras") are checked
// against the result by the caller.
type columnCode struct {
	k, n       int
	chosen     []int
	extras     []int
	missing    []int
	systematic bool        // chosen = 0..k−1: decoding is plain extension
	dec        *rs.Decoder // when !systematic
	ext        *rs.Extender
	full       *rs.Domain
}

// newColumnCode needs at least k present positions among present (length 4k).
func newColumnCode(k int, present []bool) (*columnCode, error) {
	n := ColumnExtension * k
	cc := &columnCode{k: k, n: n, ext: rs.GetExtender(k, ColumnExtension), full: rs.GetDomain(n)}
	var notChosen []int
	for j := 0; j < n; j++ {
		switch {
		case present[j] && len(cc.chosen) < k:
			cc.chosen = append(cc.chosen, j)
		case present[j]:
			cc.extras = append(cc.extras, j)
			notChosen = append(notChosen, j)
		default:
			cc.missing = append(cc.missing, j)
			notChosen = append(notChosen, j)
		}
	}
	cc.systematic = cc.chosen[k-1] == k-1
	if !cc.systematic {
		dec, err := rs.NewDecoder(n, 1, notChosen)
		if err != nil {
			return nil, err
		}
		cc.dec = dec
	}
	return cc, nil
}

// decode takes e (length n) holding the chosen positions' values and
// overwrites it with all n values of the column, in row order. tmp has length n.
func (cc *columnCode) decode(e, tmp []fr.Element) {
	if cc.systematic {
		k := cc.k
		coeffs := tmp[:k]
		copy(coeffs, e[:k])
		cc.ext.Dom.IFFT(coeffs)
		for b := 1; b < ColumnExtension; b++ {
			cc.ext.Block(e[b*k:(b+1)*k], coeffs, b)
		}
		return
	}
	cc.dec.Decode(e)
	// Decode is exact: the coefficients from k on are zero. Re-evaluate on H_n.
	cc.full.FFT(e[:cc.n])
}

// rowDecoder recovers one extended row (8192 evaluations) from ≥ 64 of its cells.
type rowDecoder struct {
	e []fr.Element // ElementsPerExtRow scratch
}

var rowScratch = sync.Pool{New: func() any { return &rowDecoder{e: make([]fr.Element, ElementsPerExtRow)} }}

// decodeRow writes the row's 8192 evaluations into ext from the present cells
// (cell(c) is called only for present c). It decodes from the 64 lowest present
// cells and returns the lowest other present cell that disagrees, or −1.
func decodeRow(present []bool, cell func(c int) []fr.Element, ext []fr.Element) (bad int, err error) {
	var chosen, notChosen []int
	for c := 0; c < CellsPerRow; c++ {
		if present[c] && len(chosen) < cellsNeeded {
			chosen = append(chosen, c)
		} else {
			notChosen = append(notChosen, c)
		}
	}
	rd := rowScratch.Get().(*rowDecoder)
	defer rowScratch.Put(rd)
	coeffs := rd.e
	if chosen[cellsNeeded-1] == cellsNeeded-1 {
		// The row itself is present: extend it.
		for _, c := range chosen {
			copy(ext[c*ElementsPerCell:], cell(c))
		}
		copy(coeffs[:ElementsPerRow], ext[:ElementsPerRow])
		rs.GetDomain(ElementsPerRow).IFFT(coeffs[:ElementsPerRow])
	} else {
		dec, err := rs.NewDecoder(ElementsPerExtRow, ElementsPerCell, notChosen)
		if err != nil {
			return -1, err
		}
		for _, c := range chosen {
			copy(coeffs[c*ElementsPerCell:(c+1)*ElementsPerCell], cell(c))
		}
		dec.Decode(coeffs)
	}
	extendCoeffs(coeffs[:ElementsPerRow], ext)
	for _, c := range notChosen {
		if present[c] && !equalElems(cell(c), ext[c*ElementsPerCell:(c+1)*ElementsPerCell]) {
			return c, nil
		}
	}
	return -1, nil
}

func equalElems(a, b []fr.Element) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(&b[i]) {
			return false
		}
	}
	return true
}
