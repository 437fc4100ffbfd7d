package cuda

/*
#include "zgda_cuda.h"

typedef int (*zgda_extend_fn)(zgda_cuda_ctx*, const void* const*, void* const*, int, char*, size_t);
typedef void (*zgda_close_fn)(zgda_cuda_ctx*);
typedef zgda_cuda_ctx* (*zgda_open_fn)(int, int*, char*, size_t);

static int zgda_backend_extend(void* f, zgda_cuda_ctx* c, void** in, void** out, int n, char* msg, size_t len) {
	return ((zgda_extend_fn)f)(c, (const void* const*)in, (void* const*)out, n, msg, len);
}
static void zgda_backend_close(void* f, zgda_cuda_ctx* c) { ((zgda_close_fn)f)(c); }
static zgda_cuda_ctx* zgda_backend_open(void* f, int dev, int* code, char* msg, size_t n) {
	return ((zgda_open_fn)f)(dev, code, msg, n);
}
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
)

// Backend is the CUDA implementation of encoder.Backend. It is safe for
// concurrent use; calls are serialised on its one device context.
type Backend struct {
	lib    *Lib
	device int
	info   string

	mu         sync.Mutex
	ctx        *C.zgda_cuda_ctx
	pin        runtime.Pinner
	in, out    []unsafe.Pointer // row pointers of the current call, pinned
	msg        [msgLen]byte
	batchFn    unsafe.Pointer // zgda_cuda_encode_batch, looked up on first use
	residentFn unsafe.Pointer // zgda_cuda_encode_batch_resident, likewise
	pts        []bls.G1Affine // ExtendBatch's decoded data commitments, reused
}

var _ encoder.Backend = (*Backend)(nil)

// NewBackend opens a context on device (0 for the first GPU): it checks the
// device, allocates the reusable buffers and runs a device self-test. Close
// releases them.
func NewBackend(lib *Lib, device int) (encoder.Backend, error) {
	return newBackend(lib, device)
}

func newBackend(lib *Lib, device int) (*Backend, error) {
	if lib == nil {
		return nil, fmt.Errorf("%w: NewBackend(nil)", ErrLoad)
	}
	info, err := lib.Init(device)
	if err != nil {
		return nil, err
	}
	b := &Backend{lib: lib, device: device, info: info}
	var code C.int
	b.ctx = C.zgda_backend_open(lib.open, C.int(device), &code, b.msgPtr(), C.size_t(len(b.msg)))
	if b.ctx == nil {
		return nil, codeErr(code, cString(b.msg[:]))
	}
	return b, nil
}

// Name is "cuda".
func (*Backend) Name() string { return "cuda" }

// Device describes the device: name, compute capability, memory.
func (b *Backend) Device() string { return b.info }

// Close frees the device context; later calls return ErrClosed.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx != nil {
		C.zgda_backend_close(b.lib.close, b.ctx)
		b.ctx = nil
	}
	return nil
}

func (b *Backend) msgPtr() *C.char { return (*C.char)(unsafe.Pointer(&b.msg[0])) }

// ExtendColumns implements encoder.Backend (same contract, same bytes as
// the CPU backend). The library computes all 4K rows; an out row the
// caller does not want (nil) is given the data row's own pointer for j < K
// (the library skips that copy) and one scratch row for j ≥ K, discarded.
func (b *Backend) ExtendColumns(ctx context.Context, data, out [][]fr.Element) error {
	k := len(data)
	if k < 1 || k > encoder.MaxBatchRows || k&(k-1) != 0 {
		return fmt.Errorf("%w: K = %d matrix rows: must be a power of two in [1, %d]", encoder.ErrShape, k, encoder.MaxBatchRows)
	}
	if err := checkRows("data", data, k, encoder.ElementsPerRow); err != nil {
		return err
	}
	if len(out) != encoder.ColumnExtension*k {
		return fmt.Errorf("%w: out has %d rows, want %d", encoder.ErrShape, len(out), encoder.ColumnExtension*k)
	}
	var scratch []fr.Element
	full, copied := out, false
	for j, r := range out {
		if r != nil {
			if len(r) != encoder.ElementsPerRow {
				return fmt.Errorf("%w: out row %d has %d elements, want %d", encoder.ErrShape, j, len(r), encoder.ElementsPerRow)
			}
			continue
		}
		if !copied {
			full, copied = slices.Clone(out), true
		}
		if j < k {
			full[j] = data[j]
			continue
		}
		if scratch == nil {
			scratch = make([]fr.Element, encoder.ElementsPerRow)
		}
		full[j] = scratch
	}
	return b.call(ctx, b.lib.cols, data, full, k)
}

// ExtendRows implements encoder.Backend.
func (b *Backend) ExtendRows(ctx context.Context, rows, out [][]fr.Element) error {
	if err := checkRows("rows", rows, -1, encoder.ElementsPerRow); err != nil {
		return err
	}
	if err := checkRows("out", out, len(rows), encoder.ElementsPerExtRow); err != nil {
		return err
	}
	return b.call(ctx, b.lib.rows, rows, out, len(rows))
}

// call pins every row for the duration of one library call and passes the
// row pointers; the library copies through its own pinned buffers.
func (b *Backend) call(ctx context.Context, fn unsafe.Pointer, in, out [][]fr.Element, n int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(out) == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx == nil {
		return ErrClosed
	}
	b.in = pinRows(&b.pin, b.in[:0], in)
	b.out = pinRows(&b.pin, b.out[:0], out)
	defer func() {
		b.pin.Unpin()
		clear(b.in) // keep no caller memory alive after the call
		clear(b.out)
	}()
	rc := C.zgda_backend_extend(fn, b.ctx, (*unsafe.Pointer)(unsafe.Pointer(&b.in[0])),
		(*unsafe.Pointer)(unsafe.Pointer(&b.out[0])), C.int(n), b.msgPtr(), C.size_t(len(b.msg)))
	if rc != C.ZGDA_OK {
		return codeErr(rc, cString(b.msg[:]))
	}
	return nil
}

func pinRows(p *runtime.Pinner, dst []unsafe.Pointer, rows [][]fr.Element) []unsafe.Pointer {
	for _, r := range rows {
		q := unsafe.Pointer(&r[0])
		p.Pin(q)
		dst = append(dst, q)
	}
	return dst
}

// checkRows checks that v has n rows (n < 0: any number) of width elements each.
func checkRows(name string, v [][]fr.Element, n, width int) error {
	if n >= 0 && len(v) != n {
		return fmt.Errorf("%w: %s has %d rows, want %d", encoder.ErrShape, name, len(v), n)
	}
	for i, r := range v {
		if len(r) != width {
			return fmt.Errorf("%w: %s row %d has %d elements, want %d", encoder.ErrShape, name, i, len(r), width)
		}
	}
	return nil
}

// Auto returns the CUDA backend on device 0 when the library loads and a
// device works, otherwise encoder.NewCPUBackend(0); the string says which
// and why, for `--device auto` to log.
func Auto() (encoder.Backend, string) {
	return auto(Load)
}

func auto(load func() (*Lib, error)) (encoder.Backend, string) {
	lib, err := load()
	if err == nil {
		var b *Backend
		if b, err = newBackend(lib, 0); err == nil {
			return b, fmt.Sprintf("cuda: %s (%s)", b.Device(), lib.Path())
		}
	}
	return encoder.NewCPUBackend(0), fmt.Sprintf("cpu: %v", err)
}
