// msm.cu: batched KZG row commitments (fixed-base MSM over G1) on a CUDA
// device, the C ABI of zgda_cuda_msm.h.
//
// The algorithm and every step's index maths live in include/msm.cuh and are
// tested on the host (cuda/internal/hostcheck) against gnark-crypto and kzg;
// this file adds one thin kernel per step (plan_msm's schedule: sort by
// bucket, bounded chunks, segmented reduction, one inversion a batch), the
// fixed table built once per context, and a pipeline over batches of rows:
// while the device works on one batch, the host gathers the next into
// pinned memory and hands the previous one's points back. Rows come as
// scalars (zgda_cuda_commit_rows) or as blob bytes that the device packs
// first (zgda_cuda_msm_commit_bytes, include/pack.cuh): then the host copies
// 31 bytes an element, not 32, and does no per-element work.
//
// Built by nvcc with ntt.cu (make cuda). Tests also build it with g++ against
// internal/emu/cuda_emu.h, and clang compiles its device code to PTX.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mutex>
#include <new>
#include <memory>

#include "include/msm.cuh"
#include "include/pack.cuh"
#include "include/rowstore.cuh"
#include "zgda_cuda.h"
#include "zgda_cuda_msm.h"

#include "include/runtime.cuh"
#define ZGDA_MSM_KERNEL ZGDA_GLOBAL
#define ZGDA_MSM_TID() ZGDA_TID()
#define ZGDA_MSM_LAUNCH(kernel, threads, stream, ...) \
  ZGDA_LAUNCH_GRID(kernel, msm_grid(threads), kMsmBlock, stream, __VA_ARGS__)

using namespace zgda;

namespace {

// Threads per block: the G1 kernels hold a few Jacobian points (144 bytes
// each) in registers, so blocks are smaller than the NTT's.
constexpr uint32_t kMsmBlock = 128;
constexpr int kMsmSlots = 3;  // batches in flight: gather, device, hand back
// Scalars per batch (4 MiB, 32 rows of 4096), shared with ntt.cu's knob so
// tests of the emulated build get many batches from few rows.
#ifndef ZGDA_BATCH_ELEMS
#define ZGDA_BATCH_ELEMS (1 << 17)
#endif
constexpr size_t kMsmBatch = ZGDA_BATCH_ELEMS;

uint32_t msm_grid(uint32_t threads) { return (threads + kMsmBlock - 1) / kMsmBlock; }

}  // namespace

// One kernel per msm.cuh step; threads past the end (last block) idle.
namespace zgda_msm_kernels {

ZGDA_MSM_KERNEL k_msm_table_jac(const g1_affine* bases, g1_jac* scratch, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) msm_table_jac_step(bases, scratch, n, t);
}
ZGDA_MSM_KERNEL k_msm_table_affine(const g1_jac* scratch, g1_affine* table, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) msm_table_affine_step(scratch, table, n, t);
}
ZGDA_MSM_KERNEL k_pack(const uint8_t* bytes, fr_t* scalars, uint32_t row_n, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) pack_step(bytes, scalars, row_n, t);
}
ZGDA_MSM_KERNEL k_msm_digits(MsmBatch b, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) msm_digits_step(b, t);
}
ZGDA_MSM_KERNEL k_msm_count(MsmBatch b, uint32_t pass, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) msm_count_step(b, pass, t);
}
ZGDA_MSM_KERNEL k_msm_bin_scan(MsmBatch b, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) msm_bin_scan_step(b, t);
}
ZGDA_MSM_KERNEL k_msm_base_scan(MsmBatch b, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) msm_base_scan_step(b, t);
}
ZGDA_MSM_KERNEL k_msm_scatter(MsmBatch b, uint32_t pass, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) msm_scatter_step(b, pass, t);
}
ZGDA_MSM_KERNEL k_msm_bounds(MsmBatch b, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) msm_bounds_step(b, t);
}
ZGDA_MSM_KERNEL k_msm_chunk_scan(MsmBatch b, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) msm_chunk_scan_step(b, t);
}
ZGDA_MSM_KERNEL k_msm_bucket(MsmBatch b, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) msm_bucket_step(b, t);
}
ZGDA_MSM_KERNEL k_msm_reduce(MsmBatch b, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) msm_reduce_step(b, t);
}
ZGDA_MSM_KERNEL k_msm_combine(MsmBatch b, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) msm_combine_step(b, t);
}
ZGDA_MSM_KERNEL k_msm_finish(MsmBatch b, uint32_t n) {
  uint32_t t = ZGDA_MSM_TID();
  if (t < n) msm_finish_step(b, t);
}
ZGDA_MSM_KERNEL k_msm_affine(MsmBatch b) {
  if (ZGDA_MSM_TID() == 0) msm_affine_step(b, 0);
}

}  // namespace zgda_msm_kernels

namespace zgda_msm {

using namespace zgda_msm_kernels;

// DeviceMsmExec enqueues plan_msm's steps on one stream (see msm.cuh's Exec).
struct DeviceMsmExec {
  cudaStream_t st;
  void digits(const MsmBatch& b) { ZGDA_MSM_LAUNCH(k_msm_digits, msm_scalar_threads(b), st, b, msm_scalar_threads(b)); }
  void count(const MsmBatch& b, uint32_t pass) {
    ZGDA_MSM_LAUNCH(k_msm_count, msm_tile_threads(b), st, b, pass, msm_tile_threads(b));
  }
  void bin_scan(const MsmBatch& b) { ZGDA_MSM_LAUNCH(k_msm_bin_scan, msm_bin_threads(b), st, b, msm_bin_threads(b)); }
  void base_scan(const MsmBatch& b) { ZGDA_MSM_LAUNCH(k_msm_base_scan, b.rows, st, b, b.rows); }
  void scatter(const MsmBatch& b, uint32_t pass) {
    ZGDA_MSM_LAUNCH(k_msm_scatter, msm_tile_threads(b), st, b, pass, msm_tile_threads(b));
  }
  void bounds(const MsmBatch& b) { ZGDA_MSM_LAUNCH(k_msm_bounds, msm_start_threads(b), st, b, msm_start_threads(b)); }
  void chunk_scan(const MsmBatch& b) { ZGDA_MSM_LAUNCH(k_msm_chunk_scan, b.rows, st, b, b.rows); }
  void bucket(const MsmBatch& b) { ZGDA_MSM_LAUNCH(k_msm_bucket, msm_chunk_threads(b), st, b, msm_chunk_threads(b)); }
  void reduce(const MsmBatch& b) { ZGDA_MSM_LAUNCH(k_msm_reduce, msm_segment_threads(b), st, b, msm_segment_threads(b)); }
  void combine(const MsmBatch& b) { ZGDA_MSM_LAUNCH(k_msm_combine, msm_group_threads(b), st, b, msm_group_threads(b)); }
  void finish(const MsmBatch& b) { ZGDA_MSM_LAUNCH(k_msm_finish, b.rows, st, b, b.rows); }
  void affine(const MsmBatch& b) { ZGDA_MSM_LAUNCH(k_msm_affine, 1, st, b); }
};

// Slot is one batch in flight: its stream, pinned staging and device
// working memory (d.* are device pointers for up to `rows` rows). A batch
// stages either scalars or bytes, so the bytes share h_in's pinned memory.
struct Slot {
  cudaStream_t stream = nullptr;
  fr_t* h_in = nullptr;        // pinned, rows·n scalars
  uint8_t* h_bytes = nullptr;  // = h_in: rows·31·n payload bytes
  msm_point* h_out = nullptr;  // pinned, rows results
  fr_t* d_in = nullptr;        // the batch's scalars (copied or packed)
  uint8_t* d_bytes = nullptr;  // rows·31·n payload bytes
  MsmBatch d{};
  bool busy = false;  // a batch is enqueued and not yet handed back
  size_t job = 0;     // that batch's index
};

using zgda_status::say;

// MCK returns from the enclosing function with the failed call's message.
#define MCK(call) ZGDA_CHECK("msm: ", call)

int set_device(int device, char* err, size_t errlen) { return zgda_status::set_device(device, "msm: ", err, errlen); }

template <class T>
cudaError_t dev_alloc(T** p, size_t n) {
  return cudaMalloc(reinterpret_cast<void**>(p), n * sizeof(T));
}

}  // namespace zgda_msm

using namespace zgda_msm;

static_assert(sizeof(zgda_msm_point) == sizeof(msm_point), "zgda_msm_point is msm.cuh's msm_point");

struct zgda_cuda_msm_ctx {
  int device = 0;
  uint32_t n = 0;     // bases
  uint32_t rows = 0;  // rows per batch
  std::mutex mu;
  g1_affine* d_table = nullptr;  // kMsmWindows·n
  Slot slot[kMsmSlots];
};

namespace zgda_msm {


void free_ctx(zgda_cuda_msm_ctx* c) {
  if (c == nullptr) return;
  cudaSetDevice(c->device);
  for (Slot& s : c->slot) {
    if (s.stream != nullptr) {
      cudaStreamSynchronize(s.stream);
      cudaStreamDestroy(s.stream);
    }
    cudaFreeHost(s.h_in);
    cudaFreeHost(s.h_out);
    cudaFree(s.d_in);
    cudaFree(s.d_bytes);
    cudaFree(s.d.digits);
    cudaFree(s.d.hist);
    cudaFree(s.d.bin_base);
    cudaFree(s.d.tmp);
    cudaFree(s.d.list);
    cudaFree(s.d.start);
    cudaFree(s.d.cstart);
    cudaFree(s.d.chunks);
    cudaFree(s.d.seg);
    cudaFree(s.d.grp);
    cudaFree(s.d.res);
    cudaFree(s.d.out);
  }
  cudaFree(c->d_table);
  delete c;
}

// enqueue_batch copies m rows from the slot's pinned staging to the device
// — scalars from s.h_in, or (bytes) payload bytes from s.h_bytes, which the
// pack kernel turns into s.d_in's scalars — runs plan_msm and copies the m
// results back to s.h_out, all on s.stream.
// With keep, the j-th packed row is also copied to the resident row keep[j].
int enqueue_batch(zgda_cuda_msm_ctx* c, Slot& s, uint32_t m, bool bytes, fr_t* const* keep, char* err,
                  size_t errlen) {
  if (bytes) {
    MCK(cudaMemcpyAsync(s.d_bytes, s.h_bytes, m * pack_row_bytes(c->n), cudaMemcpyHostToDevice, s.stream));
    ZGDA_MSM_LAUNCH(k_pack, m * c->n, s.stream, s.d_bytes, s.d_in, c->n, m * c->n);
    for (uint32_t j = 0; keep != nullptr && j < m; j++)
      MCK(cudaMemcpyAsync(keep[j], s.d_in + (size_t)j * c->n, c->n * sizeof(fr_t), cudaMemcpyDeviceToDevice, s.stream));
  } else {
    MCK(cudaMemcpyAsync(s.d_in, s.h_in, (size_t)m * c->n * sizeof(fr_t), cudaMemcpyHostToDevice, s.stream));
  }
  MsmBatch b = s.d;
  b.rows = m;
  DeviceMsmExec ex{s.stream};
  plan_msm(ex, b);
  MCK(cudaGetLastError());
  MCK(cudaMemcpyAsync(s.h_out, b.out, (size_t)m * sizeof(msm_point), cudaMemcpyDeviceToHost, s.stream));
  return ZGDA_OK;
}

int alloc_slot(zgda_cuda_msm_ctx* c, Slot& s, char* err, size_t errlen) {
  const size_t rows = c->rows, n = c->n;
  MCK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
  MCK(cudaMallocHost(reinterpret_cast<void**>(&s.h_in), rows * n * sizeof(fr_t)));
  MCK(cudaMallocHost(reinterpret_cast<void**>(&s.h_out), rows * sizeof(msm_point)));
  s.h_bytes = reinterpret_cast<uint8_t*>(s.h_in);
  MCK(dev_alloc(&s.d_in, rows * n));
  MCK(dev_alloc(&s.d_bytes, rows * pack_row_bytes(c->n)));
  const size_t e = msm_entries(c->n);
  MCK(dev_alloc(&s.d.digits, rows * e));
  MCK(dev_alloc(&s.d.hist, rows * kMsmRadix * msm_tiles(c->n)));
  MCK(dev_alloc(&s.d.bin_base, rows * kMsmRadix));
  MCK(dev_alloc(&s.d.tmp, rows * e));
  MCK(dev_alloc(&s.d.list, rows * e));
  MCK(dev_alloc(&s.d.start, rows * kMsmStarts));
  MCK(dev_alloc(&s.d.cstart, rows * (kMsmBuckets + 1)));
  MCK(dev_alloc(&s.d.chunks, rows * msm_chunks(c->n)));
  MCK(dev_alloc(&s.d.seg, rows * msm_segments(c->n)));
  MCK(dev_alloc(&s.d.grp, rows * msm_groups(c->n)));
  MCK(dev_alloc(&s.d.res, rows));
  MCK(dev_alloc(&s.d.out, rows));
  s.d.n = c->n;
  s.d.rows = c->rows;
  s.d.table = c->d_table;
  s.d.scalars = s.d_in;
  return ZGDA_OK;
}

// build_table uploads the bases and computes the window table on the device.
int build_table(zgda_cuda_msm_ctx* c, const g1_affine* bases, char* err, size_t errlen) {
  const uint32_t n = c->n;
  g1_affine* d_bases = nullptr;
  g1_jac* d_scratch = nullptr;
  int rc = [&]() -> int {
    MCK(dev_alloc(&c->d_table, (size_t)kMsmWindows * n));
    MCK(dev_alloc(&d_bases, n));
    MCK(dev_alloc(&d_scratch, (size_t)kMsmWindows * n));
    MCK(cudaMemcpy(d_bases, bases, (size_t)n * sizeof(g1_affine), cudaMemcpyHostToDevice));
    // A pageable cudaMemcpy may return before its DMA lands, and the slots'
    // non-blocking streams are not ordered after it: wait for it here.
    MCK(cudaDeviceSynchronize());
    cudaStream_t st = c->slot[0].stream;
    ZGDA_MSM_LAUNCH(k_msm_table_jac, n, st, d_bases, d_scratch, n);
    ZGDA_MSM_LAUNCH(k_msm_table_affine, n, st, d_scratch, c->d_table, n);
    MCK(cudaGetLastError());
    MCK(cudaStreamSynchronize(st));
    return ZGDA_OK;
  }();
  cudaFree(d_bases);
  cudaFree(d_scratch);
  return rc;
}

// known_answer commits slot 0's one staged row (scalars, or bytes) and
// compares the result with want.
int known_answer(zgda_cuda_msm_ctx* c, const g1_jac& want, bool bytes, char* err, size_t errlen) {
  Slot& s = c->slot[0];
  {
    zgda_status::Drain drain{c};
    if (int rc = enqueue_batch(c, s, 1, bytes, nullptr, err, errlen)) return rc;
    MCK(cudaStreamSynchronize(s.stream));
  }
  g1_affine w = g1_to_affine(want);
  const msm_point& got = s.h_out[0];
  bool inf = want.z.is_zero();
  if (got.infinity != (inf ? 1u : 0u) || got.x != w.x || got.y != w.y)
    return say(err, errlen, ZGDA_ECUDA, "msm: device self-test: the known-answer MSM %sdiffers from the host",
               bytes ? "of packed bytes " : "");
  return ZGDA_OK;
}

// self_test commits one sparse row with edge digits (1, −1, the largest
// bucket, a full-width scalar) on the device and compares with a host
// double-and-add over the original bases: it catches a library built for
// another architecture, a bad table and gross miscompilation; then one row
// of bytes through the pack kernel.
int self_test(zgda_cuda_msm_ctx* c, const g1_affine* bases, char* err, size_t errlen) {
  Slot& s = c->slot[0];
  const uint32_t n = c->n;
  memset(s.h_in, 0, (size_t)n * sizeof(fr_t));
  fr_t big = fr_t::one();
  for (int i = 0; i < 40; i++) big = fr_add(fr_sqr(big), fr_from_u64(0x9e3779b97f4a7c15ULL));
  const fr_t vals[4] = {fr_t::one(), fr_neg(fr_t::one()), fr_from_u64(kMsmBuckets), big};
  const uint32_t idx[4] = {0, n / 2, n - 1, n / 3};
  g1_jac want = g1_jac_inf();
  for (int j = 0; j < 4; j++) {
    bool seen = false;  // n < 4: positions collide, keep the first
    for (int k = 0; k < j; k++) seen = seen || idx[k] == idx[j];
    if (seen) continue;
    s.h_in[idx[j]] = vals[j];
    want = g1_add(want, msm_scalar_mul(bases[idx[j]], vals[j]));
  }
  if (int rc = known_answer(c, want, false, err, errlen)) return rc;
  // The pack kernel: an all-0xff element first, a pattern last, zeros
  // between (n = 1: both on element 0), against the host's pack_element.
  const size_t len = pack_row_bytes(n);
  memset(s.h_bytes, 0, len);
  memset(s.h_bytes, 0xff, kPackBytes);
  uint8_t* last = s.h_bytes + len - kPackBytes;
  for (uint32_t j = 0; j < kPackBytes; j++) last[j] ^= (uint8_t)(0x11 * j + 1);
  want = msm_scalar_mul(bases[0], pack_element(s.h_bytes));
  if (n > 1) want = g1_add(want, msm_scalar_mul(bases[n - 1], pack_element(last)));
  return known_answer(c, want, true, err, errlen);
}

// commit_slots is commit_pipeline's loop over the slots; keep (or NULL)
// holds the resident rows of all nrows rows.
template <class Gather>
int commit_slots(zgda_cuda_msm_ctx* c, int nrows, zgda_msm_point* out, bool bytes, Gather gather, fr_t* const* keep,
                 char* err, size_t errlen) {
  const size_t per = c->rows;
  const size_t nb = ((size_t)nrows + per - 1) / per;
  auto count = [&](size_t b) { return (size_t)nrows - b * per < per ? (size_t)nrows - b * per : per; };
  zgda_status::Drain drain{c};
  for (size_t b = 0; b < nb + kMsmSlots; b++) {
    Slot& s = c->slot[b % kMsmSlots];
    if (s.busy) {  // hand back the batch this slot ran kMsmSlots batches ago
      MCK(cudaStreamSynchronize(s.stream));
      memcpy(out + s.job * per, s.h_out, count(s.job) * sizeof(msm_point));
      s.busy = false;
    }
    if (b < nb) {
      for (size_t j = 0; j < count(b); j++) gather(s, j, b * per + j);
      if (int rc = enqueue_batch(c, s, (uint32_t)count(b), bytes, keep != nullptr ? keep + b * per : nullptr, err, errlen))
        return rc;
      s.busy = true;
      s.job = b;
    }
  }
  return ZGDA_OK;
}

// commit_pipeline commits nrows rows over the slots: gather(slot, j, row)
// stages caller row `row` as the slot's j-th (scalars or, with bytes, payload
// bytes), then the batch is enqueued; kMsmSlots batches later its points are
// handed back into out. With handles (bytes only), every packed row is kept
// on the device and handles[row] names it; on failure none is held.
template <class Gather>
int commit_pipeline(zgda_cuda_msm_ctx* c, int nrows, zgda_msm_point* out, bool bytes, Gather gather,
                    unsigned long long* handles, char* err, size_t errlen) {
  if (nrows == 0) return ZGDA_OK;
  std::lock_guard<std::mutex> lock(c->mu);
  if (int rc = set_device(c->device, err, errlen)) return rc;
  std::unique_ptr<fr_t*[]> keep;
  if (handles != nullptr) {
    keep.reset(new (std::nothrow) fr_t*[nrows]);
    if (!keep) return say(err, errlen, ZGDA_ENOMEM, "msm: resident row table: out of memory");
    if (int rc = zgda_rows::reserve(c->device, nrows, handles, keep.get(), err, errlen)) return rc;
  }
  int rc = commit_slots(c, nrows, out, bytes, gather, keep.get(), err, errlen);
  if (rc != ZGDA_OK && handles != nullptr) zgda_rows::release(handles, nrows);
  return rc;
}


int open_ctx(zgda_cuda_msm_ctx* c, const g1_affine* bases, char* err, size_t errlen) {
  if (int rc = set_device(c->device, err, errlen)) return rc;
  for (Slot& s : c->slot)
    if (int rc = alloc_slot(c, s, err, errlen)) return rc;
  if (int rc = build_table(c, bases, err, errlen)) return rc;
  for (Slot& s : c->slot) s.d.table = c->d_table;
  return self_test(c, bases, err, errlen);
}

}  // namespace zgda_msm

extern "C" {

int zgda_cuda_msm_version(void) { return ZGDA_CUDA_MSM_ABI; }

int zgda_cuda_msm_open(int device, const void* points, int n, zgda_cuda_msm_ctx** ctx, char* err, size_t errlen) {
  if (ctx == nullptr) return say(err, errlen, ZGDA_EINVAL, "msm: null context pointer");
  *ctx = nullptr;
  if (points == nullptr || n < 1 || n > ZGDA_MSM_MAX_POINTS)
    return say(err, errlen, ZGDA_EINVAL, "msm: %d points: want 1 to %d", n, ZGDA_MSM_MAX_POINTS);
  zgda_cuda_msm_ctx* c = new (std::nothrow) zgda_cuda_msm_ctx;
  if (c == nullptr) return say(err, errlen, ZGDA_ENOMEM, "msm: context: out of memory");
  c->device = device;
  c->n = (uint32_t)n;
  // Rows per batch: kMsmBatch scalars, but at most as many rows as
  // 4096-point rows would give (the chunk slots, at least 2048 Jacobian
  // points a row, do not shrink with n).
  const size_t per = (size_t)(n > ZGDA_ROW ? n : ZGDA_ROW);
  c->rows = kMsmBatch / per > 0 ? (uint32_t)(kMsmBatch / per) : 1;
  int rc = open_ctx(c, static_cast<const g1_affine*>(points), err, errlen);
  if (rc != ZGDA_OK) {
    free_ctx(c);
    return rc;
  }
  *ctx = c;
  return ZGDA_OK;
}

void zgda_cuda_msm_close(zgda_cuda_msm_ctx* ctx) { free_ctx(ctx); }

int zgda_cuda_commit_rows(zgda_cuda_msm_ctx* c, const void* const* rows, int nrows, zgda_msm_point* out, char* err,
                          size_t errlen) {
  if (c == nullptr || nrows < 0 || (nrows > 0 && (rows == nullptr || out == nullptr)))
    return say(err, errlen, ZGDA_EINVAL, "msm: bad argument (nrows = %d)", nrows);
  for (int i = 0; i < nrows; i++)
    if (rows[i] == nullptr) return say(err, errlen, ZGDA_EINVAL, "msm: null row pointer %d", i);
  const size_t n = c->n;
  return commit_pipeline(c, nrows, out, false, [&](Slot& s, size_t j, size_t row) {
    memcpy(s.h_in + j * n, rows[row], n * sizeof(fr_t));
  }, nullptr, err, errlen);
}

}  // extern "C"

namespace zgda_msm {

int commit_bytes(zgda_cuda_msm_ctx* c, const zgda_msm_bytes* rows, int nrows, zgda_msm_point* out,
                 unsigned long long* handles, char* err, size_t errlen) {
  if (c == nullptr || nrows < 0 || (nrows > 0 && (rows == nullptr || out == nullptr)))
    return say(err, errlen, ZGDA_EINVAL, "msm: bad argument (nrows = %d)", nrows);
  if (handles != nullptr && c->n != ZGDA_ROW)
    return say(err, errlen, ZGDA_EINVAL, "msm: resident rows need %d-point rows, the context has %u", ZGDA_ROW, c->n);
  const size_t per = pack_row_bytes(c->n);
  for (int i = 0; i < nrows; i++) {
    if (rows[i].len > per)
      return say(err, errlen, ZGDA_EINVAL, "msm: row %d has %zu bytes, a row of %u elements holds %zu", i, rows[i].len,
                 c->n, per);
    if (rows[i].len > 0 && rows[i].data == nullptr)
      return say(err, errlen, ZGDA_EINVAL, "msm: null data of row %d (%zu bytes)", i, rows[i].len);
  }
  return commit_pipeline(c, nrows, out, true, [&](Slot& s, size_t j, size_t row) {
    uint8_t* dst = s.h_bytes + j * per;
    const size_t len = rows[row].len;
    if (len > 0) memcpy(dst, rows[row].data, len);
    memset(dst + len, 0, per - len);  // docs/spec.md §3.1: the last row's padding
  }, handles, err, errlen);
}

}  // namespace zgda_msm

extern "C" {

int zgda_cuda_msm_commit_bytes(zgda_cuda_msm_ctx* c, const zgda_msm_bytes* rows, int nrows, zgda_msm_point* out,
                               char* err, size_t errlen) {
  return commit_bytes(c, rows, nrows, out, nullptr, err, errlen);
}

int zgda_cuda_msm_commit_bytes_keep(zgda_cuda_msm_ctx* c, const zgda_msm_bytes* rows, int nrows, zgda_msm_point* out,
                                    unsigned long long* handles, char* err, size_t errlen) {
  if (handles == nullptr && nrows > 0) return say(err, errlen, ZGDA_EINVAL, "msm: null handles");
  return commit_bytes(c, rows, nrows, out, handles, err, errlen);
}

}  // extern "C"
