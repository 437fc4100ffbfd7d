package encoder

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// CorruptError names the element of packed rows that packing cannot have
// produced. It matches ErrCorruptData under errors.Is.
type CorruptError struct {
	Row, Element int // −1 when the problem is the rows' shape
	Reason       string
}

func (e *CorruptError) Error() string {
	if e.Row < 0 {
		return fmt.Sprintf("%v: %s", ErrCorruptData, e.Reason)
	}
	if e.Element < 0 {
		return fmt.Sprintf("%v: row %d: %s", ErrCorruptData, e.Row, e.Reason)
	}
	return fmt.Sprintf("%v: row %d element %d: %s", ErrCorruptData, e.Row, e.Element, e.Reason)
}

// Unwrap returns ErrCorruptData.
func (e *CorruptError) Unwrap() error { return ErrCorruptData }

// Pack cuts blob into 31-byte pieces (the last zero-padded) and returns its R
// rows of ElementsPerRow field elements (docs/spec.md §3.1 Packing): piece p is
// element p%4096 of row p/4096, the big-endian integer of its 31 bytes;
// unused elements are zero. The rows share one fresh allocation; blob is not
// retained.
func Pack(blob []byte) ([][]fr.Element, error) {
	p, err := ParamsFor(len(blob))
	if err != nil {
		return nil, err
	}
	rows := newRows(p.Rows, ElementsPerRow)
	if err := PackInto(blob, rows); err != nil {
		return nil, err
	}
	return rows, nil
}

// PackInto is Pack into caller-owned rows (for pooling): rows must be exactly R
// rows of ElementsPerRow elements for len(blob). Every element is written.
func PackInto(blob []byte, rows [][]fr.Element) error {
	p, err := ParamsFor(len(blob))
	if err != nil {
		return err
	}
	if len(rows) != p.Rows {
		return shapeErr("a %d-byte blob packs into %d rows, got %d", len(blob), p.Rows, len(rows))
	}
	for i, r := range rows {
		if len(r) != ElementsPerRow {
			return shapeErr("row %d has %d elements, want %d", i, len(r), ElementsPerRow)
		}
	}
	var buf [fr.Bytes]byte
	piece := 0
	for off := 0; off < len(blob); off += BytesPerElement {
		end := min(off+BytesPerElement, len(blob))
		n := copy(buf[1:], blob[off:end])
		clear(buf[1+n:])
		// buf < 2^248 < r, so the conversion cannot fail.
		e, _ := fr.BigEndian.Element(&buf)
		rows[piece/ElementsPerRow][piece%ElementsPerRow] = e
		piece++
	}
	for ; piece < p.Rows*ElementsPerRow; piece++ {
		rows[piece/ElementsPerRow][piece%ElementsPerRow].SetZero()
	}
	return nil
}

// Unpack inverts Pack: it returns the length bytes carried by rows, which must be
// the R rows of a length-byte blob. Rows that packing cannot have produced
// (see CheckCanonicalRow) or of the wrong shape give a *CorruptError
// (ErrCorruptData). rows are not modified.
func Unpack(rows [][]fr.Element, length int) ([]byte, error) {
	p, err := ParamsFor(length)
	if err != nil {
		return nil, err
	}
	if len(rows) != p.Rows {
		return nil, &CorruptError{Row: -1, Element: -1,
			Reason: fmt.Sprintf("a %d-byte blob has %d rows, got %d", length, p.Rows, len(rows))}
	}
	out := make([]byte, length)
	for r := range rows {
		if err := unpackRow(rows[r], length, r, out[r*BytesPerRow:min((r+1)*BytesPerRow, length)]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CheckCanonicalRow checks that row is row r of a canonically packed blob of
// length bytes (docs/spec.md §3.1 Packing), as DA nodes check the data rows
// they hold and decoding checks every data row: every element's top byte is
// zero and every byte after the blob's end is zero. Otherwise it returns a
// *CorruptError (ErrCorruptData) naming row r and the element. A length
// outside [1, MaxBlobSize] gives ErrEmptyBlob / ErrBlobTooLarge, an r outside
// [0, R) or a row of the wrong length an ErrShape error. row is only read.
func CheckCanonicalRow(row []fr.Element, length, r int) error {
	p, err := ParamsFor(length)
	if err != nil {
		return err
	}
	if r < 0 || r >= p.Rows {
		return shapeErr("row %d of a %d-byte blob, which has %d rows", r, length, p.Rows)
	}
	return unpackRow(row, length, r, nil)
}

// unpackRow checks row r of a length-byte blob (r < R) and, when dst is
// not nil, writes its payload (the blob's bytes [r·BytesPerRow, min((r+1)·
// BytesPerRow, length))) into dst.
func unpackRow(row []fr.Element, length, r int, dst []byte) error {
	if len(row) != ElementsPerRow {
		return &CorruptError{Row: r, Element: -1, Reason: fmt.Sprintf("%d elements, want %d", len(row), ElementsPerRow)}
	}
	pieces := (length + BytesPerElement - 1) / BytesPerElement
	first := r * ElementsPerRow
	used := min(ElementsPerRow, pieces-first) // pieces that carry bytes
	var buf [fr.Bytes]byte
	for t := 0; t < used; t++ {
		fr.BigEndian.PutElement(&buf, row[t])
		if buf[0] != 0 {
			return &CorruptError{Row: r, Element: t, Reason: "value ≥ 2^248 cannot come from packing"}
		}
		off := (first + t) * BytesPerElement
		n := min(BytesPerElement, length-off)
		if dst != nil {
			copy(dst[t*BytesPerElement:], buf[1:1+n])
		}
		for _, b := range buf[1+n:] {
			if b != 0 {
				return &CorruptError{Row: r, Element: t,
					Reason: fmt.Sprintf("non-zero padding after byte %d of the blob", length)}
			}
		}
	}
	for t := used; t < ElementsPerRow; t++ {
		if !row[t].IsZero() {
			return &CorruptError{Row: r, Element: t,
				Reason: fmt.Sprintf("non-zero element after the end of a %d-byte blob", length)}
		}
	}
	return nil
}

// newRows returns n rows of width elements backed by one allocation.
func newRows(n, width int) [][]fr.Element {
	slab := make([]fr.Element, n*width)
	rows := make([][]fr.Element, n)
	for i := range rows {
		rows[i] = slab[i*width : (i+1)*width : (i+1)*width]
	}
	return rows
}
