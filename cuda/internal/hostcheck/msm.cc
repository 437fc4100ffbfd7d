// Host wrappers over cuda/include/msm.cuh for the Go tests.
#include <stdlib.h>

#include "msm.cuh"
#include "msm.h"

using namespace zgda;

namespace {

template <class T>
T* alloc(size_t n) {
  T* p = static_cast<T*>(calloc(n ? n : 1, sizeof(T)));
  if (p == nullptr) abort();  // test support: out of memory is fatal
  return p;
}

}  // namespace

extern "C" {

unsigned hc_msm_windows(void) { return kMsmWindows; }

void hc_msm_table(const void* bases, uint32_t n, void* table) {
  g1_jac* scratch = alloc<g1_jac>((size_t)kMsmWindows * n);
  msm_host_table(static_cast<const g1_affine*>(bases), scratch, static_cast<g1_affine*>(table), n);
  free(scratch);
}

void hc_msm_rows(const void* table, uint32_t n, const void* scalars, uint32_t rows, void* out) {
  MsmBatch b;
  b.n = n;
  b.rows = rows;
  b.table = static_cast<const g1_affine*>(table);
  b.scalars = static_cast<const fr_t*>(scalars);
  b.digits = alloc<int16_t>((size_t)rows * kMsmWindows * n);
  b.count = alloc<uint32_t>((size_t)rows * kMsmBuckets);
  b.start = alloc<uint32_t>((size_t)rows * kMsmBuckets);
  b.list = alloc<uint32_t>((size_t)rows * kMsmWindows * n);
  b.buckets = alloc<g1_jac>((size_t)rows * kMsmBuckets);
  b.seg_sum = alloc<g1_jac>((size_t)rows * kMsmSegments);
  b.seg_acc = alloc<g1_jac>((size_t)rows * kMsmSegments);
  b.out = static_cast<msm_point*>(out);
  // Garbage in the counters, as in fresh device memory: clear must reset them.
  for (size_t i = 0; i < (size_t)rows * kMsmBuckets; i++) b.count[i] = 0xA5A5A5A5u;
  HostMsmExec ex;
  plan_msm(ex, b);
  free(b.digits);
  free(b.count);
  free(b.start);
  free(b.list);
  free(b.buckets);
  free(b.seg_sum);
  free(b.seg_acc);
}

void hc_msm_scalar_mul(const void* p, const void* s, void* out) {
  *static_cast<g1_affine*>(out) = g1_to_affine(msm_scalar_mul(*static_cast<const g1_affine*>(p), *static_cast<const fr_t*>(s)));
}

}  // extern "C"
