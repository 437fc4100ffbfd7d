// arith.cuh: 64-bit limb primitives shared by host (g++) and device (nvcc).
//
// Everything here is plain C++17. Only mulhi64 differs between host and
// device, so the carry logic the kernels run is the logic the host tests run.
#pragma once

#include <stddef.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define ZGDA_HD __host__ __device__ __forceinline__
#define ZGDA_UNROLL _Pragma("unroll")
#else
#define ZGDA_HD inline
#define ZGDA_UNROLL  // g++ -O2 unrolls these fixed-count loops itself
#endif

namespace zgda {

// mulhi64 returns the high 64 bits of a*b.
ZGDA_HD uint64_t mulhi64(uint64_t a, uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __umul64hi(a, b);
#else
  return (uint64_t)(((unsigned __int128)a * b) >> 64);
#endif
}

// mac returns lo(a*b + c + d) and sets *hi to its high word; the sum cannot
// overflow 128 bits ((2^64-1)^2 + 2(2^64-1) = 2^128 - 1).
ZGDA_HD uint64_t mac(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t* hi) {
  uint64_t lo = a * b;
  uint64_t h = mulhi64(a, b);
  lo += c;
  h += (lo < c);
  lo += d;
  h += (lo < d);
  *hi = h;
  return lo;
}

// addc returns a + b + carry_in (carry_in in {0,1}) and sets *carry_out.
ZGDA_HD uint64_t addc(uint64_t a, uint64_t b, uint64_t carry_in, uint64_t* carry_out) {
  uint64_t s = a + b;
  uint64_t c = (s < a);
  uint64_t t = s + carry_in;
  c += (t < s);
  *carry_out = c;
  return t;
}

// subb returns a - b - borrow_in (borrow_in in {0,1}) and sets *borrow_out.
ZGDA_HD uint64_t subb(uint64_t a, uint64_t b, uint64_t borrow_in, uint64_t* borrow_out) {
  uint64_t d = a - b;
  uint64_t br = (a < b);
  uint64_t t = d - borrow_in;
  br += (d < borrow_in);
  *borrow_out = br;
  return t;
}

}  // namespace zgda
