package encoder

import (
	"context"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// RecoverRows returns all 4k extended rows from any ≥ k of them (rows[j] for j in
// [0, 4k), ElementsPerRow each; nil values count as absent), by erasure decoding
// each of the 4096 columns (degree < k at ω_{4k}^{brp(j)}). It decodes from the k
// lowest-indexed rows given; if more are given and one disagrees with the
// result it returns a *ByzantineError naming the lowest such row. Too few rows
// give a *RecoveryError listing the missing ones. The result is freshly
// allocated (given rows are copied); rows is not modified.
func (e *Encoder) RecoverRows(ctx context.Context, k int, rows map[int][]fr.Element) ([][]fr.Element, error) {
	if err := checkK(k); err != nil {
		return nil, err
	}
	n := ColumnExtension * k
	present := make([]bool, n)
	for j, r := range rows {
		if j < 0 || j >= n {
			return nil, shapeErr("row index %d out of range [0, %d) for K = %d", j, n, k)
		}
		if r == nil {
			continue
		}
		if len(r) != ElementsPerRow {
			return nil, shapeErr("row %d has %d elements, want %d", j, len(r), ElementsPerRow)
		}
		present[j] = true
	}
	if err := enoughRows(k, present, -1); err != nil {
		return nil, err
	}
	out := newRows(n, ElementsPerRow)
	for j, r := range rows {
		if r != nil {
			copy(out[j], r)
		}
	}
	bad, err := e.decodeColumns(ctx, k, present, nil, out)
	if err != nil {
		return nil, err
	}
	if bad >= 0 {
		return nil, &ByzantineError{Axis: AxisColumn, Line: -1, Index: bad}
	}
	return out, nil
}

func enoughRows(k int, present []bool, line int) error {
	have := 0
	var missing []int
	for j, p := range present {
		if p {
			have++
		} else {
			missing = append(missing, j)
		}
	}
	if have < k {
		return &RecoveryError{Axis: AxisColumn, Line: line, Have: have, Need: k, Missing: missing}
	}
	return nil
}

// decodeColumns completes rows (4k rows of equal width; present ones filled,
// and only read) in place, column by column, and returns the lowest present
// row that disagrees with the decoded columns, or −1. want (nil: all) says
// which absent rows to fill in; rows[j] may be nil for the others.
func (e *Encoder) decodeColumns(ctx context.Context, k int, present, want []bool, rows [][]fr.Element) (int, error) {
	cc, err := newColumnCode(k, present, want)
	if err != nil {
		return -1, err
	}
	n, width := cc.n, len(rows[cc.chosen[0]])
	if len(cc.missing) == 0 && len(cc.extras) == 0 {
		return -1, nil
	}
	var (
		mu  sync.Mutex
		bad = -1
	)
	type scratch struct{ e, tmp []fr.Element }
	err = forEach(ctx, e.workers, width, columnChunk,
		func() *scratch { return &scratch{make([]fr.Element, n), make([]fr.Element, n)} },
		func(s *scratch, lo, hi int) error {
			localBad := -1
			for t := lo; t < hi; t++ {
				for _, j := range cc.chosen {
					s.e[j] = rows[j][t]
				}
				cc.decode(s.e, s.tmp)
				for _, j := range cc.extras {
					if (localBad < 0 || j < localBad) && !rows[j][t].Equal(&s.e[j]) {
						localBad = j
					}
				}
				for _, j := range cc.missing {
					rows[j][t] = s.e[j]
				}
			}
			if localBad >= 0 {
				mu.Lock()
				if bad < 0 || localBad < bad {
					bad = localBad
				}
				mu.Unlock()
			}
			return nil
		})
	return bad, err
}

// RecoverCells returns a row's ElementsPerRow evaluations from any ≥ 64 of its
// 128 EIP-7594 cells (cells[c], c in [0, 128), ElementsPerCell each; nil values
// count as absent). It decodes from the 64 lowest-indexed cells given; if more
// are given and one disagrees it returns a *ByzantineError naming the lowest
// such cell. Too few cells give a *RecoveryError listing the missing ones. The
// result is freshly allocated; cells is not modified.
func (e *Encoder) RecoverCells(ctx context.Context, cells map[int][]fr.Element) ([]fr.Element, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	present := make([]bool, CellsPerRow)
	for c, v := range cells {
		if c < 0 || c >= CellsPerRow {
			return nil, shapeErr("cell index %d out of range [0, %d)", c, CellsPerRow)
		}
		if v == nil {
			continue
		}
		if len(v) != ElementsPerCell {
			return nil, shapeErr("cell %d has %d elements, want %d", c, len(v), ElementsPerCell)
		}
		present[c] = true
	}
	if err := enoughCells(present, -1); err != nil {
		return nil, err
	}
	buf := extPool.Get().(*[]fr.Element)
	defer extPool.Put(buf)
	ext := *buf
	bad, err := decodeRow(present, func(c int) []fr.Element { return cells[c] }, ext, false)
	if err != nil {
		return nil, err
	}
	if bad >= 0 {
		return nil, &ByzantineError{Axis: AxisRow, Line: -1, Index: bad}
	}
	row := make([]fr.Element, ElementsPerRow)
	copy(row, ext)
	return row, nil
}

var extPool = sync.Pool{New: func() any { b := make([]fr.Element, ElementsPerExtRow); return &b }}

func enoughCells(present []bool, line int) error {
	have := 0
	var missing []int
	for c, p := range present {
		if p {
			have++
		} else {
			missing = append(missing, c)
		}
	}
	if have < cellsNeeded {
		return &RecoveryError{Axis: AxisRow, Line: line, Have: have, Need: cellsNeeded, Missing: missing}
	}
	return nil
}
