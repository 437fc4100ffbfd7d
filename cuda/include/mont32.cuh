// mont32.cuh: Montgomery multiplication over 2N 32-bit limbs, for the device.
//
// GPUs multiply 32×32 bits natively and chain carries through a flag
// (mad.lo.cc / madc.hi.cc), while field.cuh's 64-bit CIOS costs several
// emulated instructions per 64-bit product and recovers each carry with a
// comparison. This file computes the same product — a·b·R^−1 mod p, R =
// 2^(64N) = 2^(32·2N), so Field<P>'s limbs and Montgomery form (gnark-crypto's
// bytes) are unchanged — with a 32-bit limb schedule:
//
//   T = lo + 2^32·hi: the products a_j·b_i of even j land on limb pairs
//   (j, j+1) of lo, those of odd j on limb pairs (j−1, j) of hi, so each
//   half is one unbroken carry chain of alternating lo/hi multiply-adds.
//   After a row (T += a·b_i, then T += m·p with m = T_0·(−p^−1) mod 2^32)
//   lo's limb 0 is zero and T/2^32 = (hi + lo_1) + 2^32·(lo >> 64): the
//   halves swap roles, lo_1 is added into the new lo while the new hi is the
//   old lo shifted down two limbs, both folded into the next row's chains.
//
// Bounds. With a < p and p < 2^(64N−1), every row keeps T < a + p < 2^(64N)
// (b is unrestricted: a row adds at most (2^32−1)(a + p) before dividing by
// 2^32). Since T = lo + 2^32·hi, hi < 2^(64N) too, so the carries this code
// drops (marked "no carry") are zero; the host build counts any that are
// not (Chain::lost), and hostcheck's tests require none. Result and
// 64-bit CIOS agree limb for limb: both compute (a·b + M·p)/R for the same
// M < R, then subtract p once.
//
// The schedule is written once over the primitives below. On the device
// (__CUDA_ARCH__) they are single PTX instructions whose carry lives in the
// condition-code flag, volatile so the compiler keeps their order; on the
// host they are plain C++ on uint32 limbs with uint64 products and the
// carry in Chain::cf, so the host checks run the exact sequence of
// operations the GPU runs (about 5× slower than CIOS there, so the host
// build keeps CIOS). The clang device-code test only emits the PTX strings;
// ptxas first assembles them under `make cuda`. Include through field.cuh.
#pragma once

#include "arith.cuh"

namespace zgda {

template <class P>
struct Field;

namespace mont32 {

// Chain is the carry flag of one carry chain. The device keeps it in CC.CF
// and ignores these fields; the host emulates it in cf and sets lost when
// an operation that must not carry out (by the bounds above) does.
struct Chain {
  uint32_t cf = 0;
  uint32_t lost = 0;
};

#if defined(__CUDA_ARCH__)
#define ZGDA_M32 __device__ __forceinline__

ZGDA_M32 uint32_t mul_lo(Chain&, uint32_t a, uint32_t b) { return a * b; }
ZGDA_M32 uint32_t mul_hi(Chain&, uint32_t a, uint32_t b) {
  uint32_t r;
  asm("mul.hi.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
// lo(a·b) + c, carry out.
ZGDA_M32 uint32_t mad_lo_cc(Chain&, uint32_t a, uint32_t b, uint32_t c) {
  uint32_t r;
  asm volatile("mad.lo.cc.u32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}
// lo(a·b) + c + carry, carry out.
ZGDA_M32 uint32_t madc_lo_cc(Chain&, uint32_t a, uint32_t b, uint32_t c) {
  uint32_t r;
  asm volatile("madc.lo.cc.u32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}
// hi(a·b) + c + carry, carry out.
ZGDA_M32 uint32_t madc_hi_cc(Chain&, uint32_t a, uint32_t b, uint32_t c) {
  uint32_t r;
  asm volatile("madc.hi.cc.u32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}
// hi(a·b) + c + carry, no carry out.
ZGDA_M32 uint32_t madc_hi(Chain&, uint32_t a, uint32_t b, uint32_t c) {
  uint32_t r;
  asm volatile("madc.hi.u32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}
ZGDA_M32 uint32_t add_cc(Chain&, uint32_t a, uint32_t b) {
  uint32_t r;
  asm volatile("add.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
ZGDA_M32 uint32_t addc_cc(Chain&, uint32_t a, uint32_t b) {
  uint32_t r;
  asm volatile("addc.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
// a + b + carry, no carry out.
ZGDA_M32 uint32_t addc(Chain&, uint32_t a, uint32_t b) {
  uint32_t r;
  asm volatile("addc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
// a − b, borrow out (PTX's CC.CF is the borrow for subtraction).
ZGDA_M32 uint32_t sub_cc(Chain&, uint32_t a, uint32_t b) {
  uint32_t r;
  asm volatile("sub.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
ZGDA_M32 uint32_t subc_cc(Chain&, uint32_t a, uint32_t b) {
  uint32_t r;
  asm volatile("subc.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
// a − b − borrow, no borrow out.
ZGDA_M32 uint32_t subc(Chain&, uint32_t a, uint32_t b) {
  uint32_t r;
  asm volatile("subc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
  return r;
}

#else  // host: the same instructions in portable C++
#define ZGDA_M32 inline

inline uint32_t mul_lo(Chain&, uint32_t a, uint32_t b) { return a * b; }
inline uint32_t mul_hi(Chain&, uint32_t a, uint32_t b) { return (uint32_t)(((uint64_t)a * b) >> 32); }
inline uint32_t set_cf(Chain& ch, uint64_t s) {
  ch.cf = (uint32_t)(s >> 32);
  return (uint32_t)s;
}
inline uint32_t no_cf(Chain& ch, uint64_t s) {
  ch.lost |= (uint32_t)(s >> 32);
  return (uint32_t)s;
}
inline uint32_t mad_lo_cc(Chain& ch, uint32_t a, uint32_t b, uint32_t c) {
  return set_cf(ch, (uint64_t)(a * b) + c);
}
inline uint32_t madc_lo_cc(Chain& ch, uint32_t a, uint32_t b, uint32_t c) {
  return set_cf(ch, (uint64_t)(a * b) + c + ch.cf);
}
inline uint32_t madc_hi_cc(Chain& ch, uint32_t a, uint32_t b, uint32_t c) {
  return set_cf(ch, (uint64_t)mul_hi(ch, a, b) + c + ch.cf);
}
inline uint32_t madc_hi(Chain& ch, uint32_t a, uint32_t b, uint32_t c) {
  return no_cf(ch, (uint64_t)mul_hi(ch, a, b) + c + ch.cf);
}
inline uint32_t add_cc(Chain& ch, uint32_t a, uint32_t b) { return set_cf(ch, (uint64_t)a + b); }
inline uint32_t addc_cc(Chain& ch, uint32_t a, uint32_t b) { return set_cf(ch, (uint64_t)a + b + ch.cf); }
inline uint32_t addc(Chain& ch, uint32_t a, uint32_t b) { return no_cf(ch, (uint64_t)a + b + ch.cf); }
inline uint32_t sub_cc(Chain& ch, uint32_t a, uint32_t b) {
  ch.cf = a < b;
  return a - b;
}
inline uint32_t subc_cc(Chain& ch, uint32_t a, uint32_t b) {
  uint64_t d = (uint64_t)a - b - ch.cf;
  ch.cf = (uint32_t)(d >> 63);
  return (uint32_t)d;
}
inline uint32_t subc(Chain& ch, uint32_t a, uint32_t b) { return a - b - ch.cf; }
#endif

// p32 is limb k of p in 32-bit limbs.
template <class P>
ZGDA_M32 constexpr uint32_t p32(int k) {
  return (uint32_t)(P::mod(k / 2) >> (32 * (k & 1)));
}

// reduce adds m·p to T = lo + 2^32·hi for the m that clears lo[0].
template <class P>
ZGDA_M32 void reduce(Chain& ch, uint32_t* lo, uint32_t* hi) {
  constexpr int n = 2 * P::N;
  const uint32_t m = lo[0] * (uint32_t)P::inv();  // −p^−1 mod 2^32
  // p's odd limbs into hi (limb k of hi is limb k+1 of T).
  hi[0] = mad_lo_cc(ch, p32<P>(1), m, hi[0]);
  hi[1] = madc_hi_cc(ch, p32<P>(1), m, hi[1]);
ZGDA_UNROLL
  for (int k = 2; k < n - 2; k += 2) {
    hi[k] = madc_lo_cc(ch, p32<P>(k + 1), m, hi[k]);
    hi[k + 1] = madc_hi_cc(ch, p32<P>(k + 1), m, hi[k + 1]);
  }
  hi[n - 2] = madc_lo_cc(ch, p32<P>(n - 1), m, hi[n - 2]);
  hi[n - 1] = madc_hi(ch, p32<P>(n - 1), m, hi[n - 1]);  // no carry: hi < 2^(32n)
  // p's even limbs into lo; lo[0] becomes 0, lo's carry out is limb n of T.
  lo[0] = mad_lo_cc(ch, p32<P>(0), m, lo[0]);
  lo[1] = madc_hi_cc(ch, p32<P>(0), m, lo[1]);
ZGDA_UNROLL
  for (int k = 2; k < n; k += 2) {
    lo[k] = madc_lo_cc(ch, p32<P>(k), m, lo[k]);
    lo[k + 1] = madc_hi_cc(ch, p32<P>(k), m, lo[k + 1]);
  }
  hi[n - 1] = addc(ch, hi[n - 1], 0);  // no carry: hi < 2^(32n)
}

// first_row sets T = a·b0: even and odd products fill disjoint limb pairs.
template <class P>
ZGDA_M32 void first_row(Chain& ch, uint32_t* lo, uint32_t* hi, const uint32_t* a, uint32_t b0) {
  constexpr int n = 2 * P::N;
ZGDA_UNROLL
  for (int j = 0; j < n; j += 2) {
    lo[j] = mul_lo(ch, a[j], b0);
    lo[j + 1] = mul_hi(ch, a[j], b0);
    hi[j] = mul_lo(ch, a[j + 1], b0);
    hi[j + 1] = mul_hi(ch, a[j + 1], b0);
  }
  reduce<P>(ch, lo, hi);
}

// row divides the previous row's T = old_lo + 2^32·old_hi (old_lo[0] = 0) by
// 2^32 and adds a·bi, then reduces. Called as row(old_hi, old_lo): nlo
// (old hi) takes old_lo[1] at limb 0 and stays the low half; nhi (old lo)
// is shifted down two limbs in place as the odd products are added.
template <class P>
ZGDA_M32 void row(Chain& ch, uint32_t* nlo, uint32_t* nhi, const uint32_t* a, uint32_t bi) {
  constexpr int n = 2 * P::N;
  nlo[0] = add_cc(ch, nlo[0], nhi[1]);  // its carry is limb 1 of T: nhi[0]
ZGDA_UNROLL
  for (int k = 0; k < n - 2; k += 2) {
    nhi[k] = madc_lo_cc(ch, a[k + 1], bi, nhi[k + 2]);
    nhi[k + 1] = madc_hi_cc(ch, a[k + 1], bi, nhi[k + 3]);
  }
  nhi[n - 2] = madc_lo_cc(ch, a[n - 1], bi, 0);
  nhi[n - 1] = madc_hi(ch, a[n - 1], bi, 0);  // no carry: hi(x·y) + 1 < 2^32
  nlo[0] = mad_lo_cc(ch, a[0], bi, nlo[0]);
  nlo[1] = madc_hi_cc(ch, a[0], bi, nlo[1]);
ZGDA_UNROLL
  for (int j = 2; j < n; j += 2) {
    nlo[j] = madc_lo_cc(ch, a[j], bi, nlo[j]);
    nlo[j + 1] = madc_hi_cc(ch, a[j], bi, nlo[j + 1]);
  }
  nhi[n - 1] = addc(ch, nhi[n - 1], 0);  // no carry: hi < 2^(32n)
  reduce<P>(ch, nlo, nhi);
}

// mul_chain is mul with the caller's Chain, so host tests can read lost.
template <class P>
ZGDA_M32 Field<P> mul_chain(Chain& ch, const Field<P>& x, const Field<P>& y) {
  constexpr int N = P::N;
  constexpr int n = 2 * N;
  static_assert(P::mod(N - 1) >> 63 == 0, "mont32 needs p < 2^(64N-1)");
  static_assert((uint32_t)P::mod(0) * (uint32_t)P::inv() == 0xffffffffu, "inv() is not -p^-1");
  uint32_t a[n], b[n], u[n], v[n];
ZGDA_UNROLL
  for (int i = 0; i < N; i++) {
    a[2 * i] = (uint32_t)x.l[i];
    a[2 * i + 1] = (uint32_t)(x.l[i] >> 32);
    b[2 * i] = (uint32_t)y.l[i];
    b[2 * i + 1] = (uint32_t)(y.l[i] >> 32);
  }
  // The halves alternate: first_row leaves u low, each row swaps them.
  first_row<P>(ch, u, v, a, b[0]);
ZGDA_UNROLL
  for (int i = 1; i < n - 1; i += 2) {
    row<P>(ch, v, u, a, b[i]);
    row<P>(ch, u, v, a, b[i + 1]);
  }
  row<P>(ch, v, u, a, b[n - 1]);
  // Low half v (v[0] = 0), high half u: T/2^32 = u + (v >> 32) < 2p, one
  // addition chain, then subtract p once.
  uint32_t t[n], d[n];
  t[0] = add_cc(ch, u[0], v[1]);
ZGDA_UNROLL
  for (int k = 1; k < n - 1; k++) t[k] = addc_cc(ch, u[k], v[k + 1]);
  t[n - 1] = addc(ch, u[n - 1], 0);  // no carry: T < 2^(32n)
  d[0] = sub_cc(ch, t[0], p32<P>(0));
ZGDA_UNROLL
  for (int k = 1; k < n; k++) d[k] = subc_cc(ch, t[k], p32<P>(k));
  const uint32_t keep = subc(ch, 0, 0);  // all ones when t < p
  Field<P> r;
ZGDA_UNROLL
  for (int i = 0; i < N; i++) {
    uint32_t l0 = (t[2 * i] & keep) | (d[2 * i] & ~keep);
    uint32_t l1 = (t[2 * i + 1] & keep) | (d[2 * i + 1] & ~keep);
    r.l[i] = (uint64_t)l1 << 32 | l0;
  }
  return r;
}

// mul returns a·b·R^−1 mod p for a < p (b any limbs), fully reduced.
template <class P>
ZGDA_M32 Field<P> mul(const Field<P>& a, const Field<P>& b) {
  Chain ch;
  return mul_chain<P>(ch, a, b);
}

#undef ZGDA_M32

}  // namespace mont32
}  // namespace zgda
