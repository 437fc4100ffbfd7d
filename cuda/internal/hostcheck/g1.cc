// Host wrappers over cuda/include/g1.cuh (Fp and G1) for the Go tests.
#include "g1.cuh"
#include "hostcheck.h"

using namespace zgda;

extern "C" {

void hc_fp_binop(int op, const void* a, const void* b, void* out, size_t n) {
  const fp_t* x = static_cast<const fp_t*>(a);
  const fp_t* y = static_cast<const fp_t*>(b);
  fp_t* z = static_cast<fp_t*>(out);
  for (size_t i = 0; i < n; i++) {
    switch (op) {
      case HC_ADD: z[i] = fp_add(x[i], y[i]); break;
      case HC_SUB: z[i] = fp_sub(x[i], y[i]); break;
      case HC_MUL: z[i] = fp_mul(x[i], y[i]); break;
    }
  }
}

void hc_fp_inverse(const void* a, void* out, size_t n) {
  const fp_t* x = static_cast<const fp_t*>(a);
  fp_t* z = static_cast<fp_t*>(out);
  for (size_t i = 0; i < n; i++) z[i] = fp_inverse(x[i]);
}

void hc_g1_op(int op, const void* p, const void* q, void* out, size_t n) {
  const g1_jac* a = static_cast<const g1_jac*>(p);
  g1_affine* r = static_cast<g1_affine*>(out);
  for (size_t i = 0; i < n; i++) {
    g1_jac s;
    switch (op) {
      case HC_G1_ADD: s = g1_add(a[i], static_cast<const g1_jac*>(q)[i]); break;
      case HC_G1_ADD_MIXED: s = g1_add_mixed(a[i], static_cast<const g1_affine*>(q)[i]); break;
      case HC_G1_DOUBLE: s = g1_double(a[i]); break;
      default: s = a[i]; break;  // HC_G1_TO_AFFINE
    }
    r[i] = g1_to_affine(s);
  }
}

}  // extern "C"
