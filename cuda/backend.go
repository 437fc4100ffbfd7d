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
// concurrent use: it holds Lanes library contexts on its device (each with
// its own streams, device buffers and pinned staging buffers), and a call
// runs on a free one, so up to Lanes calls run at once; a call waits
// (context-aware) for a lane. It also keeps the pinned output sets that
// ExtendBatchLent lends (outputs.go).
type Backend struct {
	lib    *Lib
	device int
	info   string

	lanes  chan *lane // the free lanes
	nlanes int

	// The batch calls, looked up once by newBackend.
	batchFn, residentFn, pinnedFn unsafe.Pointer

	mu     sync.Mutex // guards closed and outs
	closed bool
	outs   outputSets

	// onLane, when set (tests), runs in every batch call while it holds
	// its lane, before the library call.
	onLane func()
}

// lane is one library context and the Go state of the call running on it.
type lane struct {
	ctx     *C.zgda_cuda_ctx
	pin     runtime.Pinner
	in, out []unsafe.Pointer // row pointers of the current call, pinned
	msg     [msgLen]byte
	pts     []bls.G1Affine // the batch's decoded data commitments, reused
}

func (l *lane) msgPtr() *C.char { return (*C.char)(unsafe.Pointer(&l.msg[0])) }

// Defaults of the BackendOptions.
const (
	// DefaultLanes: two batches at once, so that one's uploads and kernels
	// run while the other's parity rows come back.
	DefaultLanes = 2
	// DefaultOutputSets: the batches whose parity rows a disperser holds
	// at once (being encoded, waiting for dispersal, being dispersed).
	DefaultOutputSets = 4
)

// BackendOption adjusts NewBackend.
type BackendOption func(*backendOptions)

type backendOptions struct{ lanes, outputSets int }

// WithLanes sets how many calls run at once, each on its own library
// context (default DefaultLanes; values below 1 mean 1).
func WithLanes(n int) BackendOption { return func(o *backendOptions) { o.lanes = max(1, n) } }

// WithOutputSets sets how many pinned output sets ExtendBatchLent may
// lend at once (default DefaultOutputSets; 0: none, every batch's parity
// rows are Go memory).
func WithOutputSets(n int) BackendOption { return func(o *backendOptions) { o.outputSets = max(0, n) } }

var _ encoder.Backend = (*Backend)(nil)

// NewBackend opens its lanes' contexts on device (0 for the first GPU): it
// checks the device, allocates the reusable buffers and runs a device
// self-test in each. Close releases them.
func NewBackend(lib *Lib, device int, opts ...BackendOption) (encoder.Backend, error) {
	return newBackend(lib, device, opts...)
}

func newBackend(lib *Lib, device int, opts ...BackendOption) (*Backend, error) {
	if lib == nil {
		return nil, fmt.Errorf("%w: NewBackend(nil)", ErrLoad)
	}
	o := backendOptions{lanes: DefaultLanes, outputSets: DefaultOutputSets}
	for _, f := range opts {
		f(&o)
	}
	info, err := lib.Init(device)
	if err != nil {
		return nil, err
	}
	b := &Backend{lib: lib, device: device, info: info, lanes: make(chan *lane, o.lanes), nlanes: o.lanes}
	b.outs.max = o.outputSets
	if err := lib.lookup(
		entry{"zgda_cuda_encode_batch", &b.batchFn},
		entry{"zgda_cuda_encode_batch_resident", &b.residentFn},
		entry{"zgda_cuda_encode_batch_pinned", &b.pinnedFn},
		entry{"zgda_cuda_host_alloc", &b.outs.allocFn},
		entry{"zgda_cuda_host_free", &b.outs.freeFn},
	); err != nil {
		return nil, err
	}
	for i := 0; i < o.lanes; i++ {
		l := &lane{}
		var code C.int
		l.ctx = C.zgda_backend_open(lib.open, C.int(device), &code, l.msgPtr(), C.size_t(len(l.msg)))
		if l.ctx == nil {
			for len(b.lanes) > 0 {
				C.zgda_backend_close(lib.close, (<-b.lanes).ctx)
			}
			return nil, codeErr(code, cString(l.msg[:]))
		}
		b.lanes <- l
	}
	return b, nil
}

// take waits for a free lane; ErrClosed once the backend is closed.
func (b *Backend) take(ctx context.Context) (*lane, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case l := <-b.lanes:
		if l.ctx == nil {
			b.lanes <- l
			return nil, ErrClosed
		}
		return l, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// BatchConcurrency is how many batch calls run at once (its lanes): what
// the engine's encode stage runs concurrently.
func (b *Backend) BatchConcurrency() int { return b.nlanes }

// Name is "cuda".
func (*Backend) Name() string { return "cuda" }

// Device describes the device: name, compute capability, memory.
func (b *Backend) Device() string { return b.info }

// Close waits for the calls in progress, then frees the lanes' contexts
// and the output sets not lent; later calls return ErrClosed. An output
// set still lent stays valid until its release, which frees it.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	all := make([]*lane, b.nlanes)
	for i := range all {
		all[i] = <-b.lanes // each once its call has returned
		C.zgda_backend_close(b.lib.close, all[i].ctx)
		all[i].ctx = nil
	}
	for _, l := range all {
		b.lanes <- l // closed: take answers ErrClosed
	}
	b.freeOutputs()
	return nil
}

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
	l, err := b.take(ctx)
	if err != nil {
		return err
	}
	defer func() { b.lanes <- l }()
	l.in = pinRows(&l.pin, l.in[:0], in)
	l.out = pinRows(&l.pin, l.out[:0], out)
	defer func() {
		l.pin.Unpin()
		clear(l.in) // keep no caller memory alive after the call
		clear(l.out)
	}()
	rc := C.zgda_backend_extend(fn, l.ctx, (*unsafe.Pointer)(unsafe.Pointer(&l.in[0])),
		(*unsafe.Pointer)(unsafe.Pointer(&l.out[0])), C.int(n), l.msgPtr(), C.size_t(len(l.msg)))
	if rc != C.ZGDA_OK {
		return codeErr(rc, cString(l.msg[:]))
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
