package cuda

/*
#include "zgda_cuda.h"

typedef int (*zgda_encode_batch_fn)(zgda_cuda_ctx*, const void* const*, int, const void*, void* const*, void*, char*,
                                    size_t);

static int zgda_backend_encode_batch(void* f, zgda_cuda_ctx* c, void** data, int d, void* cm, void** parity, void* pc,
                                     char* msg, size_t len) {
	return ((zgda_encode_batch_fn)f)(c, (const void* const*)data, d, cm, (void* const*)parity, pc, msg, len);
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

var _ encoder.BatchBackend = (*Backend)(nil)

// ExtendBatch implements encoder.BatchBackend with one library call,
// zgda_cuda_encode_batch: the column extension of the batch matrix (the
// zero padding rows are made by the kernel in shared memory, neither read
// from Go nor uploaded) and the 3D parity commitments, derived on the
// device from the data commitments by the same extension in G1 and
// compressed by the library. Go decodes the D data commitments (kzg's checks: compressed,
// canonical, on the curve, in the subgroup) and does no per-element work.
// The data rows and commitments are only read; parity and
// parityCommitments are written.
func (b *Backend) ExtendBatch(ctx context.Context, data [][]fr.Element, commitments []kzg.Commitment,
	parity [][]fr.Element, parityCommitments []kzg.Commitment) error {
	d := len(data)
	if d < 1 || d > encoder.MaxBatchRows {
		return fmt.Errorf("%w: D = %d data rows: must be in [1, %d]", encoder.ErrShape, d, encoder.MaxBatchRows)
	}
	if err := checkRows("data", data, d, encoder.ElementsPerRow); err != nil {
		return err
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
	if b.batchFn == nil {
		fn, err := b.lib.symbol("zgda_cuda_encode_batch")
		if err != nil {
			return err
		}
		b.batchFn = fn
	}
	if err := b.decodeCommitments(commitments); err != nil {
		return err
	}
	b.in = pinRows(&b.pin, b.in[:0], data)
	b.out = pinRows(&b.pin, b.out[:0], parity)
	b.pin.Pin(&b.pts[0])
	b.pin.Pin(&parityCommitments[0])
	defer func() {
		b.pin.Unpin()
		clear(b.in)
		clear(b.out)
	}()
	rc := C.zgda_backend_encode_batch(b.batchFn, b.ctx, (*unsafe.Pointer)(unsafe.Pointer(&b.in[0])), C.int(d),
		unsafe.Pointer(&b.pts[0]), (*unsafe.Pointer)(unsafe.Pointer(&b.out[0])), unsafe.Pointer(&parityCommitments[0]),
		b.msgPtr(), C.size_t(len(b.msg)))
	if rc != C.ZGDA_OK {
		return codeErr(rc, cString(b.msg[:]))
	}
	return nil
}

// decodeCommitments decodes the commitments into b.pts (reused) with the
// checks kzg.ParityCommitments makes, on all CPUs: a subgroup check and a
// square root each, a few tens of µs.
func (b *Backend) decodeCommitments(cm []kzg.Commitment) error {
	if cap(b.pts) < len(cm) {
		b.pts = make([]bls.G1Affine, encoder.MaxBatchRows)
	}
	b.pts = b.pts[:len(cm)]
	errs := make([]error, len(cm))
	par.Range(len(cm), 0, 4, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if cm[i][0]&0x80 == 0 {
				errs[i] = &kzg.PointError{What: "commitment", Index: i, Reason: "not in compressed form (top bit clear)"}
				continue
			}
			if _, err := b.pts[i].SetBytes(cm[i][:]); err != nil {
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
