package encoder

import (
	"context"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Encoder runs the zgda/v2 codec (docs/spec.md §3.3 Batch matrix … §3.6
// Reconstruction): batch encoding, column extension, cells and
// reconstruction. Extensions go through its Backend; decoding runs in Go on
// the configured number of workers. An Encoder is safe for concurrent use.
type Encoder struct {
	backend Backend
	workers int
}

// Option configures New.
type Option func(*config) error

type config struct {
	backend Backend
	workers int
}

// WithBackend selects the backend for extensions (default: NewCPUBackend with
// the WithWorkers count).
func WithBackend(b Backend) Option {
	return func(c *config) error {
		if b == nil {
			return errNilBackend
		}
		c.backend = b
		return nil
	}
}

// WithWorkers sets how many goroutines the CPU backend and decoding use
// (0 = runtime.NumCPU()).
func WithWorkers(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("encoder: WithWorkers(%d): must be ≥ 0 (0 = number of CPUs)", n)
		}
		c.workers = n
		return nil
	}
}

// New returns an Encoder.
func New(opts ...Option) (*Encoder, error) {
	var c config
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.backend == nil {
		c.backend = NewCPUBackend(c.workers)
	}
	return &Encoder{backend: c.backend, workers: c.workers}, nil
}

// Backend returns the backend in use.
func (e *Encoder) Backend() Backend { return e.backend }

// BatchConcurrency is how many EncodeBatch calls the backend runs at once
// (ConcurrentBackend; 1 without it): how many a pipeline should have in
// progress. EncodeBatch is safe for concurrent use either way.
func (e *Encoder) BatchConcurrency() int {
	if c, ok := e.backend.(ConcurrentBackend); ok {
		return max(1, c.BatchConcurrency())
	}
	return 1
}

// Extend returns the 4K extended rows of K matrix rows (K a power of two ≤
// MaxBatchRows, rows of ElementsPerRow; docs/spec.md §3.4 Column extension). Rows 0..K−1 are copies of data; the result
// is freshly allocated and data is not modified.
func (e *Encoder) Extend(ctx context.Context, data [][]fr.Element) ([][]fr.Element, error) {
	if err := checkK(len(data)); err != nil {
		return nil, err
	}
	out := newRows(ColumnExtension*len(data), ElementsPerRow)
	if err := e.backend.ExtendColumns(ctx, data, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Cells returns the 128 EIP-7594 cells (64 elements each, compute_cells order) of
// a row of ElementsPerRow evaluations. The cells share one fresh allocation.
func (e *Encoder) Cells(ctx context.Context, row []fr.Element) ([][]fr.Element, error) {
	if len(row) != ElementsPerRow {
		return nil, shapeErr("row has %d elements, want %d", len(row), ElementsPerRow)
	}
	ext := make([]fr.Element, ElementsPerExtRow)
	if err := e.backend.ExtendRows(ctx, [][]fr.Element{row}, [][]fr.Element{ext}); err != nil {
		return nil, err
	}
	return splitCells(ext), nil
}

// splitCells views an extended row as its 128 cells.
func splitCells(ext []fr.Element) [][]fr.Element {
	cells := make([][]fr.Element, CellsPerRow)
	for c := range cells {
		cells[c] = ext[c*ElementsPerCell : (c+1)*ElementsPerCell : (c+1)*ElementsPerCell]
	}
	return cells
}
