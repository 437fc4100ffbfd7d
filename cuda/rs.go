package cuda

/*
#include <stdint.h>
#include "zgda_cuda.h"
#include "zgda_cuda_rs.h"

// Called through pointers from dlsym, as in cuda.go and backend.go.
typedef zgda_rs_ctx* (*zgda_rs_open_fn)(int, int, int, const uint8_t*, size_t, int*, char*, size_t);
typedef void (*zgda_rs_close_fn)(zgda_rs_ctx*);
typedef int (*zgda_rs_encode_fn)(zgda_rs_ctx*, const uint8_t* const*, uint8_t* const*, size_t, char*, size_t);
typedef zgda_rs_dev* (*zgda_rs_dev_alloc_fn)(zgda_rs_ctx*, size_t, int*, char*, size_t);
typedef void (*zgda_rs_dev_free_fn)(zgda_rs_dev*);
typedef int (*zgda_rs_dev_upload_fn)(zgda_rs_ctx*, zgda_rs_dev*, const uint8_t* const*, char*, size_t);
typedef int (*zgda_rs_dev_encode_fn)(zgda_rs_ctx*, zgda_rs_dev*, char*, size_t);
typedef int (*zgda_rs_dev_download_fn)(zgda_rs_ctx*, zgda_rs_dev*, uint8_t* const*, char*, size_t);

static zgda_rs_ctx* zgda_rs_call_open(void* f, int dev, int k, int m, const uint8_t* mat, size_t chunk, int* code,
                                      char* msg, size_t n) {
	return ((zgda_rs_open_fn)f)(dev, k, m, mat, chunk, code, msg, n);
}
static void zgda_rs_call_close(void* f, zgda_rs_ctx* c) { ((zgda_rs_close_fn)f)(c); }
static int zgda_rs_call_encode(void* f, zgda_rs_ctx* c, void** shards, int k, size_t len, char* msg, size_t n) {
	return ((zgda_rs_encode_fn)f)(c, (const uint8_t* const*)shards, (uint8_t* const*)(shards + k), len, msg, n);
}
static zgda_rs_dev* zgda_rs_call_dev_alloc(void* f, zgda_rs_ctx* c, size_t len, int* code, char* msg, size_t n) {
	return ((zgda_rs_dev_alloc_fn)f)(c, len, code, msg, n);
}
static void zgda_rs_call_dev_free(void* f, zgda_rs_dev* d) { ((zgda_rs_dev_free_fn)f)(d); }
static int zgda_rs_call_dev_upload(void* f, zgda_rs_ctx* c, zgda_rs_dev* d, void** data, char* msg, size_t n) {
	return ((zgda_rs_dev_upload_fn)f)(c, d, (const uint8_t* const*)data, msg, n);
}
static int zgda_rs_call_dev_encode(void* f, zgda_rs_ctx* c, zgda_rs_dev* d, char* msg, size_t n) {
	return ((zgda_rs_dev_encode_fn)f)(c, d, msg, n);
}
static int zgda_rs_call_dev_download(void* f, zgda_rs_ctx* c, zgda_rs_dev* d, void** parity, char* msg, size_t n) {
	return ((zgda_rs_dev_download_fn)f)(c, d, (uint8_t* const*)parity, msg, n);
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/klauspost/reedsolomon"
)

// RSMaxShards bounds data + parity shards: GF(2^8) has 256 elements, and
// beyond that klauspost/reedsolomon switches to its GF(2^16) Leopard codec.
const RSMaxShards = C.ZGDA_RS_MAX_SHARDS

// RSEncoder computes Reed–Solomon parity for the storage volumes on a CUDA
// device: byte for byte what klauspost/reedsolomon's Encode computes for
// reedsolomon.New(dataShards, parityShards) (options such as
// WithMaxGoroutines, which storage passes, do not change the code). The
// coding matrix is not built here: NewRSEncoder reads it off klauspost's
// own Encode of unit shards and uploads it, so the device runs a generic
// GF(2^8) matrix product and follows whatever klauspost computes.
//
// Only encoding is offloaded; Reconstruct and Verify stay with klauspost,
// which reads the same shards. An RSEncoder is safe for concurrent use;
// calls are serialised on its one device context. Close releases it.
type RSEncoder struct {
	lib  *Lib
	k, m int
	info string
	fn   struct {
		close, encode, devAlloc, devFree, devUpload, devEncode, devDownload unsafe.Pointer
	}

	mu   sync.Mutex
	ctx  *C.zgda_rs_ctx
	pin  runtime.Pinner
	ptrs []unsafe.Pointer // shard pointers of the current call, pinned
	msg  [msgLen]byte
}

// NewRSEncoder opens a Reed–Solomon context on device (0 for the first
// GPU) for dataShards + parityShards shards: it checks the device, uploads
// klauspost's coding matrix, allocates the reusable pinned and device
// buffers and runs a device self-test. Bad shard counts wrap
// reedsolomon.ErrInvShardNum or ErrMaxShardNum; library and device
// failures wrap this package's sentinels.
func NewRSEncoder(lib *Lib, device, dataShards, parityShards int) (*RSEncoder, error) {
	return newRSEncoder(lib, device, dataShards, parityShards, 0)
}

// newRSEncoder takes the chunk size in data bytes (0: the library's
// default); tests shrink it to make many chunks from little data.
func newRSEncoder(lib *Lib, device, k, m, chunk int) (*RSEncoder, error) {
	if lib == nil {
		return nil, fmt.Errorf("%w: NewRSEncoder(nil)", ErrLoad)
	}
	if k < 1 || m < 1 {
		return nil, fmt.Errorf("cuda: RS %d+%d: %w (the GPU encoder needs at least one data and one parity shard)",
			k, m, reedsolomon.ErrInvShardNum)
	}
	if k+m > RSMaxShards {
		return nil, fmt.Errorf("cuda: RS %d+%d: %w (klauspost/reedsolomon uses its GF(2^16) codec there; encode on the CPU)",
			k, m, reedsolomon.ErrMaxShardNum)
	}
	mat, err := klauspostMatrix(k, m)
	if err != nil {
		return nil, err
	}
	e := &RSEncoder{lib: lib, k: k, m: m, ptrs: make([]unsafe.Pointer, 0, k+m)}
	var open unsafe.Pointer
	if err := lib.lookup(
		entry{"zgda_rs_open", &open},
		entry{"zgda_rs_close", &e.fn.close},
		entry{"zgda_rs_encode", &e.fn.encode},
		entry{"zgda_rs_dev_alloc", &e.fn.devAlloc},
		entry{"zgda_rs_dev_free", &e.fn.devFree},
		entry{"zgda_rs_dev_upload", &e.fn.devUpload},
		entry{"zgda_rs_dev_encode", &e.fn.devEncode},
		entry{"zgda_rs_dev_download", &e.fn.devDownload},
	); err != nil {
		return nil, err
	}
	if e.info, err = lib.Init(device); err != nil {
		return nil, err
	}
	var code C.int
	e.ctx = C.zgda_rs_call_open(open, C.int(device), C.int(k), C.int(m), (*C.uint8_t)(&mat[0]), C.size_t(chunk),
		&code, e.msgPtr(), C.size_t(len(e.msg)))
	if e.ctx == nil {
		return nil, codeErr(code, cString(e.msg[:]))
	}
	return e, nil
}

// klauspostMatrix returns klauspost's m×k parity matrix, row-major: Encode
// is linear and acts on each byte position alike, so with data shard i the
// unit vector e_i (byte i = 1, the rest 0), parity j's byte i is M[j][i].
func klauspostMatrix(k, m int) ([]byte, error) {
	enc, err := reedsolomon.New(k, m)
	if err != nil {
		return nil, fmt.Errorf("cuda: reedsolomon.New(%d, %d): %w", k, m, err)
	}
	shards := make([][]byte, k+m)
	for i := range shards {
		shards[i] = make([]byte, k)
		if i < k {
			shards[i][i] = 1
		}
	}
	if err := enc.Encode(shards); err != nil {
		return nil, fmt.Errorf("cuda: reading the coding matrix off reedsolomon: %w", err)
	}
	mat := make([]byte, 0, m*k)
	for _, p := range shards[k:] {
		mat = append(mat, p...)
	}
	return mat, nil
}

// DataShards is k.
func (e *RSEncoder) DataShards() int { return e.k }

// ParityShards is m.
func (e *RSEncoder) ParityShards() int { return e.m }

// Device describes the device: name, compute capability, memory.
func (e *RSEncoder) Device() string { return e.info }

// Close frees the device context; later calls return ErrClosed.
func (e *RSEncoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx != nil {
		C.zgda_rs_call_close(e.fn.close, e.ctx)
		e.ctx = nil
	}
	return nil
}

func (e *RSEncoder) msgPtr() *C.char { return (*C.char)(unsafe.Pointer(&e.msg[0])) }

// Encode computes parity with klauspost's contract: shards holds k data
// shards then m parity shards, all of one non-zero length; the parity shards
// are overwritten and the data shards are only read. Shape errors wrap the
// same reedsolomon sentinels klauspost returns (ErrTooFewShards,
// ErrShardNoData, ErrShardSize). No shard is kept after the call.
func (e *RSEncoder) Encode(shards [][]byte) error {
	n, err := e.checkShards(shards, e.k+e.m)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return ErrClosed
	}
	defer e.unpin()
	rc := C.zgda_rs_call_encode(e.fn.encode, e.ctx, e.pinShards(shards), C.int(e.k), C.size_t(n), e.msgPtr(),
		C.size_t(len(e.msg)))
	if rc != C.ZGDA_OK {
		return codeErr(rc, cString(e.msg[:]))
	}
	return nil
}

// checkShards applies klauspost's Encode checks to shards, of which want
// are expected, and returns their length.
func (e *RSEncoder) checkShards(shards [][]byte, want int) (int, error) {
	if len(shards) != want {
		return 0, fmt.Errorf("cuda: RS %d+%d given %d shards: %w", e.k, e.m, len(shards), reedsolomon.ErrTooFewShards)
	}
	n := 0
	for _, s := range shards {
		if len(s) != 0 {
			n = len(s)
			break
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("cuda: RS %d+%d: %w", e.k, e.m, reedsolomon.ErrShardNoData)
	}
	for i, s := range shards {
		if len(s) != n {
			return 0, fmt.Errorf("cuda: RS %d+%d: shard %d has %d bytes, shard 0 %d: %w",
				e.k, e.m, i, len(s), len(shards[0]), reedsolomon.ErrShardSize)
		}
	}
	return n, nil
}

// pinShards pins each shard for the duration of one library call and
// returns the array of their pointers (itself Go memory holding only pinned
// pointers, as cgo requires).
func (e *RSEncoder) pinShards(shards [][]byte) *unsafe.Pointer {
	e.ptrs = e.ptrs[:0]
	for _, s := range shards {
		p := unsafe.Pointer(&s[0])
		e.pin.Pin(p)
		e.ptrs = append(e.ptrs, p)
	}
	return &e.ptrs[0]
}

func (e *RSEncoder) unpin() {
	e.pin.Unpin()
	clear(e.ptrs[:cap(e.ptrs)]) // keep no caller memory alive after the call
}

// RSDeviceShards are k data and m parity shards of one length kept in
// device memory, to measure the kernel alone (no host transfer) and to test
// the device-resident entry point. Free them before closing their encoder.
type RSDeviceShards struct {
	e   *RSEncoder
	dev *C.zgda_rs_dev
	n   int
}

// NewDeviceShards allocates k + m device shards of shardLen bytes.
func (e *RSEncoder) NewDeviceShards(shardLen int) (*RSDeviceShards, error) {
	if shardLen < 1 {
		return nil, fmt.Errorf("cuda: RS device shards of %d bytes: %w", shardLen, reedsolomon.ErrShardNoData)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return nil, ErrClosed
	}
	var code C.int
	d := C.zgda_rs_call_dev_alloc(e.fn.devAlloc, e.ctx, C.size_t(shardLen), &code, e.msgPtr(), C.size_t(len(e.msg)))
	if d == nil {
		return nil, codeErr(code, cString(e.msg[:]))
	}
	return &RSDeviceShards{e: e, dev: d, n: shardLen}, nil
}

// Len is the length of each shard.
func (d *RSDeviceShards) Len() int { return d.n }

// transfer checks shards (k data shards to upload, or m parity shards to
// download into, d.Len() bytes each) and copies them.
func (d *RSDeviceShards) transfer(shards [][]byte, upload bool) error {
	e := d.e
	want := e.m
	if upload {
		want = e.k
	}
	n, err := e.checkShards(shards, want)
	if err != nil {
		return err
	}
	if n != d.n {
		return fmt.Errorf("cuda: RS device shards hold %d bytes, given %d: %w", d.n, n, reedsolomon.ErrShardSize)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil || d.dev == nil {
		return ErrClosed
	}
	defer e.unpin()
	p := e.pinShards(shards)
	var rc C.int
	if upload {
		rc = C.zgda_rs_call_dev_upload(e.fn.devUpload, e.ctx, d.dev, p, e.msgPtr(), C.size_t(len(e.msg)))
	} else {
		rc = C.zgda_rs_call_dev_download(e.fn.devDownload, e.ctx, d.dev, p, e.msgPtr(), C.size_t(len(e.msg)))
	}
	if rc != C.ZGDA_OK {
		return codeErr(rc, cString(e.msg[:]))
	}
	return nil
}

// Upload copies the k data shards (Len() bytes each) to the device.
func (d *RSDeviceShards) Upload(data [][]byte) error {
	return d.transfer(data, true)
}

// Encode computes the parity shards from the data shards on the device and
// returns when they are written.
func (d *RSDeviceShards) Encode() error {
	e := d.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil || d.dev == nil {
		return ErrClosed
	}
	if rc := C.zgda_rs_call_dev_encode(e.fn.devEncode, e.ctx, d.dev, e.msgPtr(), C.size_t(len(e.msg))); rc != C.ZGDA_OK {
		return codeErr(rc, cString(e.msg[:]))
	}
	return nil
}

// Download copies the m parity shards into parity (Len() bytes each).
func (d *RSDeviceShards) Download(parity [][]byte) error {
	return d.transfer(parity, false)
}

// Free releases the device memory; it may be called more than once.
func (d *RSDeviceShards) Free() {
	e := d.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if d.dev != nil {
		C.zgda_rs_call_dev_free(e.fn.devFree, d.dev)
		d.dev = nil
	}
}
