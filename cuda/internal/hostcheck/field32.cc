// Host wrappers over the two Montgomery multiplications for the Go tests.
#include "field32.h"

#include "fp.cuh"
#include "fr.cuh"

using namespace zgda;

namespace {

template <class P>
size_t mul_all(int impl, const void* a, const void* b, void* out, size_t n) {
  const Field<P>* x = static_cast<const Field<P>*>(a);
  const Field<P>* y = static_cast<const Field<P>*>(b);
  Field<P>* z = static_cast<Field<P>*>(out);
  size_t lost = 0;
  for (size_t i = 0; i < n; i++) {
    if (impl == HC_MUL_MONT32) {
      mont32::Chain ch;
      z[i] = mont32::mul_chain<P>(ch, x[i], y[i]);
      lost += ch.lost != 0;
    } else {
      z[i] = cios_mul<P>(x[i], y[i]);
    }
  }
  return lost;
}

template <class P>
void bench(int impl, void* x, const void* y, size_t rounds) {
  Field<P> acc = *static_cast<Field<P>*>(x);
  const Field<P> c = *static_cast<const Field<P>*>(y);
  if (impl == HC_MUL_MONT32) {
    for (size_t i = 0; i < rounds; i++) acc = mont32::mul<P>(acc, c);
  } else {
    for (size_t i = 0; i < rounds; i++) acc = cios_mul<P>(acc, c);
  }
  *static_cast<Field<P>*>(x) = acc;
}

}  // namespace

extern "C" {

size_t hc_field_mul(int field, int impl, const void* a, const void* b, void* out, size_t n) {
  return field == HC_FIELD_FP ? mul_all<FpParams>(impl, a, b, out, n) : mul_all<FrParams>(impl, a, b, out, n);
}

void hc_field_mul_bench(int field, int impl, void* x, const void* y, size_t rounds) {
  if (field == HC_FIELD_FP) {
    bench<FpParams>(impl, x, y, rounds);
  } else {
    bench<FrParams>(impl, x, y, rounds);
  }
}

}  // extern "C"
