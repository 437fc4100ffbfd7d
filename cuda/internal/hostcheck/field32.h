// C ABI of field32.cc: the two Montgomery multiplications of cuda/include —
// mont32.cuh's 32-bit carry chains (the device's) and field.cuh's 64-bit
// CIOS (the host's) — on arrays of gnark-crypto fp.Element / fr.Element.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { HC_FIELD_FP, HC_FIELD_FR };
enum { HC_MUL_CIOS, HC_MUL_MONT32 };

// hc_field_mul sets out[i] = a[i]·b[i]·R^−1 with the chosen multiplication
// and returns how many products dropped a carry the bounds say is zero
// (mont32 only; always 0 for CIOS).
size_t hc_field_mul(int field, int impl, const void* a, const void* b, void* out, size_t n);

// hc_field_mul_bench runs rounds chained products (x ← x·y) for timing.
void hc_field_mul_bench(int field, int impl, void* x, const void* y, size_t rounds);

#ifdef __cplusplus
}
#endif
