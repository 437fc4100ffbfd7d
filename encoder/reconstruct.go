package encoder

import (
	"context"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Reconstruct returns the 4k extended rows (ElementsPerRow evaluations each) from
// a partial grid of cells: grid[j][c] is cell c of extended row j (j in [0, 4k),
// c in [0, 128), ElementsPerCell elements; a nil row or cell is missing).
//
// It decodes iteratively in two dimensions until done or stuck: every row with
// ≥ 64 cells is completed along the row (RecoverCells); once ≥ k rows are
// complete the rest follow along the columns (RecoverRows); otherwise every cell
// column held by ≥ k rows is completed along the column — a column of cells is
// itself a rate-1/4 code in j, because row and column extension commute.
//
// Every given cell is checked against the result: a disagreeing one gives a
// *ByzantineError. (Where only a minimal set is given there is nothing to check
// against — any such set fits exactly one codeword; commitments are the check.) A pattern that neither rule can finish gives a *RecoveryError
// (ErrUnrecoverable) listing the incomplete rows. grid is not modified.
func (e *Encoder) Reconstruct(ctx context.Context, k int, grid [][][]fr.Element) ([][]fr.Element, error) {
	if err := checkK(k); err != nil {
		return nil, err
	}
	n := ColumnExtension * k
	if len(grid) != n {
		return nil, shapeErr("grid has %d rows, want 4K = %d", len(grid), n)
	}
	g := &grid2D{k: k, n: n, cells: make([][]([]fr.Element), n), have: make([][]bool, n),
		count: make([]int, n), ext: make([][]fr.Element, n)}
	for j, row := range grid {
		g.cells[j] = make([][]fr.Element, CellsPerRow)
		g.have[j] = make([]bool, CellsPerRow)
		if row == nil {
			continue
		}
		if len(row) != CellsPerRow {
			return nil, shapeErr("grid row %d has %d cells, want %d", j, len(row), CellsPerRow)
		}
		for c, cell := range row {
			if cell == nil {
				continue
			}
			if len(cell) != ElementsPerCell {
				return nil, shapeErr("cell (%d, %d) has %d elements, want %d", j, c, len(cell), ElementsPerCell)
			}
			g.cells[j][c] = cell
			g.have[j][c] = true
			g.count[j]++
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rowsDone, err := e.completeRows(ctx, g)
		if err != nil {
			return nil, err
		}
		if g.complete() >= k {
			return e.finishGrid(ctx, g, grid)
		}
		colsDone, err := e.completeCellColumns(ctx, g)
		if err != nil {
			return nil, err
		}
		if rowsDone == 0 && colsDone == 0 {
			var incomplete []int
			for j := 0; j < n; j++ {
				if g.ext[j] == nil {
					incomplete = append(incomplete, j)
				}
			}
			return nil, &RecoveryError{Axis: AxisGrid, Line: -1, Have: g.complete(), Need: k, Missing: incomplete}
		}
	}
}

// grid2D is Reconstruct's working state. cells[j][c] aliases the caller's cell
// (read only) or a row's ext; ext[j] is set once row j is complete.
type grid2D struct {
	k, n  int
	cells [][][]fr.Element
	have  [][]bool
	count []int
	ext   [][]fr.Element
}

func (g *grid2D) complete() int {
	m := 0
	for _, x := range g.ext {
		if x != nil {
			m++
		}
	}
	return m
}

// completeRows decodes every incomplete row that has ≥ 64 cells.
func (e *Encoder) completeRows(ctx context.Context, g *grid2D) (int, error) {
	var todo []int
	for j := 0; j < g.n; j++ {
		if g.ext[j] == nil && g.count[j] >= cellsNeeded {
			todo = append(todo, j)
		}
	}
	var (
		mu     sync.Mutex
		byzErr *ByzantineError
	)
	err := forEach(ctx, e.workers, len(todo), 1, noState, func(_ struct{}, lo, hi int) error {
		for _, j := range todo[lo:hi] {
			ext := make([]fr.Element, ElementsPerExtRow)
			cells := g.cells[j]
			bad, err := decodeRow(g.have[j], func(c int) []fr.Element { return cells[c] }, ext, true)
			if err != nil {
				return err
			}
			if bad >= 0 {
				mu.Lock()
				if byzErr == nil || j < byzErr.Line {
					byzErr = &ByzantineError{Axis: AxisRow, Line: j, Index: bad}
				}
				mu.Unlock()
				continue
			}
			g.ext[j] = ext // rows in todo are distinct: no two workers touch row j
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if byzErr != nil {
		return 0, byzErr
	}
	for _, j := range todo {
		ext := g.ext[j]
		for c := 0; c < CellsPerRow; c++ {
			g.cells[j][c] = ext[c*ElementsPerCell : (c+1)*ElementsPerCell]
			g.have[j][c] = true
		}
		g.count[j] = CellsPerRow
	}
	return len(todo), nil
}

// completeCellColumns decodes every cell column held by ≥ k but not all rows.
func (e *Encoder) completeCellColumns(ctx context.Context, g *grid2D) (int, error) {
	var todo []int
	for c := 0; c < CellsPerRow; c++ {
		m := 0
		for j := 0; j < g.n; j++ {
			if g.have[j][c] {
				m++
			}
		}
		if m >= g.k && m < g.n {
			todo = append(todo, c)
		}
	}
	var (
		mu     sync.Mutex
		byzErr *ByzantineError
	)
	type scratch struct {
		present []bool
		col     [][]fr.Element
	}
	err := forEach(ctx, e.workers, len(todo), 1,
		func() *scratch { return &scratch{make([]bool, g.n), make([][]fr.Element, g.n)} },
		func(s *scratch, lo, hi int) error {
			for _, c := range todo[lo:hi] {
				for j := 0; j < g.n; j++ {
					s.present[j] = g.have[j][c]
					if s.present[j] {
						s.col[j] = g.cells[j][c]
					} else {
						s.col[j] = make([]fr.Element, ElementsPerCell)
					}
				}
				// One worker: the column is small (4k × 64) and columns run in parallel.
				bad, err := (&Encoder{workers: 1}).decodeColumns(ctx, g.k, s.present, nil, s.col)
				if err != nil {
					return err
				}
				if bad >= 0 {
					mu.Lock()
					if byzErr == nil || c < byzErr.Line {
						byzErr = &ByzantineError{Axis: AxisColumn, Line: c, Index: bad}
					}
					mu.Unlock()
					continue
				}
				// Cell column c is ours alone: writing g.cells[j][c] and g.have[j][c]
				// races with no other worker.
				for j := 0; j < g.n; j++ {
					if !s.present[j] {
						g.cells[j][c] = s.col[j]
						g.have[j][c] = true
					}
				}
			}
			return nil
		})
	if err != nil {
		return 0, err
	}
	if byzErr != nil {
		return 0, byzErr
	}
	for j := 0; j < g.n; j++ {
		m := 0
		for _, h := range g.have[j] {
			if h {
				m++
			}
		}
		g.count[j] = m
	}
	return len(todo), nil
}

// finishGrid completes all rows from the ≥ k complete ones and checks every
// given cell of the other rows against the result.
func (e *Encoder) finishGrid(ctx context.Context, g *grid2D, grid [][][]fr.Element) ([][]fr.Element, error) {
	present := make([]bool, g.n)
	out := newRows(g.n, ElementsPerRow)
	for j := 0; j < g.n; j++ {
		if g.ext[j] != nil {
			present[j] = true
			copy(out[j], g.ext[j][:ElementsPerRow])
		}
	}
	bad, err := e.decodeColumns(ctx, g.k, present, nil, out)
	if err != nil {
		return nil, err
	}
	if bad >= 0 {
		return nil, &ByzantineError{Axis: AxisColumn, Line: -1, Index: bad}
	}
	// Given cells of rows completed along the columns must match.
	var todo []int
	for j := 0; j < g.n; j++ {
		if !present[j] && grid[j] != nil {
			todo = append(todo, j)
		}
	}
	var (
		mu     sync.Mutex
		byzErr *ByzantineError
	)
	err = forEach(ctx, e.workers, len(todo), 1,
		func() []fr.Element { return make([]fr.Element, ElementsPerExtRow) },
		func(ext []fr.Element, lo, hi int) error {
			for _, j := range todo[lo:hi] {
				extended := false
				for c, cell := range grid[j] {
					if cell == nil {
						continue
					}
					if c >= cellsNeeded && !extended {
						extendRow(out[j], ext)
						extended = true
					}
					var want []fr.Element
					if c < cellsNeeded {
						want = out[j][c*ElementsPerCell : (c+1)*ElementsPerCell]
					} else {
						want = ext[c*ElementsPerCell : (c+1)*ElementsPerCell]
					}
					if !equalElems(cell, want) {
						mu.Lock()
						if byzErr == nil || j < byzErr.Index || (j == byzErr.Index && c < byzErr.Line) {
							byzErr = &ByzantineError{Axis: AxisColumn, Line: c, Index: j}
						}
						mu.Unlock()
						break
					}
				}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	if byzErr != nil {
		return nil, byzErr
	}
	return out, nil
}
