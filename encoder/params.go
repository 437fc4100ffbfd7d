package encoder

import "fmt"

// zgda/v1 sizes (DESIGN.md §3).
const (
	// BytesPerElement is the payload carried by one field element (its 32-byte
	// big-endian encoding is a zero byte followed by these 31 bytes).
	BytesPerElement = 31
	// ElementsPerRow is the number of field elements in a row (an EIP-4844 blob).
	ElementsPerRow = 4096
	// BytesPerRow is the payload of one row.
	BytesPerRow = BytesPerElement * ElementsPerRow // 126,976
	// MaxRows is the largest number of data rows K.
	MaxRows = 256
	// MaxBlobSize is the largest blob, in bytes.
	MaxBlobSize = MaxRows * BytesPerRow // 32,505,856
	// ColumnExtension is the rate inverse of the column code: K data rows become 4K.
	ColumnExtension = 4
	// ElementsPerExtRow is the number of evaluations of a row extended ×2 (EIP-7594).
	ElementsPerExtRow = 2 * ElementsPerRow
	// CellsPerRow is the number of EIP-7594 cells of an extended row.
	CellsPerRow = 128
	// ElementsPerCell is the number of field elements in a cell.
	ElementsPerCell = ElementsPerExtRow / CellsPerRow // 64
	// cellsNeeded is the number of cells that determine a row.
	cellsNeeded = CellsPerRow / 2
)

// Params are the codec parameters of one blob.
type Params struct {
	Length int // L, the blob's length in bytes
	K      int // data rows: the smallest power of two ≥ ceil(L / BytesPerRow)
}

// ParamsFor returns the parameters of a blob of the given length, or
// ErrEmptyBlob / ErrBlobTooLarge.
func ParamsFor(length int) (Params, error) {
	if length <= 0 {
		return Params{}, fmt.Errorf("%w (length %d)", ErrEmptyBlob, length)
	}
	if length > MaxBlobSize {
		return Params{}, fmt.Errorf("%w: %d bytes, the limit is %d bytes (%d rows of %d)",
			ErrBlobTooLarge, length, MaxBlobSize, MaxRows, BytesPerRow)
	}
	rows := (length + BytesPerRow - 1) / BytesPerRow
	k := 1
	for k < rows {
		k <<= 1
	}
	return Params{Length: length, K: k}, nil
}

// ExtendedRows is the number of rows after column extension, 4K.
func (p Params) ExtendedRows() int { return ColumnExtension * p.K }

// validK reports whether k is a legal number of data rows (a power of two in [1, MaxRows]).
func validK(k int) bool { return k >= 1 && k <= MaxRows && k&(k-1) == 0 }

func checkK(k int) error {
	if !validK(k) {
		return fmt.Errorf("encoder: K = %d data rows: must be a power of two in [1, %d]", k, MaxRows)
	}
	return nil
}
