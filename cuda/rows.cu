// rows.cu: the resident-row store of libzgda_cuda.so (include/rowstore.cuh).
//
// One arena of ZGDA_RESIDENT_ROWS rows (4096 Fr elements, 128 KiB each) on
// the first device that keeps a row, allocated then and held for the
// process's life like the CUDA runtime itself. A handle is the row's index
// + 1 in its low 32 bits and the row's generation in its high 32, so a
// released or reissued row's old handle is refused, never aliased.
#include <stdlib.h>
#include <string.h>

#include <mutex>

#include "include/rowstore.cuh"
#include "zgda_cuda.h"

#include "include/runtime.cuh"

#ifndef ZGDA_RESIDENT_ROWS
#define ZGDA_RESIDENT_ROWS 512  // 64 MiB: two batches of MaxBatchRows
#endif

namespace zgda_rows {

namespace {

using zgda::fr_t;
using zgda_status::say;

constexpr int kCap = ZGDA_RESIDENT_ROWS;

struct Store {
  std::mutex mu;
  int device = -1;          // of the arena; -1 before the first reserve
  fr_t* arena = nullptr;    // kCap rows on device
  uint32_t gen[kCap] = {};  // generation of each row's current handle
  bool held[kCap] = {};
  int free_rows = kCap;
};

Store& store() {
  static Store s;
  return s;
}

uint64_t handle_of(uint32_t i, uint32_t gen) { return ((uint64_t)gen << 32) | (uint64_t)(i + 1); }

// index_of returns the row of a held handle, or −1.
int index_of(const Store& s, uint64_t h) {
  uint64_t lo = h & 0xffffffffu;
  if (lo == 0 || lo > (uint64_t)kCap) return -1;
  uint32_t i = (uint32_t)(lo - 1);
  return s.held[i] && s.gen[i] == (uint32_t)(h >> 32) ? (int)i : -1;
}

}  // namespace

int reserve(int device, int n, unsigned long long* handles, fr_t** rows, char* err, size_t errlen) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.device >= 0 && s.device != device)
    return say(err, errlen, ZGDA_EINVAL, "resident rows live on device %d, not %d", s.device, device);
  if (s.arena == nullptr) {
    cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&s.arena), (size_t)kCap * ZGDA_ROW * sizeof(fr_t));
    if (e != cudaSuccess) {
      s.arena = nullptr;
      return zgda_status::cuda_fail(err, errlen, "rows: ", "cudaMalloc(resident rows)", e);
    }
    s.device = device;
  }
  if (n > s.free_rows)
    return say(err, errlen, ZGDA_ENOMEM, "resident rows: %d wanted, %d of %d free (release the rows of encoded batches)",
               n, s.free_rows, kCap);
  int got = 0;
  for (uint32_t i = 0; i < (uint32_t)kCap && got < n; i++) {
    if (s.held[i]) continue;
    s.held[i] = true;
    s.gen[i]++;
    handles[got] = handle_of(i, s.gen[i]);
    rows[got] = s.arena + (size_t)i * ZGDA_ROW;
    got++;
  }
  s.free_rows -= n;
  return ZGDA_OK;
}

int lookup(int device, const unsigned long long* handles, int n, const fr_t** rows, char* err, size_t errlen) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  for (int j = 0; j < n; j++) {
    int i = s.device == device ? index_of(s, handles[j]) : -1;
    if (i < 0)
      return say(err, errlen, ZGDA_EINVAL, "resident row %d: handle %#llx is not held on device %d", j,
                 (unsigned long long)handles[j], device);
    rows[j] = s.arena + (size_t)i * ZGDA_ROW;
  }
  return ZGDA_OK;
}

void release(const unsigned long long* handles, int n) {
  Store& s = store();
  std::lock_guard<std::mutex> lock(s.mu);
  for (int j = 0; j < n; j++) {
    int i = index_of(s, handles[j]);
    if (i < 0) continue;
    s.held[i] = false;
    s.free_rows++;
  }
}

}  // namespace zgda_rows

extern "C" void zgda_cuda_rows_release(const unsigned long long* handles, int n) {
  if (handles != nullptr && n > 0) zgda_rows::release(handles, n);
}
