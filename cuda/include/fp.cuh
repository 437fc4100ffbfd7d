// fp.cuh: the BLS12-381 base field Fp, laid out as gnark-crypto's fp.Element
// (6 little-endian 64-bit limbs, Montgomery form). For the MSM kernels to come.
#pragma once

#include "field.cuh"

namespace zgda {

struct FpParams {
  static constexpr int N = 6;
  ZGDA_HD static constexpr uint64_t mod(int i) {
    return i == 0   ? 0xb9feffffffffaaabULL
           : i == 1 ? 0x1eabfffeb153ffffULL
           : i == 2 ? 0x6730d2a0f6b0f624ULL
           : i == 3 ? 0x64774b84f38512bfULL
           : i == 4 ? 0x4b1ba7b6434bacd7ULL
                    : 0x1a0111ea397fe69aULL;
  }
  ZGDA_HD static constexpr uint64_t one(int i) {  // 2^384 mod p
    return i == 0   ? 0x760900000002fffdULL
           : i == 1 ? 0xebf4000bc40c0002ULL
           : i == 2 ? 0x5f48985753c758baULL
           : i == 3 ? 0x77ce585370525745ULL
           : i == 4 ? 0x5c071a97a256ec6dULL
                    : 0x15f65ec3fa80e493ULL;
  }
  ZGDA_HD static constexpr uint64_t r2(int i) {  // 2^768 mod p
    return i == 0   ? 0xf4df1f341c341746ULL
           : i == 1 ? 0x0a76e6a609d104f1ULL
           : i == 2 ? 0x8de5476c4c95b6d5ULL
           : i == 3 ? 0x67eb88a9939d83c0ULL
           : i == 4 ? 0x9a793e85b519952dULL
                    : 0x11988fe592cae3aaULL;
  }
  ZGDA_HD static constexpr uint64_t inv() { return 0x89f3fffcfffcfffdULL; }
};

using fp_t = Field<FpParams>;
static_assert(sizeof(fp_t) == 48, "fp_t must match fp.Element's 48 bytes");

ZGDA_HD fp_t fp_add(const fp_t& a, const fp_t& b) { return add<FpParams>(a, b); }
ZGDA_HD fp_t fp_sub(const fp_t& a, const fp_t& b) { return sub<FpParams>(a, b); }
ZGDA_HD fp_t fp_mul(const fp_t& a, const fp_t& b) { return mul<FpParams>(a, b); }
ZGDA_HD fp_t fp_sqr(const fp_t& a) { return sqr<FpParams>(a); }
ZGDA_HD fp_t fp_neg(const fp_t& a) { return neg<FpParams>(a); }
ZGDA_HD fp_t fp_dbl(const fp_t& a) { return dbl<FpParams>(a); }
ZGDA_HD fp_t fp_inverse(const fp_t& a) { return inverse<FpParams>(a); }

}  // namespace zgda
