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

// Pack cuts blob into 31-byte pieces (the last zero-padded) and returns its K
// rows of ElementsPerRow field elements: piece p is element p%4096 of row p/4096,
// the big-endian integer of its 31 bytes; unused elements are zero (zgda/v1
// packing, DESIGN.md §3). The rows share one fresh allocation; blob is not retained.
func Pack(blob []byte) ([][]fr.Element, error) {
	p, err := ParamsFor(len(blob))
	if err != nil {
		return nil, err
	}
	rows := newRows(p.K, ElementsPerRow)
	if err := PackInto(blob, rows); err != nil {
		return nil, err
	}
	return rows, nil
}

// PackInto is Pack into caller-owned rows (for pooling): rows must be exactly K
// rows of ElementsPerRow elements for len(blob). Every element is written.
func PackInto(blob []byte, rows [][]fr.Element) error {
	p, err := ParamsFor(len(blob))
	if err != nil {
		return err
	}
	if len(rows) != p.K {
		return shapeErr("a %d-byte blob packs into %d rows, got %d", len(blob), p.K, len(rows))
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
	for ; piece < p.K*ElementsPerRow; piece++ {
		rows[piece/ElementsPerRow][piece%ElementsPerRow].SetZero()
	}
	return nil
}

// Unpack inverts Pack: it returns the length bytes carried by rows, which must be
// the K rows of a length-byte blob. An element ≥ 2^248, non-zero padding after
// the last byte, or rows of the wrong shape give a *CorruptError (ErrCorruptData).
// rows are not modified.
func Unpack(rows [][]fr.Element, length int) ([]byte, error) {
	p, err := ParamsFor(length)
	if err != nil {
		return nil, err
	}
	if len(rows) != p.K {
		return nil, &CorruptError{Row: -1, Element: -1,
			Reason: fmt.Sprintf("a %d-byte blob has %d rows, got %d", length, p.K, len(rows))}
	}
	for i, r := range rows {
		if len(r) != ElementsPerRow {
			return nil, &CorruptError{Row: i, Element: -1,
				Reason: fmt.Sprintf("%d elements, want %d", len(r), ElementsPerRow)}
		}
	}
	out := make([]byte, length)
	var buf [fr.Bytes]byte
	pieces := (length + BytesPerElement - 1) / BytesPerElement
	for piece := 0; piece < pieces; piece++ {
		i, t := piece/ElementsPerRow, piece%ElementsPerRow
		fr.BigEndian.PutElement(&buf, rows[i][t])
		if buf[0] != 0 {
			return nil, &CorruptError{Row: i, Element: t, Reason: "value ≥ 2^248 cannot come from packing"}
		}
		off := piece * BytesPerElement
		n := copy(out[off:], buf[1:])
		for _, b := range buf[1+n:] {
			if b != 0 {
				return nil, &CorruptError{Row: i, Element: t,
					Reason: fmt.Sprintf("non-zero padding after byte %d of the blob", length)}
			}
		}
	}
	for piece := pieces; piece < p.K*ElementsPerRow; piece++ {
		i, t := piece/ElementsPerRow, piece%ElementsPerRow
		if !rows[i][t].IsZero() {
			return nil, &CorruptError{Row: i, Element: t,
				Reason: fmt.Sprintf("non-zero element after the end of a %d-byte blob", length)}
		}
	}
	return out, nil
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
