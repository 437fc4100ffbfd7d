// C ABI of rs.cc: the GF(2^8) arithmetic and Reed–Solomon step of
// cuda/include/gf256.cuh, run on the host.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// hc_gf_mul_table writes a·b at out[256·a + b] with the scalar gf_mul.
void hc_gf_mul_table(uint8_t* out);
// hc_gf_mul4_table does the same with the packed gf_mul4, four b at a time.
void hc_gf_mul4_table(uint8_t* out);
// hc_gf_xtime4 writes gf_xtime4(in[i]).
void hc_gf_xtime4(const uint32_t* in, uint32_t* out, size_t n);
// hc_rs_encode runs rs_step over every work item of one chunk: k data rows
// at data + i·stride, m parity rows at parity + j·stride (stride a multiple
// of 16, rows padded to it; data and parity 16-byte aligned).
void hc_rs_encode(const uint8_t* mat, uint32_t k, uint32_t m, const uint8_t* data, uint8_t* parity, size_t stride);

#ifdef __cplusplus
}
#endif
