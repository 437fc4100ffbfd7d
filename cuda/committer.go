package cuda

/*
#include "zgda_cuda_msm.h"

typedef int (*zgda_msm_version_fn)(void);
typedef int (*zgda_msm_open_fn)(int, const void*, int, zgda_cuda_msm_ctx**, char*, size_t);
typedef void (*zgda_msm_close_fn)(zgda_cuda_msm_ctx*);
typedef int (*zgda_msm_commit_fn)(zgda_cuda_msm_ctx*, const void* const*, int, zgda_msm_point*, char*, size_t);
typedef int (*zgda_msm_commit_bytes_fn)(zgda_cuda_msm_ctx*, const zgda_msm_bytes*, int, zgda_msm_point*, char*, size_t);

static int zgda_msm_call_version(void* f) { return ((zgda_msm_version_fn)f)(); }
static int zgda_msm_call_open(void* f, int dev, const void* pts, int n, zgda_cuda_msm_ctx** c, char* msg, size_t len) {
	return ((zgda_msm_open_fn)f)(dev, pts, n, c, msg, len);
}
static void zgda_msm_call_close(void* f, zgda_cuda_msm_ctx* c) { ((zgda_msm_close_fn)f)(c); }
static int zgda_msm_call_commit(void* f, zgda_cuda_msm_ctx* c, void** rows, int n, void* out, char* msg, size_t len) {
	return ((zgda_msm_commit_fn)f)(c, (const void* const*)rows, n, (zgda_msm_point*)out, msg, len);
}
static int zgda_msm_call_commit_bytes(void* f, zgda_cuda_msm_ctx* c, zgda_msm_bytes* rows, int n, void* out, char* msg, size_t len) {
	return ((zgda_msm_commit_bytes_fn)f)(c, rows, n, (zgda_msm_point*)out, msg, len);
}
typedef int (*zgda_msm_commit_bytes_keep_fn)(zgda_cuda_msm_ctx*, const zgda_msm_bytes*, int, zgda_msm_point*,
                                             unsigned long long*, char*, size_t);
static int zgda_msm_call_commit_bytes_keep(void* f, zgda_cuda_msm_ctx* c, zgda_msm_bytes* rows, int n, void* out,
                                           unsigned long long* h, char* msg, size_t len) {
	return ((zgda_msm_commit_bytes_keep_fn)f)(c, rows, n, (zgda_msm_point*)out, h, msg, len);
}
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/kzg"
)

// MSMABIVersion is the zgda_cuda_msm.h ABI this package speaks.
const MSMABIVersion = C.ZGDA_CUDA_MSM_ABI

// commitChunk is how many rows one library call commits: ctx is checked
// and progress reported between calls. Four of the library's 32-row
// batches, so its three-slot pipeline still overlaps copies and kernels.
const commitChunk = 128

// msmPoint mirrors zgda_msm_point.
type msmPoint struct {
	X, Y     fp.Element
	Infinity uint64
}

func init() {
	if unsafe.Sizeof(msmPoint{}) != C.sizeof_zgda_msm_point || unsafe.Sizeof(bls.G1Affine{}) != 96 {
		panic("cuda: zgda_msm_point or gnark-crypto's G1Affine changed layout")
	}
}

// Committer computes row commitments (EIP-4844 blob_to_kzg_commitment) on a
// CUDA device: a batched fixed-base MSM over the trusted setup's Lagrange
// points, which it uploads once. ParityCommitments and VerifyBatchRows run
// on the CPU kzg.Context it was made with. It is safe for concurrent
// use; calls are serialised on its one device context.
type Committer struct {
	cpu     *kzg.Context
	lib     *Lib
	info    string
	n       int            // scalars per row: kzg.ScalarsPerRow but in tests
	commit  unsafe.Pointer // zgda_cuda_commit_rows
	bytesFn unsafe.Pointer // zgda_cuda_msm_commit_bytes
	keepFn  unsafe.Pointer // zgda_cuda_msm_commit_bytes_keep, looked up on first use
	closeFn unsafe.Pointer // zgda_cuda_msm_close
	chunk   int

	mu      sync.Mutex
	ctx     *C.zgda_cuda_msm_ctx
	cleanup runtime.Cleanup
	pin     runtime.Pinner
	ptrs    []unsafe.Pointer   // row pointers of the current chunk, pinned
	brows   []C.zgda_msm_bytes // byte rows of the current chunk, pinned
	cut     [][]byte           // CommitBlobs' rows, reused
	pts     []msmPoint
	msg     [msgLen]byte
}

var _ encoder.Committer = (*Committer)(nil)

// NewCommitter opens an MSM context on device (0 for the first GPU) over
// cpu's setup points (cpu nil: kzg.Default()): it uploads the points, builds
// the window table on the device and runs a known-answer self-test. The
// result is a *Committer; Close it (an io.Closer) to free the device memory
// before the process ends. The error wraps ErrLoad (a library without the
// MSM kernels: rebuild it with `make cuda`), ErrNoDevice, ErrDevice or
// ErrOutOfMemory.
func NewCommitter(lib *Lib, device int, cpu *kzg.Context) (encoder.Committer, error) {
	return newCommitter(lib, device, cpu)
}

func newCommitter(lib *Lib, device int, cpu *kzg.Context) (*Committer, error) {
	return newCommitterOver(lib, device, cpu, nil)
}

// newCommitterOver opens the context over points, or over cpu's setup
// points when points is nil (tests pass a few points to open quickly on the
// emulator).
func newCommitterOver(lib *Lib, device int, cpu *kzg.Context, points []bls.G1Affine) (*Committer, error) {
	if lib == nil {
		return nil, fmt.Errorf("%w: NewCommitter(nil)", ErrLoad)
	}
	if cpu == nil {
		cpu = kzg.Default()
	}
	var version, open, closeFn, commit, bytesFn unsafe.Pointer
	if err := lib.lookup(
		entry{"zgda_cuda_msm_version", &version},
		entry{"zgda_cuda_msm_open", &open},
		entry{"zgda_cuda_msm_close", &closeFn},
		entry{"zgda_cuda_commit_rows", &commit},
		entry{"zgda_cuda_msm_commit_bytes", &bytesFn},
	); err != nil {
		return nil, err
	}
	if v := int(C.zgda_msm_call_version(version)); v != MSMABIVersion {
		return nil, fmt.Errorf("%w: %s speaks MSM ABI %d, this binary %d: rebuild it with `make cuda`", ErrLoad, lib.Path(), v, MSMABIVersion)
	}
	info, err := lib.Init(device)
	if err != nil {
		return nil, err
	}
	if points == nil {
		if points, err = cpu.LagrangeG1(); err != nil {
			return nil, fmt.Errorf("cuda: committer: %w", err)
		}
	}
	c := &Committer{cpu: cpu, lib: lib, info: info, n: len(points), commit: commit, bytesFn: bytesFn, closeFn: closeFn, chunk: commitChunk}
	rc := C.zgda_msm_call_open(open, C.int(device), unsafe.Pointer(&points[0]), C.int(len(points)), &c.ctx,
		c.msgPtr(), C.size_t(len(c.msg)))
	if rc != C.ZGDA_OK {
		return nil, codeErr(rc, cString(c.msg[:]))
	}
	// A Committer dropped without Close still gives its device memory back.
	c.cleanup = runtime.AddCleanup(c, func(h msmHandle) { C.zgda_msm_call_close(h.close, h.ctx) }, msmHandle{closeFn, c.ctx})
	return c, nil
}

type msmHandle struct {
	close unsafe.Pointer
	ctx   *C.zgda_cuda_msm_ctx
}

// Device describes the device: name, compute capability, memory.
func (c *Committer) Device() string { return c.info }

// Close frees the device context; later CommitRows calls return ErrClosed.
func (c *Committer) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx != nil {
		c.cleanup.Stop()
		C.zgda_msm_call_close(c.closeFn, c.ctx)
		c.ctx = nil
	}
	return nil
}

func (c *Committer) msgPtr() *C.char { return (*C.char)(unsafe.Pointer(&c.msg[0])) }

// CommitRows implements encoder.Committer with the same results as
// kzg.Context.CommitRows. rows are only read. progress, if not nil, is
// called from the calling goroutine with the number of rows done after each
// chunk of rows; ctx is checked between chunks, and its error returned.
func (c *Committer) CommitRows(ctx context.Context, rows [][]fr.Element, progress func(done int)) ([]kzg.Commitment, error) {
	for i, r := range rows {
		if len(r) != c.n {
			return nil, fmt.Errorf("%w: row %d has %d", kzg.ErrRowLength, i, len(r))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		return nil, ErrClosed
	}
	return inChunks(ctx, rows, c.chunk, c.commitChunk, progress)
}

// commitChunk pins the rows for one library call and converts its points;
// first is the index of rows[0] in the caller's list, for messages.
func (c *Committer) commitChunk(rows [][]fr.Element, out []kzg.Commitment, first int) error {
	c.ptrs = c.ptrs[:0]
	for _, r := range rows {
		p := unsafe.Pointer(&r[0])
		c.pin.Pin(p)
		c.ptrs = append(c.ptrs, p)
	}
	if cap(c.pts) < len(rows) {
		c.pts = make([]msmPoint, len(rows))
	}
	pts := c.pts[:len(rows)]
	rc := C.zgda_msm_call_commit(c.commit, c.ctx, (*unsafe.Pointer)(unsafe.Pointer(&c.ptrs[0])), C.int(len(rows)),
		unsafe.Pointer(&pts[0]), c.msgPtr(), C.size_t(len(c.msg)))
	c.pin.Unpin()
	clear(c.ptrs) // keep no caller memory alive after the call
	if rc != C.ZGDA_OK {
		return codeErr(rc, cString(c.msg[:]))
	}
	return c.points(pts, out, first)
}

// points converts the library's results into commitments, checking that
// each is on the curve; first is the index of pts[0] for messages.
func (c *Committer) points(pts []msmPoint, out []kzg.Commitment, first int) error {
	for i := range pts {
		var p bls.G1Affine
		if pts[i].Infinity == 0 {
			p = bls.G1Affine{X: pts[i].X, Y: pts[i].Y}
			// Cheap next to the MSM; a wrong point must not become a blob key.
			if !p.IsOnCurve() {
				return fmt.Errorf("%w: row %d: the device returned a point off the curve (a miscompiled library? rebuild it with `make cuda` and run go test ./cuda)",
					ErrDevice, first+i)
			}
		}
		out[i] = p.Bytes()
	}
	return nil
}

// CommitBlobs returns the row commitments of each blob: out[b][r] is
// C_r of blobs[b], the commitment of encoder.Pack(blobs[b])'s row r
// (docs/spec.md §3.1, §3.2), as kzg.Context.CommitRows gives it. The device
// packs the rows: the host copies each row's 126,976 bytes once into pinned
// memory and does no per-element work. One call commits the rows of all the
// blobs in batches (posts arriving together). blobs are only read and not
// retained; progress and ctx as in CommitRows, counting rows. A blob that
// is empty or too large gives encoder's ErrEmptyBlob / ErrBlobTooLarge.
// The commitments share one allocation.
func (c *Committer) CommitBlobs(ctx context.Context, blobs [][]byte, progress func(done int)) ([][]kzg.Commitment, error) {
	return c.commitBlobs(ctx, blobs, progress, nil)
}

// commitBlobs is CommitBlobs; with keep (CommitBlobsResident) the packed
// rows also stay on the device and keep receives one handle list a blob.
func (c *Committer) commitBlobs(ctx context.Context, blobs [][]byte, progress func(done int),
	keep *[][]ResidentRow) ([][]kzg.Commitment, error) {
	if c.n != encoder.ElementsPerRow {
		return nil, fmt.Errorf("%w: CommitBlobs on a committer over %d points, want %d", encoder.ErrShape, c.n, encoder.ElementsPerRow)
	}
	total := 0
	for i, b := range blobs {
		p, err := encoder.ParamsFor(len(b))
		if err != nil {
			return nil, fmt.Errorf("cuda: blob %d: %w", i, err)
		}
		total += p.Rows
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		return nil, ErrClosed
	}
	rows := c.cut[:0]
	for _, b := range blobs {
		for off := 0; off < len(b); off += encoder.BytesPerRow {
			rows = append(rows, b[off:min(off+encoder.BytesPerRow, len(b))])
		}
	}
	c.cut = rows
	defer clear(c.cut) // keep no caller memory alive after the call
	var flat []kzg.Commitment
	var handles []ResidentRow
	var err error
	if keep == nil {
		flat, err = c.commitByteRowsLocked(ctx, rows, progress)
	} else {
		flat, handles, err = c.keepByteRowsLocked(ctx, rows, progress)
	}
	if err != nil {
		return nil, err
	}
	out := make([][]kzg.Commitment, len(blobs))
	if keep != nil {
		*keep = make([][]ResidentRow, len(blobs))
	}
	off := 0
	for i, b := range blobs {
		r := (len(b) + encoder.BytesPerRow - 1) / encoder.BytesPerRow
		out[i] = flat[off : off+r : off+r]
		if keep != nil {
			(*keep)[i] = handles[off : off+r : off+r]
		}
		off += r
	}
	return out, nil
}

// commitByteRows commits rows given as payload bytes (at most 31·n bytes
// each, zero-padded): the rows of encoder.Pack for n = 4096; tests use it
// over small bases.
func (c *Committer) commitByteRows(ctx context.Context, rows [][]byte, progress func(done int)) ([]kzg.Commitment, error) {
	for i, r := range rows {
		if len(r) > encoder.BytesPerElement*c.n {
			return nil, fmt.Errorf("%w: row %d has %d bytes, a row holds %d", encoder.ErrShape, i, len(r), encoder.BytesPerElement*c.n)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		return nil, ErrClosed
	}
	return c.commitByteRowsLocked(ctx, rows, progress)
}

func (c *Committer) commitByteRowsLocked(ctx context.Context, rows [][]byte, progress func(done int)) ([]kzg.Commitment, error) {
	return inChunks(ctx, rows, c.chunk, c.commitBytesChunk, progress)
}

// inChunks commits rows chunk at a time with commit (which fills out for
// rows starting at index lo), checking ctx and reporting progress between
// chunks.
func inChunks[T any](ctx context.Context, rows []T, chunk int, commit func(rows []T, out []kzg.Commitment, lo int) error,
	progress func(done int)) ([]kzg.Commitment, error) {
	out := make([]kzg.Commitment, len(rows))
	for lo := 0; lo < len(rows); lo += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+chunk, len(rows))
		if err := commit(rows[lo:hi], out[lo:hi], lo); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(hi)
		}
	}
	return out, nil
}

// commitBytesChunk is commitChunk over rows given as bytes.
func (c *Committer) commitBytesChunk(rows [][]byte, out []kzg.Commitment, first int) error {
	return c.bytesChunk(rows, out, first, nil)
}

// bytesChunk commits rows given as bytes; with handles (one per row) by
// zgda_cuda_msm_commit_bytes_keep, which keeps them on the device.
func (c *Committer) bytesChunk(rows [][]byte, out []kzg.Commitment, first int, handles []ResidentRow) error {
	c.brows = c.brows[:0]
	for _, r := range rows {
		var e C.zgda_msm_bytes
		if len(r) > 0 {
			p := unsafe.Pointer(&r[0])
			c.pin.Pin(p)
			e.data, e.len = p, C.size_t(len(r))
		}
		c.brows = append(c.brows, e)
	}
	if cap(c.pts) < len(rows) {
		c.pts = make([]msmPoint, len(rows))
	}
	pts := c.pts[:len(rows)]
	var rc C.int
	if handles == nil {
		rc = C.zgda_msm_call_commit_bytes(c.bytesFn, c.ctx, &c.brows[0], C.int(len(rows)),
			unsafe.Pointer(&pts[0]), c.msgPtr(), C.size_t(len(c.msg)))
	} else {
		c.pin.Pin(&handles[0])
		rc = C.zgda_msm_call_commit_bytes_keep(c.keepFn, c.ctx, &c.brows[0], C.int(len(rows)),
			unsafe.Pointer(&pts[0]), (*C.ulonglong)(unsafe.Pointer(&handles[0])), c.msgPtr(), C.size_t(len(c.msg)))
	}
	c.pin.Unpin()
	clear(c.brows)
	if rc != C.ZGDA_OK {
		return codeErr(rc, cString(c.msg[:]))
	}
	return c.points(pts, out, first)
}

// ParityCommitments implements encoder.Committer on the CPU (one G1 FFT
// over at most 1024 points: not worth a device round trip).
func (c *Committer) ParityCommitments(data []kzg.Commitment, k int) ([]kzg.Commitment, error) {
	return c.cpu.ParityCommitments(data, k)
}

// VerifyBatchRows implements encoder.Committer on the CPU.
func (c *Committer) VerifyBatchRows(data []kzg.Commitment, k int, rows []kzg.BatchRow) ([]int, int, error) {
	return c.cpu.VerifyBatchRows(data, k, rows)
}

// ComputeCellsAndProofs runs FK20 on the CPU (no device kernel yet), so a
// Committer can serve the disperser's cell endpoint too.
func (c *Committer) ComputeCellsAndProofs(row []fr.Element) ([][]fr.Element, []kzg.Proof, error) {
	return c.cpu.ComputeCellsAndProofs(row)
}

// ComputeCellAndProof proves one cell on the CPU (one MSM; no device
// kernel yet), for the disperser's cell endpoint.
func (c *Committer) ComputeCellAndProof(row []fr.Element, index uint64) ([]fr.Element, kzg.Proof, error) {
	return c.cpu.ComputeCellAndProof(row, index)
}
