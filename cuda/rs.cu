// rs.cu: GF(2^8) Reed–Solomon parity on a CUDA device for the storage
// volumes (zgda_cuda_rs.h).
//
// The arithmetic and the per-thread step live in include/gf256.cuh and are
// tested on the host (cuda/internal/hostcheck) against klauspost/reedsolomon;
// this file adds the kernel, a context holding the coding matrix and reused
// buffers, and a pipeline over chunks of columns: while the device works on
// one chunk, the host gathers the next into pinned memory and scatters the
// previous one's parity out.
//
// Built by nvcc (make cuda) into the same library as ntt.cu. Tests also build
// it with g++ against internal/emu/cuda_emu.h. Everything here is in named or
// anonymous namespaces, apart from the C ABI and its two opaque structs, so
// it cannot collide with the other .cu files of the library.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mutex>
#include <new>

#include "include/gf256.cuh"
#include "zgda_cuda.h"
#include "zgda_cuda_rs.h"

#include "include/runtime.cuh"
#define ZGDA_RS_KERNEL ZGDA_GLOBAL
#define ZGDA_RS_THREAD_ID() ZGDA_TID()
#define ZGDA_RS_LAUNCH(kernel, threads, stream, ...) \
  ZGDA_LAUNCH_GRID(kernel, rs_grid(threads), kRSBlock, stream, __VA_ARGS__)

using zgda::RSShape;

namespace {

constexpr uint32_t kRSBlock = 256;  // threads per block
constexpr int kRSSlots = 3;         // chunks in flight: gather, device, scatter
// Data bytes per chunk by default: large enough to amortise a launch and
// three copies, small enough that a 32 MiB record makes several chunks to
// overlap.
#ifndef ZGDA_RS_CHUNK_BYTES
#define ZGDA_RS_CHUNK_BYTES (4u << 20)
#endif
constexpr size_t kRSDefaultChunk = ZGDA_RS_CHUNK_BYTES;
// One launch runs at most this many threads (vectors × parity tiles); longer
// rows take several launches.
constexpr size_t kRSMaxThreads = size_t(1) << 31;
constexpr size_t kRSDevAlign = 256;  // row stride of device-resident shards

uint32_t rs_grid(uint32_t threads) { return (threads + kRSBlock - 1) / kRSBlock; }
size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

}  // namespace

namespace zgda_rs_kernels {

// k_rs_encode: one 16-byte vector of kRSTile parity rows per thread.
ZGDA_RS_KERNEL k_rs_encode(const uint8_t* data, uint8_t* parity, const uint8_t* mat, RSShape s, uint32_t n) {
  uint32_t t = ZGDA_RS_THREAD_ID();
  if (t < n) zgda::rs_step(data, parity, mat, s, t);
}

}  // namespace zgda_rs_kernels

namespace zgda_rs {

struct Slot {
  cudaStream_t stream = nullptr;
  uint8_t* h_in = nullptr;   // pinned, k·width
  uint8_t* h_out = nullptr;  // pinned, m·width
  uint8_t* d_in = nullptr;
  uint8_t* d_out = nullptr;
  bool busy = false;  // a chunk is enqueued and not yet scattered
  size_t job = 0;     // that chunk's index
};

}  // namespace zgda_rs

struct zgda_rs_ctx {
  int device = 0;
  uint32_t k = 0, m = 0;
  size_t width = 0;  // bytes per row of a chunk, a multiple of 16
  std::mutex mu;
  uint8_t* mat = nullptr;    // host copy, m·k
  uint8_t* d_mat = nullptr;  // device copy
  zgda_rs::Slot slot[kRSSlots];
};

struct zgda_rs_dev {
  int device = 0;
  uint32_t k = 0, m = 0;
  size_t len = 0, stride = 0;
  uint8_t* d_data = nullptr;
  uint8_t* d_parity = nullptr;
};

namespace zgda_rs {

using zgda_rs_kernels::k_rs_encode;

using zgda_status::say;

// CK returns from the enclosing function with the failed call's message.
#define CK(call) ZGDA_CHECK("rs: ", call)

int set_device(int device, char* err, size_t errlen) { return zgda_status::set_device(device, "rs: ", err, errlen); }

// launch enqueues the kernel over rows of len bytes at the given stride,
// in pieces of at most kRSMaxThreads threads, so counts fit 32 bits.
int launch(zgda_rs_ctx* c, cudaStream_t st, const uint8_t* d_data, uint8_t* d_parity, size_t len, size_t stride,
           char* err, size_t errlen) {
  const size_t vecs = (len + 15) / 16;
  const size_t most = kRSMaxThreads / ((c->m + zgda::kRSTile - 1) / zgda::kRSTile);
  for (size_t v0 = 0; v0 < vecs; v0 += most) {
    RSShape s{c->k, c->m, stride, (uint32_t)(vecs - v0 < most ? vecs - v0 : most)};
    uint32_t n = zgda::rs_threads(s);
    ZGDA_RS_LAUNCH(k_rs_encode, n, st, d_data + v0 * 16, d_parity + v0 * 16, c->d_mat, s, n);
    CK(cudaGetLastError());
  }
  return ZGDA_OK;
}


// encode_host runs the chunk pipeline: chunk b is columns [b·w, b·w + w) of
// every shard, packed in a slot's pinned buffer at stride round_up(cols, 16).
int encode_host(zgda_rs_ctx* c, const uint8_t* const* data, uint8_t* const* parity, size_t len, char* err,
                size_t errlen) {
  zgda_status::Drain drain{c};
  const size_t w = c->width < round_up(len, 16) ? c->width : round_up(len, 16);
  const size_t nb = (len + w - 1) / w;
  auto cols = [&](size_t b) { return len - b * w < w ? len - b * w : w; };
  for (size_t b = 0; b < nb + kRSSlots; b++) {
    Slot& s = c->slot[b % kRSSlots];
    if (s.busy) {
      CK(cudaStreamSynchronize(s.stream));
      const size_t off = s.job * w, n = cols(s.job), stride = round_up(n, 16);
      for (uint32_t j = 0; j < c->m; j++) memcpy(parity[j] + off, s.h_out + j * stride, n);
      s.busy = false;
    }
    if (b >= nb) continue;
    const size_t off = b * w, n = cols(b), stride = round_up(n, 16);
    for (uint32_t i = 0; i < c->k; i++) {
      memcpy(s.h_in + i * stride, data[i] + off, n);
      memset(s.h_in + i * stride + n, 0, stride - n);  // defined bytes in the padding
    }
    CK(cudaMemcpyAsync(s.d_in, s.h_in, c->k * stride, cudaMemcpyHostToDevice, s.stream));
    if (int rc = launch(c, s.stream, s.d_in, s.d_out, n, stride, err, errlen)) return rc;
    CK(cudaMemcpyAsync(s.h_out, s.d_out, c->m * stride, cudaMemcpyDeviceToHost, s.stream));
    s.busy = true;
    s.job = b;
  }
  return ZGDA_OK;
}

// host_parity computes parity on the host with the kernel's own step
// function (rows packed at stride, a multiple of 16).
void host_parity(const zgda_rs_ctx* c, const uint8_t* data, uint8_t* parity, size_t stride) {
  RSShape s{c->k, c->m, stride, (uint32_t)(stride / 16)};
  for (uint32_t t = 0; t < zgda::rs_threads(s); t++) zgda::rs_step(data, parity, c->mat, s, t);
}

// self_test encodes a small pattern on the device and on the host and
// compares: it catches a library built for another architecture (no kernel
// image) and gross miscompilation before any real data goes through.
int self_test(zgda_rs_ctx* c, char* err, size_t errlen) {
  constexpr size_t kLen = 48;  // three vectors; the host pipeline pads nothing
  const size_t k = c->k, m = c->m;
  uint8_t* buf = static_cast<uint8_t*>(malloc((k + 2 * m) * kLen));
  const uint8_t** dp = static_cast<const uint8_t**>(malloc(k * sizeof(uint8_t*)));
  uint8_t** pp = static_cast<uint8_t**>(malloc(m * sizeof(uint8_t*)));
  int rc = ZGDA_OK;
  if (buf == nullptr || dp == nullptr || pp == nullptr) {
    rc = say(err, errlen, ZGDA_ENOMEM, "rs self-test: host memory");
  } else {
    uint8_t* want = buf + k * kLen;
    uint8_t* got = want + m * kLen;
    for (size_t i = 0; i < k * kLen; i++) buf[i] = (uint8_t)(i * 131 + (i >> 3) * 7 + 1);
    host_parity(c, buf, want, kLen);
    for (size_t i = 0; i < k; i++) dp[i] = buf + i * kLen;
    for (size_t j = 0; j < m; j++) pp[j] = got + j * kLen;
    rc = encode_host(c, dp, pp, kLen, err, errlen);
    if (rc == ZGDA_OK && memcmp(want, got, m * kLen) != 0)
      rc = say(err, errlen, ZGDA_ECUDA, "rs device self-test: parity differs from the host's");
  }
  free(buf);
  free(dp);
  free(pp);
  return rc;
}

void free_ctx(zgda_rs_ctx* c) {
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
    cudaFree(s.d_out);
  }
  cudaFree(c->d_mat);
  free(c->mat);
  delete c;
}

int open_ctx(zgda_rs_ctx* c, const uint8_t* matrix, size_t chunk, char* err, size_t errlen) {
  if (int rc = set_device(c->device, err, errlen)) return rc;
  const size_t mk = (size_t)c->m * c->k;
  c->mat = static_cast<uint8_t*>(malloc(mk));
  if (c->mat == nullptr) return say(err, errlen, ZGDA_ENOMEM, "rs matrix: host memory");
  memcpy(c->mat, matrix, mk);
  c->width = chunk / c->k / 16 * 16;
  if (c->width < 16) c->width = 16;
  CK(cudaMalloc(reinterpret_cast<void**>(&c->d_mat), mk));
  CK(cudaMemcpy(c->d_mat, c->mat, mk, cudaMemcpyHostToDevice));
  // A pageable cudaMemcpy may return before its DMA lands, and the slots'
  // non-blocking streams are not ordered after it: wait for it here.
  CK(cudaDeviceSynchronize());
  for (Slot& s : c->slot) {
    CK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
    CK(cudaMallocHost(reinterpret_cast<void**>(&s.h_in), c->k * c->width));
    CK(cudaMallocHost(reinterpret_cast<void**>(&s.h_out), c->m * c->width));
    CK(cudaMalloc(reinterpret_cast<void**>(&s.d_in), c->k * c->width));
    CK(cudaMalloc(reinterpret_cast<void**>(&s.d_out), c->m * c->width));
  }
  return self_test(c, err, errlen);
}

// stage copies n bytes between host memory and device memory through slot
// 0's pinned buffers (h_in for uploads, h_out for downloads).
int stage(zgda_rs_ctx* c, void* dst, const void* src, size_t n, bool up, char* err, size_t errlen) {
  Slot& s = c->slot[0];
  const size_t cap = (up ? c->k : c->m) * c->width;
  for (size_t off = 0; off < n; off += cap) {
    const size_t piece = n - off < cap ? n - off : cap;
    if (up) {
      memcpy(s.h_in, static_cast<const uint8_t*>(src) + off, piece);
      CK(cudaMemcpyAsync(static_cast<uint8_t*>(dst) + off, s.h_in, piece, cudaMemcpyHostToDevice, s.stream));
    } else {
      CK(cudaMemcpyAsync(s.h_out, static_cast<const uint8_t*>(src) + off, piece, cudaMemcpyDeviceToHost, s.stream));
    }
    CK(cudaStreamSynchronize(s.stream));
    if (!up) memcpy(static_cast<uint8_t*>(dst) + off, s.h_out, piece);
  }
  return ZGDA_OK;
}

bool same_shape(const zgda_rs_ctx* c, const zgda_rs_dev* d) {
  return d->device == c->device && d->k == c->k && d->m == c->m;
}

}  // namespace zgda_rs

using namespace zgda_rs;

extern "C" {

zgda_rs_ctx* zgda_rs_open(int device, int k, int m, const uint8_t* matrix, size_t chunk_bytes, int* code,
                          char* err, size_t errlen) {
  int rc = ZGDA_OK;
  zgda_rs_ctx* c = nullptr;
  if (k < 1 || m < 1 || k + m > ZGDA_RS_MAX_SHARDS) {
    rc = say(err, errlen, ZGDA_EINVAL, "k = %d, m = %d: need k, m ≥ 1 and k + m ≤ %d", k, m, ZGDA_RS_MAX_SHARDS);
  } else if (matrix == nullptr) {
    rc = say(err, errlen, ZGDA_EINVAL, "null coding matrix");
  } else if ((c = new (std::nothrow) zgda_rs_ctx) == nullptr) {
    rc = say(err, errlen, ZGDA_ENOMEM, "rs context: out of memory");
  } else {
    c->device = device;
    c->k = (uint32_t)k;
    c->m = (uint32_t)m;
    rc = open_ctx(c, matrix, chunk_bytes == 0 ? kRSDefaultChunk : chunk_bytes, err, errlen);
    if (rc != ZGDA_OK) {
      free_ctx(c);
      c = nullptr;
    }
  }
  if (code != nullptr) *code = rc;
  return c;
}

void zgda_rs_close(zgda_rs_ctx* ctx) { free_ctx(ctx); }

int zgda_rs_encode(zgda_rs_ctx* c, const uint8_t* const* data, uint8_t* const* parity, size_t len, char* err,
                   size_t errlen) {
  if (c == nullptr || data == nullptr || parity == nullptr) return say(err, errlen, ZGDA_EINVAL, "null argument");
  if (len == 0) return say(err, errlen, ZGDA_EINVAL, "shards of 0 bytes");
  for (uint32_t i = 0; i < c->k + c->m; i++)
    if ((i < c->k ? (const void*)data[i] : (const void*)parity[i - c->k]) == nullptr)
      return say(err, errlen, ZGDA_EINVAL, "null shard pointer %u", i);
  std::lock_guard<std::mutex> lock(c->mu);
  if (int rc = set_device(c->device, err, errlen)) return rc;
  return encode_host(c, data, parity, len, err, errlen);
}

int zgda_rs_encode_device(zgda_rs_ctx* c, const void* d_data, void* d_parity, size_t len, size_t stride, char* err,
                          size_t errlen) {
  if (c == nullptr || d_data == nullptr || d_parity == nullptr) return say(err, errlen, ZGDA_EINVAL, "null argument");
  if (len == 0 || stride < len || stride % 16 != 0 || (uintptr_t)d_data % 16 != 0 || (uintptr_t)d_parity % 16 != 0)
    return say(err, errlen, ZGDA_EINVAL, "len %zu, stride %zu: need 0 < len ≤ stride, stride and pointers 16-byte aligned",
               len, stride);
  std::lock_guard<std::mutex> lock(c->mu);
  if (int rc = set_device(c->device, err, errlen)) return rc;
  zgda_status::Drain drain{c};
  Slot& s = c->slot[0];
  if (int rc = launch(c, s.stream, static_cast<const uint8_t*>(d_data), static_cast<uint8_t*>(d_parity), len, stride,
                      err, errlen))
    return rc;
  CK(cudaStreamSynchronize(s.stream));
  return ZGDA_OK;
}

zgda_rs_dev* zgda_rs_dev_alloc(zgda_rs_ctx* c, size_t len, int* code, char* err, size_t errlen) {
  zgda_rs_dev* d = nullptr;
  int rc = [&]() -> int {
    if (c == nullptr || len == 0) return say(err, errlen, ZGDA_EINVAL, "null context or shards of 0 bytes");
    std::lock_guard<std::mutex> lock(c->mu);
    if (int rc = set_device(c->device, err, errlen)) return rc;
    d = new (std::nothrow) zgda_rs_dev;
    if (d == nullptr) return say(err, errlen, ZGDA_ENOMEM, "rs device shards: out of memory");
    d->device = c->device;
    d->k = c->k;
    d->m = c->m;
    d->len = len;
    d->stride = round_up(len, kRSDevAlign);
    CK(cudaMalloc(reinterpret_cast<void**>(&d->d_data), c->k * d->stride));
    CK(cudaMalloc(reinterpret_cast<void**>(&d->d_parity), c->m * d->stride));
    return ZGDA_OK;
  }();
  if (rc != ZGDA_OK) {
    zgda_rs_dev_free(d);
    d = nullptr;
  }
  if (code != nullptr) *code = rc;
  return d;
}

void zgda_rs_dev_free(zgda_rs_dev* d) {
  if (d == nullptr) return;
  cudaSetDevice(d->device);
  cudaFree(d->d_data);
  cudaFree(d->d_parity);
  delete d;
}

int zgda_rs_dev_upload(zgda_rs_ctx* c, zgda_rs_dev* d, const uint8_t* const* data, char* err, size_t errlen) {
  if (c == nullptr || d == nullptr || data == nullptr || !same_shape(c, d))
    return say(err, errlen, ZGDA_EINVAL, "null argument, or shards from another context");
  std::lock_guard<std::mutex> lock(c->mu);
  if (int rc = set_device(c->device, err, errlen)) return rc;
  zgda_status::Drain drain{c};
  for (uint32_t i = 0; i < c->k; i++) {
    if (data[i] == nullptr) return say(err, errlen, ZGDA_EINVAL, "null shard pointer %u", i);
    if (int rc = stage(c, d->d_data + i * d->stride, data[i], d->len, true, err, errlen)) return rc;
  }
  return ZGDA_OK;
}

int zgda_rs_dev_encode(zgda_rs_ctx* c, zgda_rs_dev* d, char* err, size_t errlen) {
  if (c == nullptr || d == nullptr || !same_shape(c, d))
    return say(err, errlen, ZGDA_EINVAL, "null argument, or shards from another context");
  return zgda_rs_encode_device(c, d->d_data, d->d_parity, d->len, d->stride, err, errlen);
}

int zgda_rs_dev_download(zgda_rs_ctx* c, zgda_rs_dev* d, uint8_t* const* parity, char* err, size_t errlen) {
  if (c == nullptr || d == nullptr || parity == nullptr || !same_shape(c, d))
    return say(err, errlen, ZGDA_EINVAL, "null argument, or shards from another context");
  std::lock_guard<std::mutex> lock(c->mu);
  if (int rc = set_device(c->device, err, errlen)) return rc;
  zgda_status::Drain drain{c};
  for (uint32_t j = 0; j < c->m; j++) {
    if (parity[j] == nullptr) return say(err, errlen, ZGDA_EINVAL, "null shard pointer %u", c->k + j);
    if (int rc = stage(c, parity[j], d->d_parity + j * d->stride, d->len, false, err, errlen)) return rc;
  }
  return ZGDA_OK;
}

}  // extern "C"
