package encoder

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/kzg"
)

// Committer is what blob encoding needs from KZG; *kzg.Context provides it
// (and a CUDA committer will too).
type Committer interface {
	CommitRows(ctx context.Context, rows [][]fr.Element, progress func(done int)) ([]kzg.Commitment, error)
	DeriveCommitments(data []kzg.Commitment) ([]kzg.Commitment, error)
	VerifyExtendedRows(blobs [][]kzg.Commitment, rows []kzg.ExtendedRow) ([]int, error)
}

var _ Committer = (*kzg.Context)(nil)

// Encoded is a blob encoded with the zgda/v1 codec.
type Encoded struct {
	Params      Params
	Key         da.BlobKey
	Rows        [][]fr.Element   // the 4K extended rows, 4096 elements each
	Commitments []kzg.Commitment // C_0 … C_{4K−1}; the first K name the blob
}

// DataCommitments returns C_0 … C_{K−1}, the commitments that the blob key
// and the certificate carry.
func (e *Encoded) DataCommitments() []kzg.Commitment { return e.Commitments[:e.Params.K] }

// BlobKey computes the key that names a blob (DESIGN.md §3):
// SHA-256("zgda/v1/blob" ‖ uint64_be(L) ‖ uint32_be(K) ‖ C_0 ‖ … ‖ C_{K−1}).
func BlobKey(length int, data []kzg.Commitment) da.BlobKey {
	h := sha256.New()
	h.Write([]byte("zgda/v1/blob"))
	var n [12]byte
	binary.BigEndian.PutUint64(n[:8], uint64(length))
	binary.BigEndian.PutUint32(n[8:], uint32(len(data)))
	h.Write(n[:])
	for i := range data {
		h.Write(data[i][:])
	}
	var k da.BlobKey
	h.Sum(k[:0])
	return k
}

// Stage names a step of EncodeBlob or DecodeBlob for progress reports.
type Stage string

// The stages, in order.
const (
	StagePack    Stage = "pack"
	StageExtend  Stage = "extend"
	StageCommit  Stage = "commit"
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

// EncodeBlob packs, extends and commits a blob: the K data rows are
// committed (4096-point MSMs) and the other 3K commitments derived in G1.
// blob is only read; the result owns fresh memory.
func (e *Encoder) EncodeBlob(ctx context.Context, c Committer, blob []byte, progress Progress) (*Encoded, error) {
	params, err := ParamsFor(len(blob))
	if err != nil {
		return nil, err
	}
	progress.report(StagePack, 0, 1)
	data, err := Pack(blob)
	if err != nil {
		return nil, err
	}
	progress.report(StagePack, 1, 1)
	progress.report(StageExtend, 0, 1)
	rows, err := e.Extend(ctx, data)
	if err != nil {
		return nil, err
	}
	progress.report(StageExtend, 1, 1)
	progress.report(StageCommit, 0, params.K)
	comms, err := c.CommitRows(ctx, rows[:params.K], func(done int) { progress.report(StageCommit, done, params.K) })
	if err != nil {
		return nil, err
	}
	progress.report(StageDerive, 0, 1)
	all, err := c.DeriveCommitments(comms)
	if err != nil {
		return nil, err
	}
	progress.report(StageDerive, 1, 1)
	return &Encoded{Params: params, Key: BlobKey(len(blob), comms), Rows: rows, Commitments: all}, nil
}

// RowsRejectedError lists present rows that did not match their
// commitments and were left out of decoding.
type RowsRejectedError struct {
	Rows []int
	Err  error // the recovery error once they were left out
}

func (e *RowsRejectedError) Error() string {
	return fmt.Sprintf("encoder: rows %s do not match their commitments: %v", fmtInts(e.Rows), e.Err)
}

func (e *RowsRejectedError) Unwrap() error { return e.Err }

// DecodeBlob reconstructs a blob of the given length from any K of its 4K
// extended rows. data are the K data-row commitments C_0 … C_{K−1} (what the
// blob key commits to); every supplied row is checked against them first
// (one random-linear-combination check with no derived commitment, see
// kzg.Context.VerifyExtendedRows), and rows that fail are left out and reported, so
// the bytes returned are always the committed ones. rows is only read.
//
// It returns the bytes and the indices of rejected rows (nil if none). When
// too few good rows remain, the error is a *RecoveryError (wrapped in a
// *RowsRejectedError when rows were rejected).
func (e *Encoder) DecodeBlob(ctx context.Context, c Committer, length int, data []kzg.Commitment, rows map[int][]fr.Element, progress Progress) ([]byte, []int, error) {
	params, err := ParamsFor(length)
	if err != nil {
		return nil, nil, err
	}
	if len(data) != params.K {
		return nil, nil, fmt.Errorf("encoder: a blob of %d bytes has %d data rows, got %d commitments", length, params.K, len(data))
	}
	idx := make([]int, 0, len(rows))
	for j, r := range rows {
		if j < 0 || j >= params.ExtendedRows() {
			return nil, nil, fmt.Errorf("encoder: row index %d outside [0, %d)", j, params.ExtendedRows())
		}
		if len(r) != ElementsPerRow {
			return nil, nil, fmt.Errorf("encoder: row %d has %d elements, want %d", j, len(r), ElementsPerRow)
		}
		idx = append(idx, j)
	}
	sort.Ints(idx)
	list := make([]kzg.ExtendedRow, len(idx))
	for i, j := range idx {
		list[i] = kzg.ExtendedRow{Blob: 0, Index: j, Row: rows[j]}
	}
	progress.report(StageVerify, 0, 1)
	badPos, err := c.VerifyExtendedRows([][]kzg.Commitment{data}, list)
	if err != nil {
		return nil, nil, err
	}
	progress.report(StageVerify, 1, 1)
	good := rows
	var rejected []int
	if len(badPos) > 0 {
		good = make(map[int][]fr.Element, len(rows))
		for j, r := range rows {
			good[j] = r
		}
		for _, p := range badPos {
			rejected = append(rejected, idx[p])
			delete(good, idx[p])
		}
	}
	progress.report(StageRecover, 0, 1)
	ext, err := e.RecoverRows(ctx, params.K, good)
	if err != nil {
		if rejected != nil {
			err = &RowsRejectedError{Rows: rejected, Err: err}
		}
		return nil, rejected, err
	}
	progress.report(StageRecover, 1, 1)
	out, err := Unpack(ext[:params.K], length)
	if err != nil {
		return nil, rejected, err
	}
	return out, rejected, nil
}
