// ntt.cu: libzgda_cuda.so, the codec's extensions (docs/spec.md §3.4 Column extension, §3.5 Cells) on a CUDA device.
//
// The arithmetic and the order of NTT steps live in include/ntt.cuh and are
// tested on the host (cuda/internal/hostcheck); this file adds kernels —
// the column extension fused into one launch per batch of columns, whose
// blocks run every stage in shared memory, and one step per thread for the
// row extension and the G1 commitments — device and pinned buffers reused across calls,
// and a pipeline over batches: while the device works on one batch, the host
// gathers the next into pinned memory and scatters the previous one out.
//
// Built by nvcc (make cuda). Tests also build it with g++ against
// internal/emu/cuda_emu.h, a host stand-in for the CUDA runtime, to check the
// pipeline and the C ABI without a GPU.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <map>
#include <mutex>
#include <new>

#include "include/g1fft.cuh"
#include "include/ntt.cuh"
#include "include/rowstore.cuh"
#include "zgda_cuda.h"

#include "include/runtime.cuh"
#define ZGDA_KERNEL ZGDA_GLOBAL
#define ZGDA_THREAD_ID() ZGDA_TID()
#define ZGDA_LAUNCH(kernel, threads, stream, ...) \
  ZGDA_LAUNCH_GRID(kernel, grid_for(threads), kBlock, stream, __VA_ARGS__)

using namespace zgda;

namespace {

constexpr uint32_t kBlock = 256;  // threads per block
constexpr int kSlots = 3;         // batches in flight: gather, device, scatter
// Input elements per batch (4 MiB): 32 rows, or K rows of 4096/K·32 columns.
// Small enough that a 256-row blob makes several batches to overlap. Tests
// of the emulated build shrink it to get many batches from little data.
#ifndef ZGDA_BATCH_ELEMS
#define ZGDA_BATCH_ELEMS (1 << 17)
#endif
constexpr size_t kBatch = ZGDA_BATCH_ELEMS;
static_assert(kBatch >= 4096 && (kBatch & (kBatch - 1)) == 0, "a batch holds whole rows; K rows of a width dividing 4096");
constexpr size_t kElem = sizeof(fr_t);

uint32_t grid_for(uint32_t threads) { return (threads + kBlock - 1) / kBlock; }

}  // namespace

// Kernels sit in a named namespace: internal-linkage __global__ functions
// are a corner of nvcc not worth depending on.
namespace zgda_kernels {

// Kernels: one NTT step per thread; threads past the end (last block) idle.
ZGDA_KERNEL k_dit(fr_t* a, Layout L, uint32_t s, const fr_t* tw, uint32_t n) {
  uint32_t t = ZGDA_THREAD_ID();
  if (t < n) dit_step(a, L, s, tw, t);
}

ZGDA_KERNEL k_dif(fr_t* a, Layout L, uint32_t s, const fr_t* tw, uint32_t n) {
  uint32_t t = ZGDA_THREAD_ID();
  if (t < n) dif_step(a, L, s, tw, t);
}

ZGDA_KERNEL k_scale(fr_t* dst, Layout Ld, const fr_t* src, Layout Ls, uint32_t step, fr_t c, const fr_t* tw,
                    uint32_t n) {
  uint32_t t = ZGDA_THREAD_ID();
  if (t < n) scale_step(dst, Ld, src, Ls, step, c, tw, t);
}

// k_extend_columns: the fused column extension, one tile of columns per
// block in shared memory (ntt.cuh's extend_columns_tile; 32 KiB a block).
ZGDA_KERNEL k_extend_columns(ColumnBatch p, const fr_t* tw) {
  ZGDA_SHARED fr_t a[kColTile];
  ZGDA_SHARED fr_t b[kColTile];
#if defined(__CUDACC__)
  DeviceBlock blk;
#else
  HostBlock blk;
#endif
  extend_columns_tile(blk, a, b, p, ZGDA_BLOCK_ID(), tw);
}

// G1 kernels for the parity commitments (include/g1fft.cuh): one step per thread.
ZGDA_KERNEL k_g1_load(g1_jac* a, const g1_affine* in, uint32_t d, uint32_t n) {
  uint32_t t = ZGDA_THREAD_ID();
  if (t < n) g1_load_step(a, in, d, t);
}

ZGDA_KERNEL k_g1_dit(g1_jac* a, uint32_t s, const fr_t* tw, uint32_t n) {
  uint32_t t = ZGDA_THREAD_ID();
  if (t < n) g1_dit_step(a, s, tw, t);
}

ZGDA_KERNEL k_g1_dif(g1_jac* a, uint32_t s, const fr_t* tw, uint32_t n) {
  uint32_t t = ZGDA_THREAD_ID();
  if (t < n) g1_dif_step(a, s, tw, t);
}

ZGDA_KERNEL k_g1_scale(g1_jac* dst, const g1_jac* src, uint32_t step, fr_t c, const fr_t* tw, uint32_t n) {
  uint32_t t = ZGDA_THREAD_ID();
  if (t < n) g1_scale_step(dst, src, step, c, tw, t);
}

}  // namespace zgda_kernels

namespace {

using namespace zgda_kernels;

// extend_columns_async enqueues the fused column extension of p on st.
void extend_columns_async(cudaStream_t st, const ColumnBatch& p, const fr_t* tw) {
  ZGDA_LAUNCH_BLOCKS(k_extend_columns, column_tiles(p), kColThreads, st, p, tw);
}

// DeviceExec enqueues the plans' steps on one stream (see ntt.cuh's Exec).
struct DeviceExec {
  cudaStream_t st;
  const fr_t* tw;  // device copy of the twiddles
  void dit(fr_t* a, const Layout& L, uint32_t s) {
    uint32_t n = butterfly_threads(L);
    if (n == 0) return;  // a zero-block launch is an error
    ZGDA_LAUNCH(k_dit, n, st, a, L, s, tw, n);
  }
  void dif(fr_t* a, const Layout& L, uint32_t s) {
    uint32_t n = butterfly_threads(L);
    if (n == 0) return;
    ZGDA_LAUNCH(k_dif, n, st, a, L, s, tw, n);
  }
  void scale(fr_t* dst, const Layout& Ld, const fr_t* src, const Layout& Ls, uint32_t step, const fr_t& c) {
    uint32_t n = point_threads(Ld);
    if (n == 0) return;
    ZGDA_LAUNCH(k_scale, n, st, dst, Ld, src, Ls, step, c, tw, n);
  }
};

// DeviceG1Exec enqueues plan_g1_parity's steps on one stream.
struct DeviceG1Exec {
  cudaStream_t st;
  const fr_t* tw;
  void load(g1_jac* a, const g1_affine* in, uint32_t d, uint32_t k) { ZGDA_LAUNCH(k_g1_load, k, st, a, in, d, k); }
  void dit(g1_jac* a, uint32_t log_n, uint32_t s) {
    uint32_t n = (1u << log_n) / 2;
    ZGDA_LAUNCH(k_g1_dit, n, st, a, s, tw, n);
  }
  void dif(g1_jac* a, uint32_t log_n, uint32_t s) {
    uint32_t n = (1u << log_n) / 2;
    ZGDA_LAUNCH(k_g1_dif, n, st, a, s, tw, n);
  }
  void scale(g1_jac* dst, const g1_jac* src, uint32_t n, uint32_t step, const fr_t& c) {
    ZGDA_LAUNCH(k_g1_scale, n, st, dst, src, step, c, tw, n);
  }
};

using zgda_status::say;

// CK returns from the enclosing function with the failed call's message.
#define CK(call) ZGDA_CHECK("", call)

}  // namespace

struct Slot {
  cudaStream_t stream = nullptr;
  fr_t* h_in = nullptr;  // pinned, kBatch elements
  fr_t* h_out = nullptr; // pinned, 3·kBatch elements
  fr_t* d_in = nullptr;
  fr_t* d_out = nullptr;
  bool busy = false;  // a batch is enqueued and not yet scattered
  size_t job = 0;     // that batch's index
};

struct zgda_cuda_ctx {
  int device = 0;
  std::mutex mu;
  fr_t* d_tw = nullptr;
  fr_t inv_pow2[13];  // 1/2^i
  Slot slot[kSlots];
  // Parity commitments (zgda_cuda_encode_batch), on their own stream so
  // they overlap the rows' pipeline; sized for K = ZGDA_MAX_K.
  cudaStream_t g1_stream = nullptr;
  g1_affine* h_g1_in = nullptr;  // pinned, ZGDA_MAX_K data commitments
  g1_jac* h_g1_out = nullptr;    // pinned, 3·ZGDA_MAX_K parity points
  g1_affine* d_g1_in = nullptr;
  g1_jac* d_g1 = nullptr;        // 4·ZGDA_MAX_K points
  fp_t* g1_scratch = nullptr;    // host, 3·ZGDA_MAX_K (batch inversion)
  // Resident data rows of zgda_cuda_encode_batch_resident: their device
  // addresses, staged in pinned memory and read by the column kernel.
  const fr_t** h_rows = nullptr;  // pinned, ZGDA_MAX_K
  const fr_t** d_rows = nullptr;
};

namespace {


// pipeline runs nb batches over the slots: gather(b, slot) fills slot.h_in on
// the host, enqueue(b, slot) copies it in, computes and copies out on the
// slot's stream, scatter(b, slot) empties slot.h_out once that stream is done.
template <class Gather, class Enqueue, class Scatter>
int pipeline(zgda_cuda_ctx* c, size_t nb, Gather gather, Enqueue enqueue, Scatter scatter, char* err,
             size_t errlen) {
  zgda_status::Drain drain{c};
  for (size_t b = 0; b < nb + kSlots; b++) {
    Slot& s = c->slot[b % kSlots];
    if (s.busy) {
      CK(cudaStreamSynchronize(s.stream));
      scatter(s.job, s);
      s.busy = false;
    }
    if (b < nb) {
      gather(b, s);
      if (int rc = enqueue(b, s, err, errlen)) return rc;
      s.busy = true;
      s.job = b;
    }
  }
  return ZGDA_OK;
}

// column_pipeline extends the columns of a K = 2^log_k row matrix whose
// rows 0 … d−1 are data and d … K−1 zero: out[r], r < nout ≤ 3K, receives
// extended row K + r. Each slot's batch is `width` adjacent columns: the d
// data rows' parts go up (the zero rows never leave the host, the kernel
// makes them), one fused launch extends them, the nout rows' parts come
// back. With d_rows (a device table of d resident rows) the data are
// already on the device: nothing is gathered or uploaded and the kernel
// reads them there; data is unused. With out_base (pinned, nout rows of
// ZGDA_ROW one after another) the rows' parts are copied from the device
// straight into it, one strided copy per batch, and nothing is scattered;
// out is unused. The caller holds c->mu on c's device.
int column_pipeline(zgda_cuda_ctx* c, const void* const* data, const fr_t* const* d_rows, int d, uint32_t log_k,
                    void* const* out, fr_t* out_base, int nout, char* err, size_t errlen) {
  const size_t k = (size_t)1 << log_k;
  const size_t width = kBatch / k < ZGDA_ROW ? kBatch / k : ZGDA_ROW;  // divides 4096, a multiple of kColTile/K
  auto gather = [&](size_t b, Slot& s) {
    if (d_rows != nullptr) return;
    const size_t c0 = b * width;
    for (int i = 0; i < d; i++) memcpy(s.h_in + i * width, static_cast<const fr_t*>(data[i]) + c0, width * kElem);
  };
  auto enqueue = [&](size_t b, Slot& s, char* err, size_t errlen) -> int {
    if (d_rows == nullptr) CK(cudaMemcpyAsync(s.d_in, s.h_in, d * width * kElem, cudaMemcpyHostToDevice, s.stream));
    ColumnBatch p{s.d_in, s.d_out, log_k, (uint32_t)d, (uint32_t)width, (uint32_t)nout, c->inv_pow2[log_k], d_rows,
                  (uint32_t)(b * width)};
    extend_columns_async(s.stream, p, c->d_tw);
    CK(cudaGetLastError());
    if (out_base != nullptr) {
      CK(cudaMemcpy2DAsync(out_base + b * width, ZGDA_ROW * kElem, s.d_out, width * kElem, width * kElem, nout,
                           cudaMemcpyDeviceToHost, s.stream));
      return ZGDA_OK;
    }
    CK(cudaMemcpyAsync(s.h_out, s.d_out, nout * width * kElem, cudaMemcpyDeviceToHost, s.stream));
    return ZGDA_OK;
  };
  auto scatter = [&](size_t b, Slot& s) {
    if (out_base != nullptr) return;  // landed in place once the stream was synchronized
    const size_t c0 = b * width;
    for (int r = 0; r < nout; r++) memcpy(static_cast<fr_t*>(out[r]) + c0, s.h_out + r * width, width * kElem);
  };
  return pipeline(c, ZGDA_ROW / width, gather, enqueue, scatter, err, errlen);
}

// G1Drain waits for the commitments' stream on the way out of a call, as
// zgda_status::Drain does for the slots.
struct G1Drain {
  zgda_cuda_ctx* c;
  ~G1Drain() {
    cudaStreamSynchronize(c->g1_stream);
    cudaGetLastError();
  }
};

int set_device(int device, char* err, size_t errlen) { return zgda_status::set_device(device, "", err, errlen); }

int free_ctx(zgda_cuda_ctx* c) {
  if (c == nullptr) return ZGDA_OK;
  cudaSetDevice(c->device);
  for (Slot& s : c->slot) {
    if (s.stream != nullptr) {
      cudaStreamSynchronize(s.stream);
      cudaStreamDestroy(s.stream);
    }
    cudaFreeHost(s.h_in);
    cudaFreeHost(s.h_out);
    cudaFree(s.d_in);
    cudaFree(s.d_out);
  }
  if (c->g1_stream != nullptr) {
    cudaStreamSynchronize(c->g1_stream);
    cudaStreamDestroy(c->g1_stream);
  }
  cudaFreeHost(c->h_g1_in);
  cudaFreeHost(c->h_g1_out);
  cudaFree(c->d_g1_in);
  cudaFree(c->d_g1);
  cudaFreeHost(c->h_rows);
  cudaFree(c->d_rows);
  free(c->g1_scratch);
  cudaFree(c->d_tw);
  delete c;
  return ZGDA_OK;
}

// self_test runs a size-8 NTT both ways on the device and compares with the
// host: it catches a library built for another architecture (no kernel
// image) and gross miscompilation before any real data goes through.
int self_test(zgda_cuda_ctx* c, const fr_t* host_tw, char* err, size_t errlen) {
  Slot& s = c->slot[0];
  fr_t want[8], got[8];
  for (uint32_t i = 0; i < 8; i++) s.h_in[i] = want[i] = fr_from_u64(i * i + 3);
  Layout L{3, 1, 1, 8};
  HostExec hx{host_tw};
  forward_ntt(hx, want, L);
  DeviceExec dx{s.stream, c->d_tw};
  CK(cudaMemcpyAsync(s.d_in, s.h_in, 8 * kElem, cudaMemcpyHostToDevice, s.stream));
  forward_ntt(dx, s.d_in, L);
  CK(cudaGetLastError());
  CK(cudaMemcpyAsync(s.h_out, s.d_in, 8 * kElem, cudaMemcpyDeviceToHost, s.stream));
  CK(cudaStreamSynchronize(s.stream));
  memcpy(got, s.h_out, sizeof(got));
  for (int i = 0; i < 8; i++)
    if (got[i] != want[i]) return say(err, errlen, ZGDA_ECUDA, "device self-test: NTT element %d differs from the host", i);
  inverse_ntt_unscaled(dx, s.d_in, L);
  dx.scale(s.d_in, L, s.d_in, L, 0, c->inv_pow2[3]);
  CK(cudaGetLastError());
  CK(cudaMemcpyAsync(s.h_out, s.d_in, 8 * kElem, cudaMemcpyDeviceToHost, s.stream));
  CK(cudaStreamSynchronize(s.stream));
  for (uint32_t i = 0; i < 8; i++)
    if (s.h_out[i] != fr_from_u64(i * i + 3))
      return say(err, errlen, ZGDA_ECUDA, "device self-test: inverse NTT element %u differs from the input", i);
  // The fused column kernel (shared memory, barriers) on two tiles of a
  // 3-row matrix padded to K = 4, against its host run.
  const uint32_t w = 2 * column_tile_width(2), n_in = 3 * w, n_out = 9 * w;
  fr_t* want_out = static_cast<fr_t*>(malloc(n_out * kElem));
  if (want_out == nullptr) return say(err, errlen, ZGDA_ENOMEM, "self-test: out of memory");
  for (uint32_t i = 0; i < n_in; i++) s.h_in[i] = fr_from_u64(7 * i + 1);
  host_extend_columns(ColumnBatch{s.h_in, want_out, 2, 3, w, 9, c->inv_pow2[2]}, host_tw);
  int rc = [&]() -> int {
    CK(cudaMemcpyAsync(s.d_in, s.h_in, n_in * kElem, cudaMemcpyHostToDevice, s.stream));
    extend_columns_async(s.stream, ColumnBatch{s.d_in, s.d_out, 2, 3, w, 9, c->inv_pow2[2]}, c->d_tw);
    CK(cudaGetLastError());
    CK(cudaMemcpyAsync(s.h_out, s.d_out, n_out * kElem, cudaMemcpyDeviceToHost, s.stream));
    CK(cudaStreamSynchronize(s.stream));
    for (uint32_t i = 0; i < n_out; i++)
      if (s.h_out[i] != want_out[i])
        return say(err, errlen, ZGDA_ECUDA, "device self-test: fused column extension element %u differs from the host", i);
    return ZGDA_OK;
  }();
  free(want_out);
  return rc;
}

int open_ctx(zgda_cuda_ctx* c, char* err, size_t errlen) {
  if (int rc = set_device(c->device, err, errlen)) return rc;
  fr_t* tw = static_cast<fr_t*>(malloc(kTwN * kElem));
  if (tw == nullptr) return say(err, errlen, ZGDA_ENOMEM, "host twiddles: out of memory");
  make_twiddles(tw);
  fr_t two_inv = fr_inverse(fr_from_u64(2));
  c->inv_pow2[0] = fr_t::one();
  for (int i = 1; i < 13; i++) c->inv_pow2[i] = fr_mul(c->inv_pow2[i - 1], two_inv);
  int rc = [&]() -> int {
    CK(cudaMalloc(reinterpret_cast<void**>(&c->d_tw), kTwN * kElem));
    CK(cudaMemcpy(c->d_tw, tw, kTwN * kElem, cudaMemcpyHostToDevice));
    // A pageable cudaMemcpy may return before its DMA lands, and the slots'
    // non-blocking streams are not ordered after it: wait for it here.
    CK(cudaDeviceSynchronize());
    for (Slot& s : c->slot) {
      CK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
      CK(cudaMallocHost(reinterpret_cast<void**>(&s.h_in), kBatch * kElem));
      CK(cudaMallocHost(reinterpret_cast<void**>(&s.h_out), 3 * kBatch * kElem));
      CK(cudaMalloc(reinterpret_cast<void**>(&s.d_in), kBatch * kElem));
      CK(cudaMalloc(reinterpret_cast<void**>(&s.d_out), 3 * kBatch * kElem));
    }
    CK(cudaStreamCreateWithFlags(&c->g1_stream, cudaStreamNonBlocking));
    CK(cudaMallocHost(reinterpret_cast<void**>(&c->h_g1_in), ZGDA_MAX_K * sizeof(g1_affine)));
    CK(cudaMallocHost(reinterpret_cast<void**>(&c->h_g1_out), 3 * ZGDA_MAX_K * sizeof(g1_jac)));
    CK(cudaMalloc(reinterpret_cast<void**>(&c->d_g1_in), ZGDA_MAX_K * sizeof(g1_affine)));
    CK(cudaMalloc(reinterpret_cast<void**>(&c->d_g1), 4 * ZGDA_MAX_K * sizeof(g1_jac)));
    CK(cudaMallocHost(reinterpret_cast<void**>(&c->h_rows), ZGDA_MAX_K * sizeof(fr_t*)));
    CK(cudaMalloc(reinterpret_cast<void**>(&c->d_rows), ZGDA_MAX_K * sizeof(fr_t*)));
    c->g1_scratch = static_cast<fp_t*>(malloc(3 * ZGDA_MAX_K * sizeof(fp_t)));
    if (c->g1_scratch == nullptr) return say(err, errlen, ZGDA_ENOMEM, "host scratch: out of memory");
    return self_test(c, tw, err, errlen);
  }();
  free(tw);
  return rc;
}

// Host buffers of zgda_cuda_host_alloc, start → bytes: an output set given
// to zgda_cuda_encode_batch_pinned must lie inside one.
std::mutex host_mu;
std::map<uintptr_t, size_t> host_bufs;

bool in_host_buf(const void* p, size_t n) {
  std::lock_guard<std::mutex> l(host_mu);
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = host_bufs.upper_bound(a);
  if (it == host_bufs.begin()) return false;
  --it;
  return a >= it->first && a + n <= it->first + it->second;
}

// encode_batch is zgda_cuda_encode_batch with the d data rows given either
// as host rows (data) or as resident-row handles (rows), and the parity
// rows either as row pointers (parity) or as one pinned block (parity_base).
int encode_batch(zgda_cuda_ctx* c, const void* const* data, const unsigned long long* rows, int d,
                 const void* commitments, void* const* parity, fr_t* parity_base, void* parity_commitments, char* err,
                 size_t errlen) {
  if (commitments == nullptr || (parity == nullptr && parity_base == nullptr) || parity_commitments == nullptr)
    return say(err, errlen, ZGDA_EINVAL, "null argument");
  if (d < 1 || d > ZGDA_MAX_K) return say(err, errlen, ZGDA_EINVAL, "d = %d data rows: must be in [1, %d]", d, ZGDA_MAX_K);
  if (parity_base != nullptr) {
    if (!in_host_buf(parity_base, 3 * (size_t)d * ZGDA_ROW * kElem))
      return say(err, errlen, ZGDA_EINVAL, "the %d parity rows do not lie in one zgda_cuda_host_alloc buffer", 3 * d);
  } else {
    for (int r = 0; r < 3 * d; r++)
      if (parity[r] == nullptr) return say(err, errlen, ZGDA_EINVAL, "null parity row pointer %d", r);
  }
  std::lock_guard<std::mutex> lock(c->mu);
  if (int rc = set_device(c->device, err, errlen)) return rc;
  uint32_t log_k = 0;
  while ((1 << log_k) < d) log_k++;
  const uint32_t k = 1u << log_k;
  zgda_status::Drain drain{c};
  G1Drain g1_drain{c};
  const fr_t* const* d_rows = nullptr;
  if (rows != nullptr) {
    // The rows' table goes up on slot 0's stream and is waited for: every
    // slot's kernel reads it.
    if (int rc = zgda_rows::lookup(c->device, rows, d, c->h_rows, err, errlen)) return rc;
    CK(cudaMemcpyAsync(c->d_rows, c->h_rows, d * sizeof(fr_t*), cudaMemcpyHostToDevice, c->slot[0].stream));
    CK(cudaStreamSynchronize(c->slot[0].stream));
    d_rows = c->d_rows;
  }
  // The commitments first, on their own stream: the rows' pipeline below
  // overlaps them.
  memcpy(c->h_g1_in, commitments, d * sizeof(g1_affine));
  CK(cudaMemcpyAsync(c->d_g1_in, c->h_g1_in, d * sizeof(g1_affine), cudaMemcpyHostToDevice, c->g1_stream));
  DeviceG1Exec gx{c->g1_stream, c->d_tw};
  plan_g1_parity(gx, c->d_g1, c->d_g1_in, (uint32_t)d, log_k, c->inv_pow2[log_k]);
  CK(cudaGetLastError());
  CK(cudaMemcpyAsync(c->h_g1_out, c->d_g1 + k, 3 * d * sizeof(g1_jac), cudaMemcpyDeviceToHost, c->g1_stream));
  if (int rc = column_pipeline(c, data, d_rows, d, log_k, parity, parity_base, 3 * d, err, errlen)) return rc;
  CK(cudaStreamSynchronize(c->g1_stream));
  g1_batch_compress(c->h_g1_out, 3 * d, c->g1_scratch, static_cast<uint8_t*>(parity_commitments));
  return ZGDA_OK;
}

}  // namespace

extern "C" {

int zgda_cuda_version(void) { return ZGDA_CUDA_ABI; }

int zgda_cuda_init(int device, char* info, size_t infolen) {
  char* err = info;
  size_t errlen = infolen;
  if (int rc = set_device(device, err, errlen)) return rc;
  CK(cudaFree(nullptr));  // creates the primary context: driver problems show here
  cudaDeviceProp p;
  CK(cudaGetDeviceProperties(&p, device));
  return say(info, infolen, ZGDA_OK, "%s (sm_%d%d, %.1f GiB, %d SMs)", p.name, p.major, p.minor,
             (double)p.totalGlobalMem / (1u << 30), p.multiProcessorCount);
}

zgda_cuda_ctx* zgda_cuda_open(int device, int* code, char* err, size_t errlen) {
  zgda_cuda_ctx* c = new (std::nothrow) zgda_cuda_ctx;
  int rc = ZGDA_ENOMEM;
  if (c == nullptr) {
    say(err, errlen, rc, "context: out of memory");
  } else {
    c->device = device;
    rc = open_ctx(c, err, errlen);
    if (rc != ZGDA_OK) {
      free_ctx(c);
      c = nullptr;
    }
  }
  if (code != nullptr) *code = rc;
  return c;
}

void zgda_cuda_close(zgda_cuda_ctx* ctx) { free_ctx(ctx); }

int zgda_cuda_extend_columns(zgda_cuda_ctx* c, const void* const* data, void* const* out, int k, char* err,
                             size_t errlen) {
  if (c == nullptr || data == nullptr || out == nullptr) return say(err, errlen, ZGDA_EINVAL, "null argument");
  if (k < 1 || k > ZGDA_MAX_K || (k & (k - 1)) != 0)
    return say(err, errlen, ZGDA_EINVAL, "k = %d: must be a power of two in [1, %d]", k, ZGDA_MAX_K);
  for (int j = 0; j < 4 * k; j++)
    if ((j < k && data[j] == nullptr) || out[j] == nullptr)
      return say(err, errlen, ZGDA_EINVAL, "null row pointer %d", j);
  std::lock_guard<std::mutex> lock(c->mu);
  if (int rc = set_device(c->device, err, errlen)) return rc;
  uint32_t log_k = 0;
  while ((1 << log_k) < k) log_k++;
  for (int i = 0; i < k; i++)
    if (out[i] != data[i]) memcpy(out[i], data[i], ZGDA_ROW * kElem);
  return column_pipeline(c, data, nullptr, k, log_k, out + k, nullptr, 3 * k, err, errlen);
}

int zgda_cuda_extend_rows(zgda_cuda_ctx* c, const void* const* rows, void* const* out, int n, char* err,
                          size_t errlen) {
  if (c == nullptr || n < 0 || (n > 0 && (rows == nullptr || out == nullptr)))
    return say(err, errlen, ZGDA_EINVAL, "bad argument (n = %d)", n);
  for (int i = 0; i < n; i++)
    if (rows[i] == nullptr || out[i] == nullptr) return say(err, errlen, ZGDA_EINVAL, "null row pointer %d", i);
  if (n == 0) return ZGDA_OK;
  std::lock_guard<std::mutex> lock(c->mu);
  if (int rc = set_device(c->device, err, errlen)) return rc;
  const size_t per = kBatch / ZGDA_ROW;  // rows per batch
  const size_t row_bytes = ZGDA_ROW * kElem;
  auto count = [&](size_t b) { return (size_t)n - b * per < per ? (size_t)n - b * per : per; };
  auto gather = [&](size_t b, Slot& s) {
    for (size_t j = 0; j < count(b); j++) {
      const void* src = rows[b * per + j];
      memcpy(s.h_in + j * ZGDA_ROW, src, row_bytes);
      if (out[b * per + j] != src) memcpy(out[b * per + j], src, row_bytes);
    }
  };
  auto enqueue = [&](size_t b, Slot& s, char* err, size_t errlen) -> int {
    const size_t m = count(b);
    CK(cudaMemcpyAsync(s.d_in, s.h_in, m * row_bytes, cudaMemcpyHostToDevice, s.stream));
    DeviceExec ex{s.stream, c->d_tw};
    plan_extend_rows(ex, s.d_in, s.d_out, (uint32_t)m, c->inv_pow2[12]);
    CK(cudaGetLastError());
    CK(cudaMemcpyAsync(s.h_out, s.d_out, m * row_bytes, cudaMemcpyDeviceToHost, s.stream));
    return ZGDA_OK;
  };
  auto scatter = [&](size_t b, Slot& s) {
    for (size_t j = 0; j < count(b); j++)
      memcpy(static_cast<fr_t*>(out[b * per + j]) + ZGDA_ROW, s.h_out + j * ZGDA_ROW, row_bytes);
  };
  return pipeline(c, ((size_t)n + per - 1) / per, gather, enqueue, scatter, err, errlen);
}

int zgda_cuda_encode_batch(zgda_cuda_ctx* c, const void* const* data, int d, const void* commitments,
                           void* const* parity, void* parity_commitments, char* err, size_t errlen) {
  if (c == nullptr || data == nullptr) return say(err, errlen, ZGDA_EINVAL, "null argument");
  if (d >= 1 && d <= ZGDA_MAX_K)
    for (int i = 0; i < d; i++)
      if (data[i] == nullptr) return say(err, errlen, ZGDA_EINVAL, "null data row pointer %d", i);
  return encode_batch(c, data, nullptr, d, commitments, parity, nullptr, parity_commitments, err, errlen);
}

int zgda_cuda_encode_batch_resident(zgda_cuda_ctx* c, const unsigned long long* rows, int d, const void* commitments,
                                    void* const* parity, void* parity_commitments, char* err, size_t errlen) {
  if (c == nullptr || rows == nullptr) return say(err, errlen, ZGDA_EINVAL, "null argument");
  return encode_batch(c, nullptr, rows, d, commitments, parity, nullptr, parity_commitments, err, errlen);
}

int zgda_cuda_encode_batch_pinned(zgda_cuda_ctx* c, const void* const* data, const unsigned long long* rows, int d,
                                  const void* commitments, void* parity, void* parity_commitments, char* err,
                                  size_t errlen) {
  if (c == nullptr || (data == nullptr) == (rows == nullptr))
    return say(err, errlen, ZGDA_EINVAL, "null context, or not exactly one of data and rows");
  if (data != nullptr && d >= 1 && d <= ZGDA_MAX_K)
    for (int i = 0; i < d; i++)
      if (data[i] == nullptr) return say(err, errlen, ZGDA_EINVAL, "null data row pointer %d", i);
  if (parity == nullptr) return say(err, errlen, ZGDA_EINVAL, "null argument");
  return encode_batch(c, data, rows, d, commitments, nullptr, static_cast<fr_t*>(parity), parity_commitments, err,
                      errlen);
}

int zgda_cuda_host_alloc(int device, size_t bytes, void** p, char* err, size_t errlen) {
  if (p == nullptr || bytes == 0) return say(err, errlen, ZGDA_EINVAL, "bad argument (%zu bytes)", bytes);
  *p = nullptr;
  if (int rc = set_device(device, err, errlen)) return rc;
  // The lanes share the device's primary context, so any pinned buffer
  // serves them all; portable keeps it pinned for a caller's own context
  // too, at no cost.
  CK(cudaHostAlloc(p, bytes, cudaHostAllocPortable));
  std::lock_guard<std::mutex> l(host_mu);
  host_bufs[reinterpret_cast<uintptr_t>(*p)] = bytes;
  return ZGDA_OK;
}

void zgda_cuda_host_free(void* p) {
  if (p == nullptr) return;
  {
    std::lock_guard<std::mutex> l(host_mu);
    host_bufs.erase(reinterpret_cast<uintptr_t>(p));
  }
  cudaFreeHost(p);
}

}  // extern "C"
