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
//
// The 4k positions are four blocks of k, each a coset of H_k (block 0 is H_k:
// the data rows). When the chosen rows are exactly one block, decoding is a
// size-k interpolation; otherwise it is vanishing-polynomial erasure decoding.
type columnCode struct {
	k, n    int
	chosen  []int
	extras  []int
	missing []int
	block   int         // the block the chosen rows fill, or −1
	dec     *rs.Decoder // when block < 0
	ext     *rs.Extender
	need    []int // blocks holding missing or extra positions
}

// newColumnCode needs at least k present positions among present (length
// 4k). want (nil: every position) says which absent positions to fill in;
// the others stay absent.
func newColumnCode(k int, present, want []bool) (*columnCode, error) {
	n := ColumnExtension * k
	cc := &columnCode{k: k, n: n, ext: rs.GetExtender(k, ColumnExtension), block: -1}
	var notChosen []int
	needed := make([]bool, ColumnExtension)
	for j := 0; j < n; j++ {
		switch {
		case present[j] && len(cc.chosen) < k:
			cc.chosen = append(cc.chosen, j)
			continue
		case present[j]:
			cc.extras = append(cc.extras, j)
			needed[j/k] = true
		case want == nil || want[j]:
			cc.missing = append(cc.missing, j)
			needed[j/k] = true
		}
		notChosen = append(notChosen, j)
	}
	for b, nd := range needed {
		if nd {
			cc.need = append(cc.need, b)
		}
	}
	if first := cc.chosen[0]; first%k == 0 && cc.chosen[k-1] == first+k-1 {
		cc.block = first / k
		return cc, nil
	}
	dec, err := rs.NewDecoder(n, 1, k, notChosen)
	if err != nil {
		return nil, err
	}
	cc.dec = dec
	return cc, nil
}

// decode takes e (length n) holding the chosen positions' values and fills in
// the positions of every block in cc.need (in row order). tmp has length ≥ k.
func (cc *columnCode) decode(e, tmp []fr.Element) {
	k := cc.k
	coeffs := tmp[:k]
	if cc.block >= 0 {
		copy(coeffs, e[cc.block*k:(cc.block+1)*k])
		cc.ext.Interpolate(coeffs, cc.block)
	} else {
		copy(coeffs, cc.dec.Decode(e))
	}
	for _, b := range cc.need {
		cc.ext.Block(e[b*k:(b+1)*k], coeffs, b)
	}
}

// rowScratch holds one ElementsPerRow coefficient buffer and one
// ElementsPerExtRow decoding buffer.
type rowScratch struct{ coeffs, e []fr.Element }

var rowScratchPool = sync.Pool{New: func() any {
	return &rowScratch{make([]fr.Element, ElementsPerRow), make([]fr.Element, ElementsPerExtRow)}
}}

// decodeRow writes a row's EIP-7594 evaluations into ext from its present cells
// (cell(c) is called only for present c): always the row itself, ext[0:4096], and
// the upper half too when full is set or a present cell lies there. It decodes
// from the 64 lowest present cells and returns the lowest other present cell
// that disagrees, or −1.
func decodeRow(present []bool, cell func(c int) []fr.Element, ext []fr.Element, full bool) (bad int, err error) {
	var chosen, notChosen []int
	upperExtra := false
	for c := 0; c < CellsPerRow; c++ {
		if present[c] && len(chosen) < cellsNeeded {
			chosen = append(chosen, c)
			continue
		}
		notChosen = append(notChosen, c)
		if present[c] && c >= cellsNeeded {
			upperExtra = true
		}
	}
	s := rowScratchPool.Get().(*rowScratch)
	defer rowScratchPool.Put(s)
	x := rs.GetExtender(ElementsPerRow, 2)
	block := -1
	if first := chosen[0]; first%cellsNeeded == 0 && chosen[cellsNeeded-1] == first+cellsNeeded-1 {
		// The chosen cells are one half: the row itself (block 0) or its coset (block 1).
		block = first / cellsNeeded
		half := ext[block*ElementsPerRow : (block+1)*ElementsPerRow]
		for _, c := range chosen {
			copy(ext[c*ElementsPerCell:], cell(c))
		}
		copy(s.coeffs, half)
		x.Interpolate(s.coeffs, block)
	} else {
		dec, err := rs.NewDecoder(ElementsPerExtRow, ElementsPerCell, ElementsPerRow, notChosen)
		if err != nil {
			return -1, err
		}
		for _, c := range chosen {
			copy(s.e[c*ElementsPerCell:(c+1)*ElementsPerCell], cell(c))
		}
		copy(s.coeffs, dec.Decode(s.e))
	}
	if block != 0 {
		x.Block(ext[:ElementsPerRow], s.coeffs, 0)
	}
	if block != 1 && (full || upperExtra) {
		x.Block(ext[ElementsPerRow:ElementsPerExtRow], s.coeffs, 1)
	}
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
