// Host wrappers over cuda/include/msm.cuh for the Go tests, with the work
// counter compiled in.
#include <stdlib.h>
#include <string.h>

#include <mutex>

#define ZGDA_MSM_WORK 1
#include "msm.cuh"
#include "msm.h"

using namespace zgda;

static_assert(sizeof(hc_msm_work) == sizeof(MsmWork) && kMsmPhases == 4, "hc_msm_work is MsmWork");

namespace {

std::mutex work_mu;  // msm_work is one global: one run at a time

// alloc returns n elements of garbage (0xA5 bytes), as fresh device memory
// is: every step must write what a later one reads.
template <class T>
T* alloc(size_t n) {
  T* p = static_cast<T*>(malloc((n ? n : 1) * sizeof(T)));
  if (p == nullptr) abort();  // test support: out of memory is fatal
  memset(static_cast<void*>(p), 0xA5, (n ? n : 1) * sizeof(T));
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

void hc_msm_rows(const void* table, uint32_t n, const void* scalars, uint32_t rows, void* out, hc_msm_work* work) {
  const size_t r = rows, e = msm_entries(n);
  MsmBatch b;
  b.n = n;
  b.rows = rows;
  b.table = static_cast<const g1_affine*>(table);
  b.scalars = static_cast<const fr_t*>(scalars);
  b.digits = alloc<int16_t>(r * e);
  b.hist = alloc<uint32_t>(r * kMsmRadix * msm_tiles(n));
  b.bin_base = alloc<uint32_t>(r * kMsmRadix);
  b.tmp = alloc<uint32_t>(r * e);
  b.list = alloc<uint32_t>(r * e);
  b.start = alloc<uint32_t>(r * kMsmStarts);
  b.cstart = alloc<uint32_t>(r * (kMsmBuckets + 1));
  b.chunks = alloc<g1_jac>(r * msm_chunks(n));
  b.seg = alloc<g1_jac>(r * msm_segments(n));
  b.grp = alloc<g1_jac>(r * msm_groups(n));
  b.res = alloc<g1_jac>(r);
  b.out = static_cast<msm_point*>(out);
  {
    std::lock_guard<std::mutex> lock(work_mu);
    msm_work = MsmWork{};
    HostMsmExec ex;
    plan_msm(ex, b);
    if (work != nullptr) memcpy(work, &msm_work, sizeof(*work));
  }
  free(b.digits);
  free(b.hist);
  free(b.bin_base);
  free(b.tmp);
  free(b.list);
  free(b.start);
  free(b.cstart);
  free(b.chunks);
  free(b.seg);
  free(b.grp);
  free(b.res);
}

void hc_msm_scalar_mul(const void* p, const void* s, void* out) {
  *static_cast<g1_affine*>(out) = g1_to_affine(msm_scalar_mul(*static_cast<const g1_affine*>(p), *static_cast<const fr_t*>(s)));
}

}  // extern "C"
