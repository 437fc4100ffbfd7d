package encoder

import (
	"context"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/kzg"
)

// Batch is a batch of blobs encoded with the zgda/v2 codec (docs/spec.md §3.3
// Batch matrix, §3.4 Column extension, §3.7 Batch root): the blobs' D data rows
// stacked into one matrix of K rows (padding rows D … K−1 are zero), extended
// by columns, and its N = 4D dispersed rows with their commitments.
type Batch struct {
	Blobs  []*Blob
	Header da.BatchHeader
	Root   da.Hash
	D      int // data rows, Σ R_i
	K      int // matrix rows, the smallest power of two ≥ D
	N      int // dispersed rows, 4D
	// Rows are the N dispersed rows: Rows[n] for n < D is the blob's own row
	// slice (by reference, no copy), Rows[n] for n ≥ D is extended row
	// K + (n − D): fresh Go memory, or memory the backend lent (Lent), valid
	// until Release.
	Rows [][]fr.Element
	// Commitments are those of the N dispersed rows: the blobs' data
	// commitments in batch order, then the 3D derived parity commitments.
	Commitments []kzg.Commitment

	release  func() // hands the lent parity rows back; nil when not lent
	released bool
}

// Lent reports whether the batch's parity rows are memory its backend lent
// (LendingBatchBackend), to be handed back with Release.
func (b *Batch) Lent() bool { return b.release != nil }

// Release hands a batch's lent parity rows back to the backend, which
// reuses them for a later batch: call it once nothing reads the rows any
// more (they are dispersed, and no reader holds one), from the goroutine
// that owns the Batch or after every reader is done. The Batch then has no
// Rows (nil) and BlobRows panics, so a late read fails loudly instead of
// seeing another batch's rows; a slice of Rows kept from before must not be
// read either. A batch in Go memory (not Lent) is left as it is: Release
// does nothing. Later calls do nothing.
func (b *Batch) Release() {
	if b.release == nil {
		return
	}
	r := b.release
	b.release, b.released, b.Rows = nil, true, nil
	r()
}

// BlobRows returns blob i's R_i data rows, Rows[o_i : o_i+R_i]. It panics
// after Release of a lent batch.
func (b *Batch) BlobRows(i int) [][]fr.Element {
	if b.released {
		panic("encoder: BlobRows of a released Batch")
	}
	o := 0
	for j := 0; j < i; j++ {
		o += len(b.Blobs[j].Rows)
	}
	return b.Rows[o : o+len(b.Blobs[i].Rows) : o+len(b.Blobs[i].Rows)]
}

// EncodeBatch places the blobs, in the given order, into one batch matrix
// and encodes it (docs/spec.md §3.3 Batch matrix, §3.4 Column extension): one
// column extension of the K-row matrix, whose padding rows are one shared
// all-zero row, keeping only extended rows K … K+3D−1 as parity, and one
// derivation of the 3D parity commitments from the blobs' data commitments
// in G1 (no MSM over a row). It refuses an empty batch (ErrEmptyBatch), a
// nil or inconsistent blob (ErrShape, ErrBadBlob: a zero key or one that does
// not match), a repeated key (ErrDuplicateBlob) and
// D > MaxBatchRows (ErrBatchTooLarge).
//
// The blobs and their rows are only read; the Batch references them. With a
// LendingBatchBackend the parity rows are the backend's memory, lent to the
// Batch (Lent) until its Release, which the caller owes once it is done
// with the rows; a caller that never releases only keeps that memory from
// later batches, which then get Go memory. Every other batch is Go memory.
func (e *Encoder) EncodeBatch(ctx context.Context, c Committer, blobs []*Blob, progress Progress) (*Batch, error) {
	hdr, err := batchHeader(blobs)
	if err != nil {
		return nil, err
	}
	d := hdr.DataRows()
	k, n := da.MatrixRows(d), da.ExtensionFactor*d
	matrix := make([][]fr.Element, k)
	data := make([]kzg.Commitment, 0, d)
	i := 0
	for _, b := range blobs {
		for r := range b.Rows {
			matrix[i] = b.Rows[r]
			i++
		}
		data = append(data, b.Commitments...)
	}
	var dev []DeviceRow
	if _, ok := e.backend.(ResidentBatchBackend); ok {
		dev = deviceRows(blobs, d)
	}
	if lb, ok := e.backend.(LendingBatchBackend); ok {
		var rows [][]fr.Element
		if dev == nil {
			rows = matrix[:d]
		}
		b, err := encodeBatchWith(ctx, blobs, hdr, matrix[:d], data, progress,
			func(pc []kzg.Commitment) ([][]fr.Element, func(), error) {
				return lb.ExtendBatchLent(ctx, rows, dev, data, pc)
			})
		if b != nil || err != nil {
			return b, err
		}
		// Nothing free to lend: the batch goes into Go memory below.
	}
	if rb, ok := e.backend.(ResidentBatchBackend); ok {
		if dev != nil {
			return encodeBatchWith(ctx, blobs, hdr, matrix[:d], data, progress,
				func(pc []kzg.Commitment) ([][]fr.Element, func(), error) {
					parity := newRows(n-d, ElementsPerRow)
					return parity, nil, rb.ExtendBatchResident(ctx, dev, data, parity, pc)
				})
		}
	}
	if bb, ok := e.backend.(BatchBackend); ok {
		return encodeBatchWith(ctx, blobs, hdr, matrix[:d], data, progress,
			func(pc []kzg.Commitment) ([][]fr.Element, func(), error) {
				parity := newRows(n-d, ElementsPerRow)
				return parity, nil, bb.ExtendBatch(ctx, matrix[:d], data, parity, pc)
			})
	}
	zero := make([]fr.Element, ElementsPerRow)
	for ; i < k; i++ {
		matrix[i] = zero // padding rows: read only, one allocation
	}
	parity := newRows(n-d, ElementsPerRow)
	out := make([][]fr.Element, ColumnExtension*k)
	copy(out[k:], parity)
	progress.report(StageExtend, 0, 1)
	if err := e.backend.ExtendColumns(ctx, matrix, out); err != nil {
		return nil, err
	}
	progress.report(StageExtend, 1, 1)
	progress.report(StageDerive, 0, 1)
	pc, err := c.ParityCommitments(data, k)
	if err != nil {
		return nil, err
	}
	if len(pc) != n-d {
		return nil, fmt.Errorf("encoder: the committer derived %d parity commitments, want %d", len(pc), n-d)
	}
	progress.report(StageDerive, 1, 1)
	rows := make([][]fr.Element, 0, n)
	rows = append(append(rows, matrix[:d]...), parity...)
	return &Batch{Blobs: blobs, Header: hdr, Root: hdr.Root(), D: d, K: k, N: n, Rows: rows,
		Commitments: append(data, pc...)}, nil
}

// deviceRows returns the d data rows' device copies in batch order, or nil
// unless every blob carries them.
func deviceRows(blobs []*Blob, d int) []DeviceRow {
	dev := make([]DeviceRow, 0, d)
	for _, b := range blobs {
		if len(b.Device) != len(b.Rows) {
			return nil
		}
		dev = append(dev, b.Device...)
	}
	return dev
}

// encodeBatchWith is EncodeBatch's encoding by a BatchBackend: one call of
// the backend (extend) extends the rows and derives the parity
// commitments into pc, writing the parity rows into Go memory it returns
// (release nil) or into memory its backend lends (release hands it back;
// parity nil, nothing done: there was nothing free to lend, and
// encodeBatchWith returns a nil Batch and error).
func encodeBatchWith(ctx context.Context, blobs []*Blob, hdr da.BatchHeader, rows [][]fr.Element, data []kzg.Commitment,
	progress Progress, extend func(pc []kzg.Commitment) (parity [][]fr.Element, release func(), err error)) (*Batch, error) {
	d := len(rows)
	k, n := da.MatrixRows(d), da.ExtensionFactor*d
	pc := make([]kzg.Commitment, n-d)
	progress.report(StageExtend, 0, 1)
	progress.report(StageDerive, 0, 1)
	parity, release, err := extend(pc)
	if err != nil || parity == nil {
		return nil, err
	}
	if len(parity) != n-d {
		if release != nil {
			release()
		}
		return nil, fmt.Errorf("encoder: the backend gave %d parity rows, want %d", len(parity), n-d)
	}
	progress.report(StageExtend, 1, 1)
	progress.report(StageDerive, 1, 1)
	all := make([][]fr.Element, 0, n)
	all = append(append(all, rows...), parity...)
	return &Batch{Blobs: blobs, Header: hdr, Root: hdr.Root(), D: d, K: k, N: n, Rows: all,
		Commitments: append(data, pc...), release: release}, nil
}

// EncodeBlob is a batch of one: CommitBlob then EncodeBatch.
func (e *Encoder) EncodeBlob(ctx context.Context, c Committer, blob []byte, progress Progress) (*Batch, error) {
	b, err := e.CommitBlob(ctx, c, blob, progress)
	if err != nil {
		return nil, err
	}
	return e.EncodeBatch(ctx, c, []*Blob{b}, progress)
}

// batchHeader checks the blobs of a batch and returns its header.
func batchHeader(blobs []*Blob) (da.BatchHeader, error) {
	if len(blobs) == 0 {
		return da.BatchHeader{}, ErrEmptyBatch
	}
	hdr := da.BatchHeader{Blobs: make([]da.BlobHeader, len(blobs))}
	seen := make(map[da.BlobKey]int, len(blobs))
	d := 0
	for i, b := range blobs {
		if b == nil {
			return da.BatchHeader{}, shapeErr("blob %d is nil", i)
		}
		if err := checkBlob(b); err != nil {
			return da.BatchHeader{}, fmt.Errorf("blob %d: %w", i, err)
		}
		if j, dup := seen[b.Key]; dup {
			return da.BatchHeader{}, fmt.Errorf("%w: blob %s is at positions %d and %d", ErrDuplicateBlob, b.Key, j, i)
		}
		seen[b.Key] = i
		d += len(b.Rows)
		hdr.Blobs[i] = b.Header()
	}
	if d > MaxBatchRows {
		return da.BatchHeader{}, fmt.Errorf("%w: %d blobs hold %d data rows, the limit is %d", ErrBatchTooLarge, len(blobs), d, MaxBatchRows)
	}
	if err := hdr.CheckShape(); err != nil { // da's rules, which nodes apply
		return da.BatchHeader{}, fmt.Errorf("encoder: %w", err)
	}
	return hdr, nil
}

// checkBlob checks that a Blob is what NewBlob or CommitBlob makes.
func checkBlob(b *Blob) error {
	p, err := ParamsFor(b.Length)
	if err != nil {
		return err
	}
	if len(b.Rows) != p.Rows || len(b.Commitments) != p.Rows {
		return shapeErr("a %d-byte blob has %d rows, got %d rows and %d commitments", b.Length, p.Rows, len(b.Rows), len(b.Commitments))
	}
	if err := checkRows("blob", b.Rows, p.Rows, ElementsPerRow); err != nil {
		return err
	}
	if b.Key == (da.BlobKey{}) {
		return fmt.Errorf("%w: the zero key", ErrBadBlob)
	}
	if k := BlobKey(b.Length, b.Commitments); k != b.Key {
		return fmt.Errorf("%w: key %s does not match its length and commitments (they hash to %s)", ErrBadBlob, b.Key, k)
	}
	return nil
}

// RowCommitments returns the commitments of a batch's N dispersed rows from
// its header (docs/spec.md §3.4): the header's D data-row commitments, in
// matrix order, then the 3D parity rows' derived from them in G1. hdr is
// only read.
func RowCommitments(c Committer, hdr *da.BatchHeader) ([]kzg.Commitment, error) {
	data := KZGCommitments(hdr.Commitments())
	parity, err := c.ParityCommitments(data, hdr.MatrixRows())
	if err != nil {
		return nil, fmt.Errorf("encoder: deriving the parity rows' commitments: %w", err)
	}
	return append(data, parity...), nil
}
