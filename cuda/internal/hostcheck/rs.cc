// Host wrappers over cuda/include/gf256.cuh: the GF(2^8) arithmetic and the
// Reed–Solomon step the rs.cu kernel runs, exposed to Go tests.
#include "rs.h"

#include "gf256.cuh"

using namespace zgda;

extern "C" {

void hc_gf_mul_table(uint8_t* out) {
  for (uint32_t a = 0; a < 256; a++)
    for (uint32_t b = 0; b < 256; b++) out[256 * a + b] = gf_mul((uint8_t)a, (uint8_t)b);
}

void hc_gf_mul4_table(uint8_t* out) {
  for (uint32_t a = 0; a < 256; a++)
    for (uint32_t b = 0; b < 256; b += 4) {
      uint32_t x = b | (b + 1) << 8 | (b + 2) << 16 | (b + 3) << 24;
      uint32_t r = gf_mul4((uint8_t)a, x);
      for (int i = 0; i < 4; i++) out[256 * a + b + i] = (uint8_t)(r >> (8 * i));
    }
}

void hc_gf_xtime4(const uint32_t* in, uint32_t* out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = gf_xtime4(in[i]);
}

void hc_rs_encode(const uint8_t* mat, uint32_t k, uint32_t m, const uint8_t* data, uint8_t* parity, size_t stride) {
  RSShape s{k, m, stride, (uint32_t)(stride / 16)};
  const uint32_t n = rs_threads(s);
  for (uint32_t t = 0; t < n; t++) rs_step(data, parity, mat, s, t);
}

}  // extern "C"
