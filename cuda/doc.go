// Package cuda is the only place that knows about the GPU. It loads
// libzgda_cuda.so — CUDA C++ built from this directory by nvcc (`make cuda`)
// — at run time with dlopen, so one Go binary runs everywhere: it never links
// against CUDA and needs neither the library nor a device to start.
//
// # Model
//
// Load finds and opens the library; NewBackend opens a context on one device
// and returns an encoder.Backend whose ExtendColumns / ExtendRows produce the
// same bytes as encoder.NewCPUBackend. A context keeps twiddles, device
// buffers, pinned host buffers and streams for its whole life; a call copies
// the caller's rows into pinned memory batch by batch while earlier batches
// are on the device, so host copies, transfers and kernels overlap. Calls on
// one context are serialised; a Backend holds WithLanes contexts (lanes,
// DefaultLanes = 2) and runs each call on a free one (waiting,
// context-aware, when all are busy), so that many calls run at once. Go
// memory is pinned (runtime.Pinner) only for the duration of a call.
//
// The column extension (docs/spec.md §3.4) is one fused kernel per batch of
// columns (include/ntt.cuh, ColumnTile): each block of 256 threads loads a
// tile of 512/K adjacent columns of the K matrix rows into 32 KiB of shared
// memory, runs all log K inverse-NTT stages, and per coset block that holds
// a wanted row the scale and all log K forward stages there, with a barrier
// between stages, then writes only the rows the caller wants. Global memory
// is read once per data element and written once per output element; the
// zero padding rows are made in shared memory, never uploaded. The row
// extension (size 4096, too large for a block's shared memory) stays one
// launch per stage.
//
// The Backend is also an encoder.BatchBackend: ExtendBatch encodes one batch
// matrix (docs/spec.md §3.3, §3.4) in one library call,
// zgda_cuda_encode_batch, and EncodeBatch takes that path when its backend
// has it. The D data rows go through the column pipeline (the K − D zero
// padding rows are made by the kernel, never read from Go or uploaded) and
// the 3D parity rows come back into the caller's rows; meanwhile, on the
// context's own stream, the D data commitments are extended the same way
// in G1 (include/g1fft.cuh: a size-K inverse NTT, a coset scale and a
// size-K NTT per parity block, one double-and-add per twiddle) and the
// library compresses the results (one inversion for all) as gnark-crypto's
// G1Affine.Bytes(): the same bytes as kzg.ParityCommitments, without its
// CPU time. Every buffer is the context's; Go decodes the D commitments
// (with kzg's checks) and does no per-element work.
//
// Pinned output sets. EncodeBatch takes ExtendBatchLent
// (encoder.LendingBatchBackend) first: the batch's 3D parity rows are one
// of the backend's output sets, a buffer of pinned host memory from
// zgda_cuda_host_alloc (cudaHostAlloc, portable), and
// zgda_cuda_encode_batch_pinned has the device copy each column batch's
// parity parts straight into it (one strided cudaMemcpy2DAsync), so no
// parity row is allocated in Go, staged or copied on the host. The set is
// lent to the Batch until encoder.Batch.Release, which the engine calls
// once the batch is final (or will never be dispersed: encoding after
// Close, batches still queued at Close), after which the Batch has no Rows
// and the set goes to the next batch that fits (a set holds 3K rows of
// the batch that made it; one too small is replaced). The library refuses
// a parity block outside its buffers. At most WithOutputSets sets exist
// (DefaultOutputSets = 4, allocated on first use); when every one is lent
// the batch's parity rows are Go memory, as before (ExtendBatch with a
// host copy out of the lane's pinned staging buffers), rather than waiting:
// a batch holds its set until its certificate lands, seconds later and at
// the chain's pace, and an encoder that blocked on that would stall the
// pipeline behind the chain, while the fallback costs only the copy this
// path saves. Close frees the sets not lent; a lent one stays valid until
// its release, which frees it.
//
// Consecutive batches overlap: each lane has its own streams, device
// buffers and staging buffers, and each batch its own output set, so with
// two lanes one batch's uploads and kernels run while the other's parity
// rows come back. BatchConcurrency (encoder.ConcurrentBackend) says how
// many; the engine runs that many encoders (Encoder.BatchConcurrency; the
// CPU backend says 1).
//
// NewCommitter opens an MSM context over the KZG setup points and returns an
// encoder.Committer whose row commitments are the CPU's bytes; derivation
// and verification stay on the CPU. Its CommitBlobs (engine.BlobCommitter)
// commits blobs given as bytes, the rows of all the posts that reach intake
// together in one call: the library copies each row's 126,976 payload bytes
// once into a slot's reusable pinned buffer, the device packs them into
// fr.Element scalars in Montgomery form (include/pack.cuh, docs/spec.md
// §3.1) and the MSM reads those: no per-blob allocation, no per-element host
// work. CommitRows takes rows already packed (any scalars).
//
// Resident rows. CommitBlobsResident is CommitBlobs that also leaves every
// packed row on the device, in a store of the library's (rows.cu: 512 rows
// of 128 KiB, ZGDA_RESIDENT_ROWS, shared by all contexts on the device),
// each named by a ResidentRow handle; Backend.ExtendBatchResident encodes
// a batch from those handles (zgda_cuda_encode_batch_resident), the fused
// column kernel reading the rows where they lie, so no data row is
// uploaded twice. Handles are held until ReleaseRows; a released one is
// refused, never aliased (a generation in its high bits), and a full store
// is ErrOutOfMemory with nothing held, so the caller can fall back to host
// rows. The engine uses them through engine.ResidentCommitter: intake keeps
// each post's rows (falling back to CommitBlobs when the store is full), the
// blob carries them as encoder.Blob.Device (ResidentRow is
// encoder.DeviceRow), EncodeBatch reads them through
// encoder.ResidentBatchBackend when every blob of the batch has them, and
// the engine releases them once the batch is encoded or the post is
// dropped (zgda_engine_device_rows_total counts kept, released, not_kept).
// The engine still packs the rows on the host too: they are the batch's
// dispersed data rows.
//
// The device MSM (include/msm.cuh) uses fixed-base signed 12-bit windows and
// a schedule in which no thread's work depends on the scalars: a row's
// (bucket, point) entries are sorted by bucket with a two-pass radix sort
// (tile histograms, scans and a scatter; no atomics), each bucket's list is
// cut into chunks of at most 32 points, one thread a chunk; the running-sum
// reduction Σ d·S_d is split over segments of 16 chunk sums, one thread
// each, then summed in two levels; and one inversion (Montgomery's trick)
// turns a whole batch affine. A blob of one repeated byte, which sends every
// entry of a row to a few buckets, costs no more than random data:
// internal/hostcheck counts the point operations (TestMSMWorkEqualScalars).
// NewRSEncoder is the storage volumes' GF(2^8) Reed–Solomon encoder, parity
// byte-identical to klauspost's.
//
// Auto picks the CUDA backend when it can and otherwise the pure-Go one, and
// says why, for `--device auto`.
//
// # Field arithmetic
//
// Fp and Fr elements (include/field.cuh) are gnark-crypto's Element bytes:
// N 64-bit limbs in Montgomery form, R = 2^(64N), fully reduced. Addition
// and subtraction are 64-bit limb loops everywhere. Multiplication differs
// by where it runs, never in its result: on the device (__CUDA_ARCH__) it is
// include/mont32.cuh, Montgomery multiplication over 2N 32-bit limbs in two
// interleaved carry chains of PTX mad.lo.cc / madc.hi.cc (GPUs multiply and
// carry natively in 32 bits; 64-bit multiplies are emulated and the CIOS
// carries would be comparisons). On the host — g++ for the emulator and the
// host checks, nvcc's host pass — it stays 64-bit CIOS, which 64-bit CPUs
// run faster. Both compute (a·b + M·p)/R with the same M, so their limbs are
// equal; mont32.cuh spells its schedule once over primitives that are PTX on
// the device and plain C++ with an emulated carry flag on the host, and
// internal/hostcheck (field32_test.go) runs that host form against CIOS and
// gnark-crypto, and checks that no carry the schedule drops is ever set.
// mont32 needs a < p and p < 2^(64N−1), as every element is and both fields
// have. Squaring is multiplication on both paths.
//
// # Finding the library
//
// In order: $ZGDA_CUDA_LIB; libzgda_cuda.so next to the executable (`make
// cuda` copies it beside bin/zgda). Never the working directory.
//
// # Sources
//
//   - include/*.cuh: Fp/Fr arithmetic (field.cuh, mont32.cuh), G1 and the
//     NTT plans, C++17 that compiles for host and device;
//   - ntt.cu, zgda_cuda.h: NTT kernels, pipeline and the C ABI, and the
//     batch entry points with their G1 kernels (include/g1fft.cuh) and
//     the pinned output buffers;
//   - backend.go, batch.go, outputs.go: the Backend, its lanes, its batch
//     calls and its output sets;
//   - msm.cu, zgda_cuda_msm.h, include/msm.cuh, include/pack.cuh: row
//     commitments, from scalars or from blob bytes;
//   - rows.cu, include/rowstore.cuh: the resident-row store;
//   - rs.cu, zgda_cuda_rs.h, include/gf256.cuh: Reed–Solomon for storage;
//   - internal/hostcheck: the headers run on the host and compared with
//     gnark-crypto and the CPU backend (ordinary `go test`, no GPU);
//   - internal/emu: a host stand-in for the CUDA runtime, so tests build
//     every .cu with g++ and run this package's Go side without a GPU; it
//     checks copies against their allocations, refuses stream work after
//     a cudaMemcpy that no cudaDeviceSynchronize ordered it after (the
//     non-blocking streams would race that copy on a device), and runs a
//     stream's copies and kernels only when it is synchronized, so a
//     result read before its stream's synchronization is wrong there too;
//   - internal/clangcheck: declarations that let clang (when installed)
//     compile the device code to PTX without the CUDA toolkit.
//
// ICICLE (v2.8.0, MIT) is not built in: its Go module carries its CUDA
// sources (icicle/src/msm/extern.cu, ntt/extern.cu and ntt/kernel_ntt.cu,
// compiled with -DCURVE=bls12_381 -DCURVE_ID=2 -DFIELD_ID=2 and its
// include/), and nvcc could compile them into this library beside ours, but
// they need the CUDA toolkit's own headers (CUB, cooperative_groups.h,
// cuda.h, vector types), which no machine without a GPU has here, so
// clang cannot check them and nothing of it could be tested before a
// device run; its projective results are homogeneous (x = X/Z), not
// Jacobian, and its MSMConfig must be told that scalars and points are
// in Montgomery form (the layouts match gnark-crypto's limbs).
//
// None of the device code has run on a GPU yet: everything above is tested
// on the host. The first GPU session runs `make cuda` and the TestDevice…
// tests (see the closing notes of issue #8).
//
// # Errors
//
// Every failure wraps one of the sentinels in errors.go: ErrNotFound (no
// library: build it with `make cuda`), ErrLoad (a library that does not
// load or is from another ABI), ErrNoDevice (the driver's message),
// ErrDevice / ErrOutOfMemory (a CUDA call failed), ErrClosed. Shape errors
// wrap encoder.ErrShape. Nothing aborts the process.
package cuda
