package cuda

/*
#include "zgda_cuda.h"

typedef void (*zgda_rows_release_fn)(const unsigned long long*, int);
static void zgda_call_rows_release(void* f, unsigned long long* h, int n) { ((zgda_rows_release_fn)f)(h, n); }
*/
import "C"

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// ResidentRow names a data row that CommitBlobsResident packed and left on
// the device (zgda_cuda.h, Resident rows), so that ExtendBatchResident
// encodes it without uploading it again. It is held by the library until
// ReleaseRows; a released handle is refused, never aliased to another row.
// Handles are valid for every Committer and Backend of one library on the
// device that made them. It is encoder.DeviceRow, so that an
// encoder.Blob carries the rows to EncodeBatch (encoder.ResidentBatchBackend).
type ResidentRow = encoder.DeviceRow

var _ encoder.ResidentBatchBackend = (*Backend)(nil)

// CommitBlobsResident is CommitBlobs that also keeps every packed row on
// the device: rows[i][k] names blob i's row k (docs/spec.md §3.1), held
// until the caller releases it with ReleaseRows, normally once its batch
// is encoded. The store holds ZGDA_RESIDENT_ROWS rows (512 by default); a
// call that would exceed it fails with ErrOutOfMemory and holds nothing,
// and the caller can fall back to CommitBlobs and host rows. On any error
// no row is held.
func (c *Committer) CommitBlobsResident(ctx context.Context, blobs [][]byte, progress func(done int)) (
	commitments [][]kzg.Commitment, rows [][]ResidentRow, err error) {
	c.mu.Lock()
	if c.keepFn == nil && c.ctx != nil {
		c.keepFn, err = c.lib.symbol("zgda_cuda_msm_commit_bytes_keep")
	}
	c.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	commitments, err = c.commitBlobs(ctx, blobs, progress, &rows)
	if err != nil {
		return nil, nil, err
	}
	return commitments, rows, nil
}

// keepByteRowsLocked commits and keeps rows chunk at a time; on failure it
// releases the rows earlier chunks kept. The caller holds c.mu.
func (c *Committer) keepByteRowsLocked(ctx context.Context, rows [][]byte, progress func(done int)) (
	[]kzg.Commitment, []ResidentRow, error) {
	handles := make([]ResidentRow, len(rows))
	kept := 0
	out, err := inChunks(ctx, rows, c.chunk, func(r [][]byte, out []kzg.Commitment, lo int) error {
		if err := c.bytesChunk(r, out, lo, handles[lo:lo+len(r)]); err != nil {
			return err
		}
		kept = lo + len(r)
		return nil
	}, progress)
	if err != nil {
		if rerr := releaseRows(c.lib, handles[:kept]); rerr != nil {
			return nil, nil, fmt.Errorf("%w (and releasing the rows kept: %v)", err, rerr)
		}
		return nil, nil, err
	}
	return out, handles, nil
}

// ReleaseRows frees resident rows; handles not held are ignored. The
// error is ErrLoad for a library without resident rows.
func (c *Committer) ReleaseRows(rows []ResidentRow) error { return releaseRows(c.lib, rows) }

func releaseRows(lib *Lib, rows []ResidentRow) error {
	if len(rows) == 0 {
		return nil
	}
	fn, err := lib.symbol("zgda_cuda_rows_release")
	if err != nil {
		return err
	}
	// The library reads the handles during the call only (Go memory
	// without Go pointers, so cgo allows passing it).
	C.zgda_call_rows_release(fn, (*C.ulonglong)(unsafe.Pointer(&rows[0])), C.int(len(rows)))
	return nil
}

// ExtendBatchResident is ExtendBatch with the D data rows given as
// resident rows (CommitBlobsResident): the column extension reads them on
// the device, so no data row crosses the bus again; the commitments and
// outputs are as ExtendBatch's. The rows stay held.
func (b *Backend) ExtendBatchResident(ctx context.Context, rows []ResidentRow, commitments []kzg.Commitment,
	parity [][]fr.Element, parityCommitments []kzg.Commitment) error {
	d := len(rows)
	if err := checkBatchShape(d, commitments, parityCommitments); err != nil {
		return err
	}
	if err := checkRows("parity", parity, 3*d, encoder.ElementsPerRow); err != nil {
		return err
	}
	return b.encodeBatch(ctx, nil, rows, commitments, parity, nil, parityCommitments)
}
