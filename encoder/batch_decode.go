package encoder

import (
	"context"
	"fmt"
	"sort"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/kzg"
)

// RowsRejectedError lists supplied dispersed rows that did not match their
// commitments and were left out of decoding.
type RowsRejectedError struct {
	Rows []int // dispersed row numbers n, ascending
	Err  error // the recovery error once they were left out
}

func (e *RowsRejectedError) Error() string {
	return fmt.Sprintf("encoder: rows %s do not match their commitments: %v", fmtInts(e.Rows), e.Err)
}

func (e *RowsRejectedError) Unwrap() error { return e.Err }

// DecodeBatch recovers the D data rows of a batch (docs/spec.md §3.6
// Reconstruction) from any D of its N dispersed rows: rows[n] is dispersed
// row n < N (nil values count as absent). hdr is the batch header from
// outside, checked first (da.BatchHeader.Check: canonical lengths and row
// counts, keys that hash right, D ≤ MaxBatchRows).
//
// Every supplied row is verified against the data commitments of all the
// batch's blobs with one random-linear-combination check (bisecting only if
// it fails, see kzg.Context.VerifyBatchRows); rows that fail are left out
// and returned in rejected. The matrix is rebuilt from D good rows plus the
// K − D known zero padding rows, and every data row must be canonically
// packed (CheckCanonicalRow), so the rows returned are always the committed
// ones: data[i] is matrix row i < D. Supplied data rows are returned as they
// are (not copied); recovered ones are fresh. rows is only read.
//
// Too few good rows give a *RecoveryError (ErrNotEnoughRows) listing the
// dispersed rows missing, wrapped in a *RowsRejectedError when rows were
// rejected; non-canonical rows a *CorruptError naming the blob's row.
func (e *Encoder) DecodeBatch(ctx context.Context, c Committer, hdr *da.BatchHeader, rows map[int][]fr.Element, progress Progress) (data [][]fr.Element, rejected []int, err error) {
	m, err := e.decodeMatrix(ctx, c, hdr, rows, nil, progress)
	if err != nil {
		return nil, m.rejected, err
	}
	o := 0
	for i := range hdr.Blobs {
		b := &hdr.Blobs[i]
		for r := 0; r < int(b.Rows); r++ {
			if err := unpackRow(m.rows[o+r], int(b.Length), r, nil); err != nil {
				return nil, m.rejected, fmt.Errorf("blob %d (%s): %w", i, b.Key, err)
			}
		}
		o += int(b.Rows)
	}
	return m.rows[:m.d], m.rejected, nil
}

// DecodeBlob returns the bytes of blob index of a batch (docs/spec.md §3.6
// Reconstruction), from the batch's dispersed rows as DecodeBatch takes them.
// When all of the blob's data rows (n in [o_i, o_i+R_i)) are supplied and
// verify, they are unpacked directly, with no recovery; otherwise the
// blob's rows are recovered from any D good dispersed rows. Rows that fail
// verification are left out and returned in rejected; errors are
// DecodeBatch's. Only the blob's own rows must be canonically packed.
func (e *Encoder) DecodeBlob(ctx context.Context, c Committer, hdr *da.BatchHeader, index int, rows map[int][]fr.Element, progress Progress) ([]byte, []int, error) {
	if hdr == nil {
		return nil, nil, shapeErr("nil batch header")
	}
	if err := hdr.Check(); err != nil {
		return nil, nil, fmt.Errorf("encoder: batch header: %w", err)
	}
	if index < 0 || index >= len(hdr.Blobs) {
		return nil, nil, shapeErr("blob index %d of a batch of %d blobs", index, len(hdr.Blobs))
	}
	o, b := hdr.Offsets()[index], &hdr.Blobs[index]
	r := int(b.Rows)
	own := make([][]fr.Element, r)
	fast := true
	for i := range own {
		if own[i] = rows[o+i]; own[i] == nil {
			fast = false
		}
	}
	if fast {
		list := make([]kzg.BatchRow, r)
		for i := range own {
			if len(own[i]) != ElementsPerRow {
				return nil, nil, shapeErr("row %d has %d elements, want %d", o+i, len(own[i]), ElementsPerRow)
			}
			list[i] = kzg.BatchRow{Index: o + i, Row: own[i]}
		}
		progress.report(StageVerify, 0, 1)
		bad, _, err := c.VerifyBatchRows(KZGCommitments(hdr.Commitments()), hdr.MatrixRows(), list)
		if err != nil {
			return nil, nil, err
		}
		progress.report(StageVerify, 1, 1)
		if bad == nil {
			out, err := Unpack(own, int(b.Length))
			if err != nil {
				return nil, nil, fmt.Errorf("blob %d (%s): %w", index, b.Key, err)
			}
			return out, nil, nil
		}
	}
	want := make([]bool, hdr.DataRows())
	for i := o; i < o+r; i++ {
		want[i] = true
	}
	m, err := e.decodeMatrix(ctx, c, hdr, rows, want, progress)
	if err != nil {
		return nil, m.rejected, err
	}
	out, err := Unpack(m.rows[o:o+r], int(b.Length))
	if err != nil {
		return nil, m.rejected, fmt.Errorf("blob %d (%s): %w", index, b.Key, err)
	}
	return out, m.rejected, nil
}

// decoded is decodeMatrix's result: rows[i] for the wanted data rows i < D.
type decoded struct {
	d        int
	rows     [][]fr.Element
	rejected []int
}

// decodeMatrix verifies the supplied dispersed rows and recovers the wanted
// data rows (want nil: all D). The header is checked unless want is set (its
// caller has checked it).
func (e *Encoder) decodeMatrix(ctx context.Context, c Committer, hdr *da.BatchHeader, rows map[int][]fr.Element, want []bool, progress Progress) (decoded, error) {
	if hdr == nil {
		return decoded{}, shapeErr("nil batch header")
	}
	if want == nil {
		if err := hdr.Check(); err != nil {
			return decoded{}, fmt.Errorf("encoder: batch header: %w", err)
		}
	}
	d := hdr.DataRows()
	k, n := da.MatrixRows(d), da.ExtensionFactor*d
	idx := make([]int, 0, len(rows))
	for j, r := range rows {
		if j < 0 || j >= n {
			return decoded{}, shapeErr("row index %d outside [0, %d) for a batch of %d data rows", j, n, d)
		}
		if r == nil {
			continue
		}
		if len(r) != ElementsPerRow {
			return decoded{}, shapeErr("row %d has %d elements, want %d", j, len(r), ElementsPerRow)
		}
		idx = append(idx, j)
	}
	sort.Ints(idx)
	list := make([]kzg.BatchRow, len(idx))
	for i, j := range idx {
		list[i] = kzg.BatchRow{Index: da.ExtendedRow(j, d), Row: rows[j]}
	}
	progress.report(StageVerify, 0, 1)
	badPos, _, err := c.VerifyBatchRows(KZGCommitments(hdr.Commitments()), k, list)
	if err != nil {
		return decoded{}, err
	}
	progress.report(StageVerify, 1, 1)
	out := decoded{d: d}
	good := make([]bool, n)
	for _, j := range idx {
		good[j] = true
	}
	for _, p := range badPos {
		out.rejected = append(out.rejected, idx[p])
		good[idx[p]] = false
	}
	var have int
	var missing []int
	for j, g := range good {
		if g {
			have++
		} else {
			missing = append(missing, j)
		}
	}
	if have < d {
		var err error = &RecoveryError{Axis: AxisColumn, Line: -1, Have: have, Need: d, Missing: missing}
		if out.rejected != nil {
			err = &RowsRejectedError{Rows: out.rejected, Err: err}
		}
		return out, err
	}
	out.rows = make([][]fr.Element, d)
	complete := true
	for i := 0; i < d; i++ {
		if good[i] {
			out.rows[i] = rows[i]
		} else if want == nil || want[i] {
			complete = false
		}
	}
	if complete {
		return out, nil
	}
	// Decode from exactly K rows of the 4K extended grid: the K − D padding
	// rows (known zero) and the D lowest good dispersed rows. With no extra
	// row there is nothing to cross-check: every row was verified above.
	progress.report(StageRecover, 0, 1)
	ext := make([][]fr.Element, ColumnExtension*k)
	present := make([]bool, ColumnExtension*k)
	zero := make([]fr.Element, ElementsPerRow)
	for j := d; j < k; j++ {
		ext[j], present[j] = zero, true
	}
	for j, taken := 0, 0; j < n && taken < d; j++ {
		if good[j] {
			x := da.ExtendedRow(j, d)
			ext[x], present[x] = rows[j], true
			taken++
		}
	}
	wantExt := make([]bool, ColumnExtension*k)
	for i := 0; i < d; i++ {
		if !present[i] && (want == nil || want[i]) {
			wantExt[i] = true
			ext[i] = make([]fr.Element, ElementsPerRow)
			out.rows[i] = ext[i]
		}
	}
	if _, err := e.decodeColumns(ctx, k, present, wantExt, ext); err != nil {
		return out, err
	}
	progress.report(StageRecover, 1, 1)
	return out, nil
}
