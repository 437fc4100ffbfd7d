// Host wrappers over cuda/include: the arithmetic and NTT plans the kernels
// run, exposed to Go tests through a C ABI.
#include <stdlib.h>
#include <string.h>

#include "hostcheck.h"
#include "ntt.cuh"

using namespace zgda;

namespace {

const fr_t* twiddles() {
  // Built on first use; C++11 makes the static initialisation thread-safe.
  static fr_t* tw = [] {
    fr_t* t = static_cast<fr_t*>(malloc(sizeof(fr_t) * kTwN));
    make_twiddles(t);
    return t;
  }();
  return tw;
}

fr_t* as_fr(void* p) { return static_cast<fr_t*>(p); }
const fr_t* as_fr(const void* p) { return static_cast<const fr_t*>(p); }

}  // namespace

extern "C" {

void hc_fr_binop(int op, const void* a, const void* b, void* out, size_t n) {
  const fr_t* x = as_fr(a);
  const fr_t* y = as_fr(b);
  fr_t* z = as_fr(out);
  for (size_t i = 0; i < n; i++) {
    switch (op) {
      case HC_ADD: z[i] = fr_add(x[i], y[i]); break;
      case HC_SUB: z[i] = fr_sub(x[i], y[i]); break;
      case HC_MUL: z[i] = fr_mul(x[i], y[i]); break;
    }
  }
}

void hc_fr_unop(int op, const void* a, void* out, size_t n) {
  const fr_t* x = as_fr(a);
  fr_t* z = as_fr(out);
  for (size_t i = 0; i < n; i++) {
    switch (op) {
      case HC_SQR: z[i] = fr_sqr(x[i]); break;
      case HC_NEG: z[i] = fr_neg(x[i]); break;
      case HC_INV: z[i] = fr_inverse(x[i]); break;
      case HC_TO_MONT: z[i] = to_mont<FrParams>(x[i]); break;
      case HC_FROM_MONT: z[i] = from_mont<FrParams>(x[i]); break;
    }
  }
}

void hc_fr_pow(const void* a, const uint64_t* e, int elimbs, void* out) {
  *as_fr(out) = pow<FrParams>(*as_fr(a), e, elimbs);
}

void hc_fr_from_u64(uint64_t v, void* out) { *as_fr(out) = fr_from_u64(v); }

void hc_root_of_unity(unsigned log_n, void* out) { *as_fr(out) = fr_root_of_unity(log_n); }

void hc_twiddles(void* out) { memcpy(out, twiddles(), sizeof(fr_t) * kTwN); }

void hc_ntt_inverse(void* a, unsigned log_n, uint32_t count, uint64_t elem_stride, uint64_t vec_stride) {
  HostExec ex{twiddles()};
  Layout L{log_n, count, elem_stride, vec_stride};
  inverse_ntt_unscaled(ex, as_fr(a), L);
  fr_t inv = fr_inverse(fr_from_u64(1ull << log_n));
  ex.scale(as_fr(a), L, as_fr(a), L, 0, inv);
}

void hc_ntt_forward(void* a, unsigned log_n, uint32_t count, uint64_t elem_stride, uint64_t vec_stride) {
  HostExec ex{twiddles()};
  forward_ntt(ex, as_fr(a), Layout{log_n, count, elem_stride, vec_stride});
}

void hc_extend_columns(const void* in, void* out, unsigned log_k, uint32_t d, uint32_t width, uint32_t nout,
                       int reversed) {
  host_extend_columns(ColumnBatch{as_fr(in), as_fr(out), log_k, d, width, nout,
                                  fr_inverse(fr_from_u64(1ull << log_k))},
                      twiddles(), reversed != 0);
}

void hc_extend_rows(void* in, void* out, uint32_t rows) {
  HostExec ex{twiddles()};
  plan_extend_rows(ex, as_fr(in), as_fr(out), rows, fr_inverse(fr_from_u64(4096)));
}

}  // extern "C"
