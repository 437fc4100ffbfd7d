// cuda_emu.h: a host stand-in for the part of the CUDA runtime that
// cuda/ntt.cu uses, so tests can build that file with g++ and run its
// pipeline and C ABI without a GPU. Kernels run as loops over thread ids on
// the calling thread; streams are synchronous. Copies are checked against
// the allocations they touch, so a wrong size or direction fails loudly.
//
// Environment switches for tests:
//   ZGDA_EMU_NO_DEVICE=1   cudaGetDeviceCount reports no device.
//   ZGDA_EMU_FAIL_COPY=1   every cudaMemcpyAsync fails (error paths).
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <map>
#include <mutex>

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

struct zgda_emu_stream {
  int magic;
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
inline cudaError_t cudaFree(void* p) {
  zgda_emu::release(zgda_emu::device_mem, p);
  return cudaSuccess;
}
inline cudaError_t cudaFreeHost(void* p) {
  zgda_emu::release(zgda_emu::pinned_mem, p);
  return cudaSuccess;
}

inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = new zgda_emu_stream{zgda_emu::kStreamMagic};
  return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
  zgda_emu::check_stream(s);
  s->magic = 0;
  delete s;
  return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  zgda_emu::check_stream(s);
  return cudaSuccess;
}
inline cudaError_t cudaDeviceSynchronize() {
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
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind, cudaStream_t s) {
  zgda_emu::check_stream(s);
  if (zgda_emu::legacy_unsynced) return cudaErrorEmuUnordered;
  const char* f = getenv("ZGDA_EMU_FAIL_COPY");
  if (f != nullptr && f[0] == '1') return cudaErrorEmuInjected;
  bool ok = false;
  if (kind == cudaMemcpyHostToDevice)
    ok = zgda_emu::inside(zgda_emu::pinned_mem, src, n) && zgda_emu::inside(zgda_emu::device_mem, dst, n);
  if (kind == cudaMemcpyDeviceToHost)
    ok = zgda_emu::inside(zgda_emu::device_mem, src, n) && zgda_emu::inside(zgda_emu::pinned_mem, dst, n);
  if (kind == cudaMemcpyDeviceToDevice)
    ok = zgda_emu::inside(zgda_emu::device_mem, src, n) && zgda_emu::inside(zgda_emu::device_mem, dst, n);
  if (!ok) return cudaErrorEmuBadCopy;
  memcpy(dst, src, n);
  return cudaSuccess;
}
