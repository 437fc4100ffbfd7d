// fr.cuh: the BLS12-381 scalar field Fr, laid out as gnark-crypto's fr.Element.
#pragma once

#include "field.cuh"

namespace zgda {

struct FrParams {
  static constexpr int N = 4;
  // r = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001
  ZGDA_HD static constexpr uint64_t mod(int i) {
    return i == 0   ? 0xffffffff00000001ULL
           : i == 1 ? 0x53bda402fffe5bfeULL
           : i == 2 ? 0x3339d80809a1d805ULL
                    : 0x73eda753299d7d48ULL;
  }
  ZGDA_HD static constexpr uint64_t one(int i) {  // 2^256 mod r
    return i == 0   ? 0x00000001fffffffeULL
           : i == 1 ? 0x5884b7fa00034802ULL
           : i == 2 ? 0x998c4fefecbc4ff5ULL
                    : 0x1824b159acc5056fULL;
  }
  ZGDA_HD static constexpr uint64_t r2(int i) {  // 2^512 mod r
    return i == 0   ? 0xc999e990f3f29c6dULL
           : i == 1 ? 0x2b6cedcb87925c23ULL
           : i == 2 ? 0x05d314967254398fULL
                    : 0x0748d9d99f59ff11ULL;
  }
  ZGDA_HD static constexpr uint64_t inv() { return 0xfffffffeffffffffULL; }
};

using fr_t = Field<FrParams>;
static_assert(sizeof(fr_t) == 32, "fr_t must match fr.Element's 32 bytes");

// fr_root_2_32 is the primitive 2^32-th root of unity gnark-crypto's
// fr.Generator and fft.NewDomain start from (Montgomery form of
// 10238227357739495823651030575849232062558860180284477541189508159991286009131).
ZGDA_HD fr_t fr_root_2_32() {
  fr_t w;
  w.l[0] = 0xb9b58d8c5f0e466aULL;
  w.l[1] = 0x5b1b4c801819d7ecULL;
  w.l[2] = 0x0af53ae352a31e64ULL;
  w.l[3] = 0x5bf3adda19e9b27bULL;
  return w;
}

// fr_root_of_unity returns ω_{2^log_n} = root^(2^(32−log_n)), the generator
// gnark uses for a domain of size 2^log_n (log_n ≤ 32).
ZGDA_HD fr_t fr_root_of_unity(unsigned log_n) {
  fr_t w = fr_root_2_32();
  for (unsigned i = log_n; i < 32; i++) w = sqr<FrParams>(w);
  return w;
}

ZGDA_HD fr_t fr_add(const fr_t& a, const fr_t& b) { return add<FrParams>(a, b); }
ZGDA_HD fr_t fr_sub(const fr_t& a, const fr_t& b) { return sub<FrParams>(a, b); }
ZGDA_HD fr_t fr_mul(const fr_t& a, const fr_t& b) { return mul<FrParams>(a, b); }
ZGDA_HD fr_t fr_sqr(const fr_t& a) { return sqr<FrParams>(a); }
ZGDA_HD fr_t fr_neg(const fr_t& a) { return neg<FrParams>(a); }
ZGDA_HD fr_t fr_inverse(const fr_t& a) { return inverse<FrParams>(a); }
ZGDA_HD fr_t fr_from_u64(uint64_t v) { return from_u64<FrParams>(v); }

}  // namespace zgda
