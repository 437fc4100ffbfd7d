package encoder

import (
	"fmt"

	"github.com/zgda/zgda/da"
)

// zgda/v2 sizes (docs/spec.md §3.1 Packing, §3.3 Batch matrix). The counts are
// package da's, so that every package agrees on them.
const (
	// BytesPerElement is the payload carried by one field element (its 32-byte
	// big-endian encoding is a zero byte followed by these 31 bytes).
	BytesPerElement = 31
	// ElementsPerRow is the number of field elements in a row (an EIP-4844 blob).
	ElementsPerRow = 4096
	// BytesPerRow is the payload of one row, 126,976 bytes.
	BytesPerRow = da.BytesPerRow
	// MaxBlobRows is the most rows R of one blob.
	MaxBlobRows = da.MaxBlobRows
	// MaxBlobSize is the largest blob, in bytes (32,505,856).
	MaxBlobSize = da.MaxBlobLength
	// MaxBatchRows bounds D, the data rows of one batch matrix; K ≤ MaxBatchRows too.
	MaxBatchRows = da.MaxBatchRows
	// ColumnExtension is the rate inverse of the column code: the K matrix rows
	// extend to 4K, of which 4D are dispersed.
	ColumnExtension = da.ExtensionFactor
	// ElementsPerExtRow is the number of evaluations of a row extended ×2 (EIP-7594).
	ElementsPerExtRow = 2 * ElementsPerRow
	// CellsPerRow is the number of EIP-7594 cells of an extended row.
	CellsPerRow = 128
	// ElementsPerCell is the number of field elements in a cell.
	ElementsPerCell = ElementsPerExtRow / CellsPerRow // 64
	// cellsNeeded is the number of cells that determine a row.
	cellsNeeded = CellsPerRow / 2
)

// Params are the codec parameters of one blob (docs/spec.md §3.1 Packing).
type Params struct {
	Length int // L, the blob's length in bytes
	Rows   int // R = ceil(L / BytesPerRow), exactly: no rounding
}

// ParamsFor returns the parameters of a blob of the given length, or
// ErrEmptyBlob / ErrBlobTooLarge.
func ParamsFor(length int) (Params, error) {
	if length <= 0 {
		return Params{}, fmt.Errorf("%w (length %d)", ErrEmptyBlob, length)
	}
	if length > MaxBlobSize {
		return Params{}, fmt.Errorf("%w: %d bytes, the limit is %d bytes (%d rows of %d)",
			ErrBlobTooLarge, length, MaxBlobSize, MaxBlobRows, BytesPerRow)
	}
	return Params{Length: length, Rows: int(da.RowsFor(uint64(length)))}, nil
}

// validK reports whether k is a legal matrix height K (a power of two in [1, MaxBatchRows]).
func validK(k int) bool { return k >= 1 && k <= MaxBatchRows && k&(k-1) == 0 }

func checkK(k int) error {
	if !validK(k) {
		return fmt.Errorf("%w: K = %d matrix rows: must be a power of two in [1, %d]", ErrShape, k, MaxBatchRows)
	}
	return nil
}

// checkD checks a batch's data-row count D.
func checkD(d int) error {
	if d < 1 || d > MaxBatchRows {
		return fmt.Errorf("%w: D = %d data rows: must be in [1, %d]", ErrShape, d, MaxBatchRows)
	}
	return nil
}
