package cuda

/*
#include "zgda_cuda.h"

typedef void (*zgda_rows_release_fn)(const unsigned long long*, int);
static void zgda_call_rows_release(void* f, unsigned long long* h, int n) { ((zgda_rows_release_fn)f)(h, n); }

typedef int (*zgda_encode_batch_resident_fn)(zgda_cuda_ctx*, const unsigned long long*, int, const void*,
                                             void* const*, void*, char*, size_t);
static int zgda_backend_encode_resident(void* f, zgda_cuda_ctx* c, unsigned long long* rows, int d, void* cm,
                                        void** parity, void* pc, char* msg, size_t len) {
	return ((zgda_encode_batch_resident_fn)f)(c, rows, d, cm, (void* const*)parity, pc, msg, len);
}
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
	if d < 1 || d > encoder.MaxBatchRows {
		return fmt.Errorf("%w: D = %d data rows: must be in [1, %d]", encoder.ErrShape, d, encoder.MaxBatchRows)
	}
	if len(commitments) != d {
		return fmt.Errorf("%w: %d commitments for %d data rows", encoder.ErrShape, len(commitments), d)
	}
	if err := checkRows("parity", parity, 3*d, encoder.ElementsPerRow); err != nil {
		return err
	}
	if len(parityCommitments) != 3*d {
		return fmt.Errorf("%w: room for %d parity commitments, want %d", encoder.ErrShape, len(parityCommitments), 3*d)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx == nil {
		return ErrClosed
	}
	if b.residentFn == nil {
		fn, err := b.lib.symbol("zgda_cuda_encode_batch_resident")
		if err != nil {
			return err
		}
		b.residentFn = fn
	}
	if err := b.decodeCommitments(commitments); err != nil {
		return err
	}
	b.out = pinRows(&b.pin, b.out[:0], parity)
	b.pin.Pin(&rows[0])
	b.pin.Pin(&b.pts[0])
	b.pin.Pin(&parityCommitments[0])
	defer func() {
		b.pin.Unpin()
		clear(b.out)
	}()
	rc := C.zgda_backend_encode_resident(b.residentFn, b.ctx, (*C.ulonglong)(unsafe.Pointer(&rows[0])), C.int(d),
		unsafe.Pointer(&b.pts[0]), (*unsafe.Pointer)(unsafe.Pointer(&b.out[0])), unsafe.Pointer(&parityCommitments[0]),
		b.msgPtr(), C.size_t(len(b.msg)))
	if rc != C.ZGDA_OK {
		return codeErr(rc, cString(b.msg[:]))
	}
	return nil
}
