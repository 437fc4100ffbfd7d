// Host-side status helpers shared by the .cu files. Every C ABI call
// reports a failure as a code (zgda_cuda.h) and a message in the caller's
// buffer; nothing aborts the process. Include after the CUDA runtime (or
// the emulator) and zgda_cuda.h.
#pragma once

#include <stdarg.h>
#include <stdio.h>

namespace zgda_status {

// say formats the message into err (if any) and returns code.
inline int say(char* err, size_t errlen, int code, const char* fmt, ...) {
  if (err != nullptr && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

// cuda_fail names a failed CUDA call after the kernel family's prefix
// ("", "msm: ", "rs: "); running out of memory has its own code.
inline int cuda_fail(char* err, size_t errlen, const char* prefix, const char* what, cudaError_t e) {
  int code = e == cudaErrorMemoryAllocation ? ZGDA_ENOMEM : ZGDA_ECUDA;
  return say(err, errlen, code, "%s%s: %s", prefix, what, cudaGetErrorString(e));
}

// set_device selects device on the calling thread (cgo calls land on any
// OS thread), or says why it cannot.
inline int set_device(int device, const char* prefix, char* err, size_t errlen) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) return say(err, errlen, ZGDA_ENODEV, "%s", cudaGetErrorString(e));
  if (device < 0 || device >= n) return say(err, errlen, ZGDA_ENODEV, "device %d requested, %d present", device, n);
  e = cudaSetDevice(device);
  if (e != cudaSuccess) return cuda_fail(err, errlen, prefix, "cudaSetDevice(device)", e);
  return ZGDA_OK;
}

// Drain waits for every stream of a context's slots on the way out of a
// call, so that an error return never leaves work in flight on buffers the
// next call reuses. Ctx has slot[] entries with a stream and a busy flag.
template <class Ctx>
struct Drain {
  Ctx* c;
  explicit Drain(Ctx* ctx) : c(ctx) {}
  Drain(const Drain&) = delete;
  Drain& operator=(const Drain&) = delete;
  ~Drain() {
    for (auto& s : c->slot) {
      if (s.stream != nullptr) cudaStreamSynchronize(s.stream);
      s.busy = false;
    }
    cudaGetLastError();  // clear a non-sticky error for the next call
  }
};

}  // namespace zgda_status

// ZGDA_CHECK returns from the enclosing function (which has err and errlen
// in scope) with the failed call's message.
#define ZGDA_CHECK(prefix, call)                                                              \
  do {                                                                                        \
    cudaError_t e_ = (call);                                                                  \
    if (e_ != cudaSuccess) return ::zgda_status::cuda_fail(err, errlen, prefix, #call, e_); \
  } while (0)
