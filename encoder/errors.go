package encoder

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Returned errors wrap them (test with errors.Is); the typed
// errors below carry the evidence.
var (
	// ErrEmptyBlob: a blob must hold at least one byte.
	ErrEmptyBlob = errors.New("encoder: empty blob")
	// ErrBlobTooLarge: the blob is longer than MaxBlobSize.
	ErrBlobTooLarge = errors.New("encoder: blob too large")
	// ErrCorruptData: rows that packing cannot have produced (an element ≥ 2^248,
	// non-zero padding) or of the wrong shape.
	ErrCorruptData = errors.New("encoder: corrupt data")
	// ErrNotEnoughRows: fewer than K of the 4K extended rows (fewer than D of
	// a batch's N dispersed rows) were supplied.
	ErrNotEnoughRows = errors.New("encoder: not enough rows to recover")
	// ErrNotEnoughCells: fewer than 64 of a row's 128 cells were supplied.
	ErrNotEnoughCells = errors.New("encoder: not enough cells to recover the row")
	// ErrUnrecoverable: 2-D decoding stopped with rows still incomplete.
	ErrUnrecoverable = errors.New("encoder: erasure pattern is unrecoverable")
	// ErrByzantineData: supplied rows or cells are not all from one codeword.
	ErrByzantineData = errors.New("encoder: byzantine data")
	// ErrShape: an argument has the wrong length or an index is out of range.
	ErrShape = errors.New("encoder: bad shape")
	// ErrEmptyBatch: a batch must hold at least one blob.
	ErrEmptyBatch = errors.New("encoder: empty batch")
	// ErrBatchTooLarge: the blobs of a batch hold more than MaxBatchRows data rows.
	ErrBatchTooLarge = errors.New("encoder: batch too large")
	// ErrDuplicateBlob: a batch holds the same blob key twice.
	ErrDuplicateBlob = errors.New("encoder: blob appears twice in the batch")
	// ErrBadBlob: a Blob whose key does not match its length and commitments
	// (or is zero).
	ErrBadBlob = errors.New("encoder: inconsistent blob")
)

// Axis names the direction of a decoding step.
type Axis int

const (
	// AxisRow decodes along a row: cells of one extended row (EIP-7594 recovery).
	AxisRow Axis = iota
	// AxisColumn decodes along a column: the 4K extended rows at one position.
	AxisColumn
	// AxisGrid is 2-D iterative decoding as a whole.
	AxisGrid
)

func (a Axis) String() string {
	switch a {
	case AxisRow:
		return "row"
	case AxisColumn:
		return "column"
	case AxisGrid:
		return "grid"
	}
	return fmt.Sprintf("Axis(%d)", int(a))
}

// RecoveryError says that too little data was supplied, and what is missing.
// It matches ErrNotEnoughCells (AxisRow), ErrNotEnoughRows (AxisColumn) or
// ErrUnrecoverable (AxisGrid) under errors.Is.
type RecoveryError struct {
	Axis Axis
	// Line is the extended row being decoded (AxisRow) or the cell column
	// (AxisColumn inside Reconstruct); −1 when not applicable.
	Line int
	// Have and Need count cells (AxisRow) or rows (AxisColumn, AxisGrid: complete rows).
	Have, Need int
	// Missing lists the absent cells (AxisRow) or rows (AxisColumn), or the rows
	// left incomplete (AxisGrid), ascending.
	Missing []int
}

func (e *RecoveryError) Error() string {
	var what, unit string
	switch e.Axis {
	case AxisRow:
		what, unit = "cells", "cells"
		if e.Line >= 0 {
			what = fmt.Sprintf("cells of row %d", e.Line)
		}
	case AxisColumn:
		what, unit = "rows", "rows"
		if e.Line >= 0 {
			what = fmt.Sprintf("rows of cell column %d", e.Line)
		}
	default:
		return fmt.Sprintf("%v: %d complete rows, need %d; %d rows incomplete: %s",
			ErrUnrecoverable, e.Have, e.Need, len(e.Missing), fmtInts(e.Missing))
	}
	return fmt.Sprintf("%v: have %d %s, need %d; missing %s %s",
		e.sentinel(), e.Have, what, e.Need, unit, fmtInts(e.Missing))
}

func (e *RecoveryError) sentinel() error {
	switch e.Axis {
	case AxisRow:
		return ErrNotEnoughCells
	case AxisColumn:
		return ErrNotEnoughRows
	}
	return ErrUnrecoverable
}

// Unwrap returns the matching sentinel.
func (e *RecoveryError) Unwrap() error { return e.sentinel() }

// ByzantineError says that the supplied data holds more than the minimum and the
// extra rows or cells disagree with the polynomial decoded from the others (the
// lowest-indexed minimal subset), like rsmt2d's ErrByzantineData. It matches
// ErrByzantineData under errors.Is.
type ByzantineError struct {
	Axis Axis
	// Line is the row being decoded (AxisRow) or the cell column (AxisColumn in
	// Reconstruct); −1 when the decoded unit is the whole row set or a lone row.
	Line int
	// Index is the disagreeing cell (AxisRow) or row (AxisColumn).
	Index int
}

func (e *ByzantineError) Error() string {
	switch e.Axis {
	case AxisRow:
		if e.Line >= 0 {
			return fmt.Sprintf("%v: cell %d of row %d disagrees with the row decoded from the other cells", ErrByzantineData, e.Index, e.Line)
		}
		return fmt.Sprintf("%v: cell %d disagrees with the row decoded from the other cells", ErrByzantineData, e.Index)
	default:
		if e.Line >= 0 {
			return fmt.Sprintf("%v: row %d disagrees in cell column %d with the column decoded from the other rows", ErrByzantineData, e.Index, e.Line)
		}
		return fmt.Sprintf("%v: row %d disagrees with the columns decoded from the other rows", ErrByzantineData, e.Index)
	}
}

// Unwrap returns ErrByzantineData.
func (e *ByzantineError) Unwrap() error { return ErrByzantineData }

func fmtInts(v []int) string {
	const max = 32
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range v {
		if i == max {
			fmt.Fprintf(&b, " … (%d more)", len(v)-max)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, x)
	}
	b.WriteByte(']')
	return b.String()
}

func shapeErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrShape}, args...)...)
}
