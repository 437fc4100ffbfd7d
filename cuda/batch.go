package cuda

/*
#include "zgda_cuda.h"

typedef int (*zgda_encode_batch_fn)(zgda_cuda_ctx*, const void* const*, int, const void*, void* const*, void*, char*,
                                    size_t);
typedef int (*zgda_encode_batch_resident_fn)(zgda_cuda_ctx*, const unsigned long long*, int, const void*,
                                             void* const*, void*, char*, size_t);
typedef int (*zgda_encode_batch_pinned_fn)(zgda_cuda_ctx*, const void* const*, const unsigned long long*, int,
                                           const void*, void*, void*, char*, size_t);

static int zgda_backend_encode_batch(void* f, zgda_cuda_ctx* c, void** data, int d, void* cm, void** parity, void* pc,
                                     char* msg, size_t len) {
	return ((zgda_encode_batch_fn)f)(c, (const void* const*)data, d, cm, (void* const*)parity, pc, msg, len);
}
static int zgda_backend_encode_resident(void* f, zgda_cuda_ctx* c, unsigned long long* rows, int d, void* cm,
                                        void** parity, void* pc, char* msg, size_t len) {
	return ((zgda_encode_batch_resident_fn)f)(c, rows, d, cm, (void* const*)parity, pc, msg, len);
}
static int zgda_backend_encode_pinned(void* f, zgda_cuda_ctx* c, void** data, unsigned long long* rows, int d,
                                      void* cm, void* parity, void* pc, char* msg, size_t len) {
	return ((zgda_encode_batch_pinned_fn)f)(c, (const void* const*)data, rows, d, cm, parity, pc, msg, len);
}
*/
import "C"

import (
	"context"
	"fmt"
	"unsafe"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/internal/par"
	"github.com/zgda/zgda/kzg"
)

var (
	_ encoder.BatchBackend        = (*Backend)(nil)
	_ encoder.LendingBatchBackend = (*Backend)(nil)
)

// ExtendBatch implements encoder.BatchBackend with one library call,
// zgda_cuda_encode_batch: the column extension of the batch matrix (the
// zero padding rows are made by the kernel in shared memory, neither read
// from Go nor uploaded) and the 3D parity commitments, derived on the
// device from the data commitments by the same extension in G1 and
// compressed by the library. Go decodes the D data commitments (kzg's
// checks: compressed, canonical, on the curve, in the subgroup) and does no
// per-element work. The data rows and commitments are only read; parity
// and parityCommitments are written (through the lane's pinned staging
// buffers: ExtendBatchLent avoids that copy).
func (b *Backend) ExtendBatch(ctx context.Context, data [][]fr.Element, commitments []kzg.Commitment,
	parity [][]fr.Element, parityCommitments []kzg.Commitment) error {
	d := len(data)
	if err := checkBatchShape(d, commitments, parityCommitments); err != nil {
		return err
	}
	if err := checkRows("data", data, d, encoder.ElementsPerRow); err != nil {
		return err
	}
	if err := checkRows("parity", parity, 3*d, encoder.ElementsPerRow); err != nil {
		return err
	}
	return b.encodeBatch(ctx, data, nil, commitments, parity, nil, parityCommitments)
}

// ExtendBatchLent implements encoder.LendingBatchBackend: ExtendBatch (data
// given) or ExtendBatchResident (rows given) whose 3D parity rows are one
// of the backend's pinned output sets, which the device copies them
// straight into (zgda_cuda_encode_batch_pinned): no Go allocation and no
// host copy of a parity row. The rows stay the backend's until release is
// called (once; later calls do nothing), and are then reused by another
// batch: nothing may read them after. When every output set is lent
// (WithOutputSets), or no pinned memory can be had for a new one, it
// returns nil rows and a nil error having done nothing, and the caller
// encodes into its own memory: a batch waiting for its certificate holds
// its set for seconds, and the encoder must not wait for the chain (see
// doc.go); a host short of pinned memory still encodes every batch.
func (b *Backend) ExtendBatchLent(ctx context.Context, data [][]fr.Element, rows []encoder.DeviceRow,
	commitments []kzg.Commitment, parityCommitments []kzg.Commitment) (parity [][]fr.Element, release func(), err error) {
	if (data == nil) == (rows == nil) {
		return nil, nil, fmt.Errorf("%w: ExtendBatchLent takes data rows or device rows, exactly one", encoder.ErrShape)
	}
	d := max(len(data), len(rows))
	if err := checkBatchShape(d, commitments, parityCommitments); err != nil {
		return nil, nil, err
	}
	if data != nil {
		if err := checkRows("data", data, d, encoder.ElementsPerRow); err != nil {
			return nil, nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	set, err := b.lendOutput(3 * d)
	if set == nil || err != nil {
		return nil, nil, err
	}
	if err := b.encodeBatch(ctx, data, rows, commitments, nil, set.base, parityCommitments); err != nil {
		b.returnOutput(set)
		return nil, nil, err
	}
	return set.view[: 3*d : 3*d], b.releaser(set), nil
}

// checkBatchShape checks D and the commitments' counts of a batch call.
func checkBatchShape(d int, commitments, parityCommitments []kzg.Commitment) error {
	if d < 1 || d > encoder.MaxBatchRows {
		return fmt.Errorf("%w: D = %d data rows: must be in [1, %d]", encoder.ErrShape, d, encoder.MaxBatchRows)
	}
	if len(commitments) != d {
		return fmt.Errorf("%w: %d commitments for %d data rows", encoder.ErrShape, len(commitments), d)
	}
	if len(parityCommitments) != 3*d {
		return fmt.Errorf("%w: room for %d parity commitments, want %d", encoder.ErrShape, len(parityCommitments), 3*d)
	}
	return nil
}

// encodeBatch runs one batch call on a free lane: the data rows are data
// (host) or rows (resident), the parity rows parity (row pointers) or base
// (a pinned output set). Shapes are checked.
func (b *Backend) encodeBatch(ctx context.Context, data [][]fr.Element, rows []encoder.DeviceRow,
	commitments []kzg.Commitment, parity [][]fr.Element, base unsafe.Pointer, parityCommitments []kzg.Commitment) error {
	fn := b.batchFn
	switch {
	case base != nil:
		fn = b.pinnedFn
	case rows != nil:
		fn = b.residentFn
	}
	l, err := b.take(ctx)
	if err != nil {
		return err
	}
	defer func() { b.lanes <- l }()
	if b.onLane != nil {
		b.onLane()
	}
	if err := l.decodeCommitments(commitments); err != nil {
		return err
	}
	d := len(commitments)
	var in, out *unsafe.Pointer
	var handles *C.ulonglong
	if data != nil {
		l.in = pinRows(&l.pin, l.in[:0], data)
		in = (*unsafe.Pointer)(unsafe.Pointer(&l.in[0]))
	}
	if rows != nil {
		l.pin.Pin(&rows[0])
		handles = (*C.ulonglong)(unsafe.Pointer(&rows[0]))
	}
	if parity != nil {
		l.out = pinRows(&l.pin, l.out[:0], parity)
		out = (*unsafe.Pointer)(unsafe.Pointer(&l.out[0]))
	}
	l.pin.Pin(&l.pts[0])
	l.pin.Pin(&parityCommitments[0])
	defer func() {
		l.pin.Unpin()
		clear(l.in) // keep no caller memory alive after the call
		clear(l.out)
	}()
	pts, pc := unsafe.Pointer(&l.pts[0]), unsafe.Pointer(&parityCommitments[0])
	msg, n := l.msgPtr(), C.size_t(len(l.msg))
	var rc C.int
	switch {
	case base != nil:
		rc = C.zgda_backend_encode_pinned(fn, l.ctx, in, handles, C.int(d), pts, base, pc, msg, n)
	case rows != nil:
		rc = C.zgda_backend_encode_resident(fn, l.ctx, handles, C.int(d), pts, out, pc, msg, n)
	default:
		rc = C.zgda_backend_encode_batch(fn, l.ctx, in, C.int(d), pts, out, pc, msg, n)
	}
	if rc != C.ZGDA_OK {
		return codeErr(rc, cString(l.msg[:]))
	}
	return nil
}

// decodeCommitments decodes the commitments into l.pts (reused) with the
// checks kzg.ParityCommitments makes, on all CPUs: a subgroup check and a
// square root each, a few tens of µs.
func (l *lane) decodeCommitments(cm []kzg.Commitment) error {
	if cap(l.pts) < len(cm) {
		l.pts = make([]bls.G1Affine, encoder.MaxBatchRows)
	}
	l.pts = l.pts[:len(cm)]
	errs := make([]error, len(cm))
	par.Range(len(cm), 0, 4, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if cm[i][0]&0x80 == 0 {
				errs[i] = &kzg.PointError{What: "commitment", Index: i, Reason: "not in compressed form (top bit clear)"}
				continue
			}
			if _, err := l.pts[i].SetBytes(cm[i][:]); err != nil {
				errs[i] = &kzg.PointError{What: "commitment", Index: i, Reason: err.Error()}
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
