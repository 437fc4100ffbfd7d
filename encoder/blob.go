package encoder

import (
	"context"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/kzg"
)

// Committer is what the codec needs from KZG; *kzg.Context provides it, and
// so does the CUDA committer.
type Committer interface {
	// CommitRows returns EIP-4844 blob_to_kzg_commitment of every row.
	CommitRows(ctx context.Context, rows [][]fr.Element, progress func(done int)) ([]kzg.Commitment, error)
	// ParityCommitments derives the 3D parity rows' commitments from the D
	// data rows' (docs/spec.md §3.4 Column extension).
	ParityCommitments(data []kzg.Commitment, k int) ([]kzg.Commitment, error)
	// VerifyBatchRows checks extended rows against the data commitments and
	// names the bad ones.
	VerifyBatchRows(data []kzg.Commitment, k int, rows []kzg.BatchRow) (bad []int, checks int, err error)
}

var _ Committer = (*kzg.Context)(nil)

// BlobKey computes the key that names a blob (docs/spec.md §3.2 Blob key):
// SHA-256("zgda/v2/blob" ‖ uint64_be(L) ‖ uint32_be(R) ‖ C_0 ‖ … ‖ C_{R−1}),
// with R = len(comms). The hash is da.ComputeBlobKey's.
func BlobKey(length int, comms []kzg.Commitment) da.BlobKey {
	return da.ComputeBlobKey(uint64(length), DACommitments(comms))
}

// Blob is a packed and committed blob (docs/spec.md §3.1 Packing, §3.2 Blob
// key): its R data rows and their commitments, ready to be placed in a
// batch. Rows are read, never modified, by everything in this package.
type Blob struct {
	Key         da.BlobKey
	Length      int
	Rows        [][]fr.Element   // the R data rows, ElementsPerRow each
	Commitments []kzg.Commitment // C_0 … C_{R−1}
	// Device, if not nil, names a copy of each of the R rows held on the
	// encoder's device (ResidentBatchBackend); whoever set it releases the
	// rows. Rows stay the blob's bytes whether or not Device is set.
	Device []DeviceRow
}

// Header returns the blob's header (L, R, C_0 … C_{R−1} and the key). The
// commitments are copied.
func (b *Blob) Header() da.BlobHeader {
	return da.BlobHeader{Key: b.Key, Length: uint64(b.Length), Rows: uint32(len(b.Rows)), Commitments: DACommitments(b.Commitments)}
}

// NewBlob makes a Blob of rows that the caller packed (Pack, PackInto) and
// committed itself, e.g. many posts' rows in one CommitRows call: it checks
// the shape (R rows of ElementsPerRow for length bytes, R commitments) and
// the canonical packing of every row (CheckCanonicalRow), and computes the
// key. It does not recompute the commitments: they must be the rows'. The
// Blob keeps rows and comms (no copy).
func NewBlob(length int, rows [][]fr.Element, comms []kzg.Commitment) (*Blob, error) {
	p, err := ParamsFor(length)
	if err != nil {
		return nil, err
	}
	if len(rows) != p.Rows || len(comms) != p.Rows {
		return nil, shapeErr("a %d-byte blob has %d rows, got %d rows and %d commitments", length, p.Rows, len(rows), len(comms))
	}
	for r := range rows {
		if err := unpackRow(rows[r], length, r, nil); err != nil {
			return nil, err
		}
	}
	return &Blob{Key: BlobKey(length, comms), Length: length, Rows: rows, Commitments: comms}, nil
}

// CommitBlob packs blob into its R rows and commits to them (R 4096-point
// MSMs): a Blob ready for EncodeBatch. blob is only read; the result owns
// fresh memory.
func (e *Encoder) CommitBlob(ctx context.Context, c Committer, blob []byte, progress Progress) (*Blob, error) {
	progress.report(StagePack, 0, 1)
	rows, err := Pack(blob)
	if err != nil {
		return nil, err
	}
	progress.report(StagePack, 1, 1)
	progress.report(StageCommit, 0, len(rows))
	comms, err := c.CommitRows(ctx, rows, func(done int) { progress.report(StageCommit, done, len(rows)) })
	if err != nil {
		return nil, err
	}
	if len(comms) != len(rows) {
		return nil, fmt.Errorf("encoder: the committer returned %d commitments for %d rows", len(comms), len(rows))
	}
	return &Blob{Key: BlobKey(len(blob), comms), Length: len(blob), Rows: rows, Commitments: comms}, nil
}

// Stage names a step of encoding or decoding for progress reports.
type Stage string

// The stages, in order.
const (
	StagePack    Stage = "pack"
	StageCommit  Stage = "commit"
	StageExtend  Stage = "extend"
	StageDerive  Stage = "derive"
	StageVerify  Stage = "verify"
	StageRecover Stage = "recover"
)

// Progress receives (stage, done, total) reports; it may be called from
// several goroutines. nil means no reports.
type Progress func(stage Stage, done, total int)

func (p Progress) report(s Stage, done, total int) {
	if p != nil {
		p(s, done, total)
	}
}

// DACommitments converts commitments to da's type (the same 48 bytes).
func DACommitments(c []kzg.Commitment) []da.Commitment {
	out := make([]da.Commitment, len(c))
	for i := range c {
		out[i] = da.Commitment(c[i])
	}
	return out
}

// KZGCommitments converts commitments from da's type.
func KZGCommitments(c []da.Commitment) []kzg.Commitment {
	out := make([]kzg.Commitment, len(c))
	for i := range c {
		out[i] = kzg.Commitment(c[i])
	}
	return out
}
