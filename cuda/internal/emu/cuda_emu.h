// cuda_emu.h: a host stand-in for the part of the CUDA runtime that
// cuda/ntt.cu uses, so tests can build that file with g++ and run its
// pipeline and C ABI without a GPU. Kernels run as loops over thread ids.
// Streams are queues, as on a device: an async copy or a kernel launch is
// checked when it is enqueued and runs only when its stream is synchronized
// (cudaStreamSynchronize, or the implicit device-wide synchronization of
// cudaDeviceSynchronize, cudaFree, cudaFreeHost and cudaStreamDestroy), in
// the order enqueued; so host code that reads a copy's destination before
// synchronizing, or refills a pinned buffer a queued copy still reads, gets
// wrong bytes here too, and the differential tests see them. Copies are
// checked against the allocations they touch, so a wrong size or direction
// fails loudly.
//
// Environment switches for tests:
//   ZGDA_EMU_NO_DEVICE=1   cudaGetDeviceCount reports no device.
//   ZGDA_EMU_FAIL_COPY=1   every cudaMemcpyAsync fails (error paths).
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

typedef int cudaError_t;
enum {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorNoDevice = 100,
  cudaErrorEmuBadCopy = 9001,
  cudaErrorEmuInjected = 9002,
  cudaErrorEmuUnordered = 9003,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
};
#define cudaStreamNonBlocking 0x01
#define cudaHostAllocDefault 0x00
#define cudaHostAllocPortable 0x01

// A stream's queued work: run, in order, when the stream is synchronized.
struct zgda_emu_stream {
  int magic;
  std::mutex m;  // held while the queue runs, so flushes keep its order
  std::vector<std::function<void()>> q;
};
typedef zgda_emu_stream* cudaStream_t;

struct cudaDeviceProp {
  char name[256];
  int major, minor;
  size_t totalGlobalMem;
  int multiProcessorCount;
};

namespace zgda_emu {

inline thread_local uint32_t thread_id;
inline thread_local uint32_t block_id;  // of a block kernel (ZGDA_LAUNCH_BLOCKS)
inline std::mutex mu;
inline std::map<uintptr_t, size_t> device_mem, pinned_mem;  // start → size
inline thread_local cudaError_t last_error = cudaSuccess;
// legacy_unsynced is set by cudaMemcpy and cleared by cudaDeviceSynchronize.
// A pageable cudaMemcpy may return before its DMA lands, and work on a
// cudaStreamNonBlocking stream is not ordered after it, so stream work in
// between could read the copy's destination early: the emulator refuses it.
inline thread_local bool legacy_unsynced = false;
constexpr int kStreamMagic = 0x5a474441;

inline bool inside(const std::map<uintptr_t, size_t>& m, const void* p, size_t n) {
  std::lock_guard<std::mutex> l(mu);
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = m.upper_bound(a);
  if (it == m.begin()) return false;
  --it;
  return a >= it->first && a + n <= it->first + it->second;
}

inline void* alloc(std::map<uintptr_t, size_t>& m, size_t n) {
  void* p = malloc(n ? n : 1);
  if (p != nullptr) {
    memset(p, 0xA5, n);  // garbage, as fresh device memory is
    std::lock_guard<std::mutex> l(mu);
    m[reinterpret_cast<uintptr_t>(p)] = n;
  }
  return p;
}

inline void release(std::map<uintptr_t, size_t>& m, void* p) {
  if (p == nullptr) return;
  {
    std::lock_guard<std::mutex> l(mu);
    m.erase(reinterpret_cast<uintptr_t>(p));
  }
  free(p);
}

// check_stream aborts on a launch into a stream that was never created: a
// bug in ntt.cu, which the tests must not survive.
inline void check_stream(cudaStream_t s) {
  if (s == nullptr || s->magic != kStreamMagic) abort();
  if (legacy_unsynced) last_error = cudaErrorEmuUnordered;
}

inline std::mutex streams_mu;
inline std::set<cudaStream_t> streams;  // live streams, for device-wide syncs

inline void enqueue(cudaStream_t s, std::function<void()> op) {
  std::lock_guard<std::mutex> l(s->m);
  s->q.push_back(std::move(op));
}

// flush runs a stream's queued work on the calling thread.
inline void flush(cudaStream_t s) {
  std::lock_guard<std::mutex> l(s->m);
  std::vector<std::function<void()>> q;
  q.swap(s->q);
  for (auto& op : q) op();
}

// flush_all is a device-wide synchronization.
inline void flush_all() {
  std::lock_guard<std::mutex> l(streams_mu);
  for (cudaStream_t s : streams) flush(s);
}

}  // namespace zgda_emu

inline const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorEmuBadCopy: return "emu: copy outside its allocations or in the wrong direction";
    case cudaErrorEmuInjected: return "emu: injected copy failure";
    case cudaErrorEmuUnordered: return "emu: stream work after a cudaMemcpy that no cudaDeviceSynchronize ordered it after";
  }
  return "emu: unknown error";
}

inline cudaError_t cudaGetLastError() {
  cudaError_t e = zgda_emu::last_error;
  zgda_emu::last_error = cudaSuccess;
  return e;
}

inline cudaError_t cudaGetDeviceCount(int* n) {
  const char* s = getenv("ZGDA_EMU_NO_DEVICE");
  if (s != nullptr && s[0] == '1') {
    *n = 0;
    return cudaErrorNoDevice;
  }
  *n = 1;
  return cudaSuccess;
}

inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }

inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  memset(p, 0, sizeof(*p));
  strcpy(p->name, "zgda host emulation");
  p->major = 0;
  p->minor = 0;
  p->totalGlobalMem = size_t(1) << 30;
  p->multiProcessorCount = 1;
  return cudaSuccess;
}

inline cudaError_t cudaMalloc(void** p, size_t n) {
  *p = zgda_emu::alloc(zgda_emu::device_mem, n);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
inline cudaError_t cudaMallocHost(void** p, size_t n) {
  *p = zgda_emu::alloc(zgda_emu::pinned_mem, n);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
// ZGDA_EMU_FAIL_HOST_ALLOC=1 refuses it, as a host short of pinned memory
// (a low memlock limit) does.
inline cudaError_t cudaHostAlloc(void** p, size_t n, unsigned flags) {
  if ((flags & ~unsigned(cudaHostAllocPortable)) != 0) return cudaErrorInvalidValue;
  const char* f = getenv("ZGDA_EMU_FAIL_HOST_ALLOC");
  if (f != nullptr && f[0] == '1') {
    *p = nullptr;
    return cudaErrorMemoryAllocation;
  }
  return cudaMallocHost(p, n);
}
// cudaFree and cudaFreeHost synchronize the device first, as CUDA's do.
inline cudaError_t cudaFree(void* p) {
  zgda_emu::flush_all();
  zgda_emu::release(zgda_emu::device_mem, p);
  return cudaSuccess;
}
inline cudaError_t cudaFreeHost(void* p) {
  zgda_emu::flush_all();
  zgda_emu::release(zgda_emu::pinned_mem, p);
  return cudaSuccess;
}

inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = new zgda_emu_stream{};
  (*s)->magic = zgda_emu::kStreamMagic;
  std::lock_guard<std::mutex> l(zgda_emu::streams_mu);
  zgda_emu::streams.insert(*s);
  return cudaSuccess;
}
// cudaStreamDestroy lets the stream's queued work finish, as CUDA's does.
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
  zgda_emu::check_stream(s);
  {
    std::lock_guard<std::mutex> l(zgda_emu::streams_mu);
    zgda_emu::streams.erase(s);
  }
  zgda_emu::flush(s);
  s->magic = 0;
  delete s;
  return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  zgda_emu::check_stream(s);
  zgda_emu::flush(s);
  return cudaSuccess;
}
inline cudaError_t cudaDeviceSynchronize() {
  zgda_emu::flush_all();
  zgda_emu::legacy_unsynced = false;
  return cudaSuccess;
}

// cudaMemcpy serves only the twiddle upload (host → device, any host memory).
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind kind) {
  if (kind != cudaMemcpyHostToDevice || !zgda_emu::inside(zgda_emu::device_mem, dst, n))
    return cudaErrorEmuBadCopy;
  memcpy(dst, src, n);
  zgda_emu::legacy_unsynced = true;
  return cudaSuccess;
}

// cudaMemcpyAsync must move between pinned host buffers and device memory,
// or within device memory.
namespace zgda_emu {
// queue_check is what every async copy checks first: a live stream,
// ordered after any cudaMemcpy, and no injected failure.
inline cudaError_t queue_check(cudaStream_t s) {
  check_stream(s);
  if (legacy_unsynced) return cudaErrorEmuUnordered;
  const char* f = getenv("ZGDA_EMU_FAIL_COPY");
  if (f != nullptr && f[0] == '1') return cudaErrorEmuInjected;
  return cudaSuccess;
}

// spans_ok: src's sn and dst's dn bytes lie inside the allocations kind
// names.
inline bool spans_ok(void* dst, size_t dn, const void* src, size_t sn, cudaMemcpyKind kind) {
  if (kind == cudaMemcpyHostToDevice) return inside(pinned_mem, src, sn) && inside(device_mem, dst, dn);
  if (kind == cudaMemcpyDeviceToHost) return inside(device_mem, src, sn) && inside(pinned_mem, dst, dn);
  if (kind == cudaMemcpyDeviceToDevice) return inside(device_mem, src, sn) && inside(device_mem, dst, dn);
  return false;
}
}  // namespace zgda_emu

inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind, cudaStream_t s) {
  if (cudaError_t e = zgda_emu::queue_check(s); e != cudaSuccess) return e;
  if (!zgda_emu::spans_ok(dst, n, src, n, kind)) return cudaErrorEmuBadCopy;
  zgda_emu::enqueue(s, [=] { memcpy(dst, src, n); });
  return cudaSuccess;
}

// cudaMemcpy2DAsync copies height rows of width bytes, the rows pitch bytes
// apart on each side; the spans must lie as cudaMemcpyAsync's do.
inline cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                                     size_t height, cudaMemcpyKind kind, cudaStream_t s) {
  if (cudaError_t e = zgda_emu::queue_check(s); e != cudaSuccess) return e;
  if (width > dpitch || width > spitch) return cudaErrorInvalidValue;
  if (height == 0 || width == 0) return cudaSuccess;
  const size_t dn = dpitch * (height - 1) + width, sn = spitch * (height - 1) + width;
  if (!zgda_emu::spans_ok(dst, dn, src, sn, kind)) return cudaErrorEmuBadCopy;
  zgda_emu::enqueue(s, [=] {
    for (size_t r = 0; r < height; r++)
      memcpy(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
  });
  return cudaSuccess;
}
