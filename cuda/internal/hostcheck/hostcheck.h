// C ABI of hostcheck.cc; pointers are arrays of 32-byte Fr elements
// (gnark-crypto fr.Element layout).
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { HC_ADD, HC_SUB, HC_MUL };
enum { HC_SQR, HC_NEG, HC_INV, HC_TO_MONT, HC_FROM_MONT };

void hc_fr_binop(int op, const void* a, const void* b, void* out, size_t n);
void hc_fr_unop(int op, const void* a, void* out, size_t n);
void hc_fr_pow(const void* a, const uint64_t* e, int elimbs, void* out);
void hc_fr_from_u64(uint64_t v, void* out);
void hc_root_of_unity(unsigned log_n, void* out);
void hc_twiddles(void* out);
void hc_ntt_inverse(void* a, unsigned log_n, uint32_t count, uint64_t elem_stride, uint64_t vec_stride);
void hc_ntt_forward(void* a, unsigned log_n, uint32_t count, uint64_t elem_stride, uint64_t vec_stride);
// hc_extend_columns: ntt.cuh's fused column tiles over one batch of width
// columns: in holds d rows (pitch width), out nout rows (extended K … K+nout−1);
// reversed runs each phase's threads last to first.
void hc_extend_columns(const void* in, void* out, unsigned log_k, uint32_t d, uint32_t width, uint32_t nout,
                       int reversed);
void hc_extend_rows(void* in, void* out, uint32_t rows);

// Fp (48-byte fp.Element) and G1 (G1Jac 144 bytes, G1Affine 96 bytes).
enum { HC_G1_ADD, HC_G1_ADD_MIXED, HC_G1_DOUBLE, HC_G1_TO_AFFINE };
void hc_fp_binop(int op, const void* a, const void* b, void* out, size_t n);
void hc_fp_inverse(const void* a, void* out, size_t n);
// hc_g1_op: out[i] = affine(op(p[i], q[i])); q is G1Jac for ADD, G1Affine
// for ADD_MIXED, unused otherwise.
void hc_g1_op(int op, const void* p, const void* q, void* out, size_t n);

#ifdef __cplusplus
}
#endif
