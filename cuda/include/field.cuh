// field.cuh: Montgomery arithmetic over a prime field of N 64-bit limbs.
//
// Elements are N little-endian limbs holding x·2^(64N) mod p, fully reduced
// (< p): the representation of gnark-crypto's generated Element types, so Go
// slices of fr.Element can be copied byte for byte into and out of fr_t arrays.
#pragma once

#include "arith.cuh"
#include "mont32.cuh"

namespace zgda {

// P supplies the field: N (limbs) and scalar accessors mod(i), one(i) (R mod p),
// r2(i) (R^2 mod p) and inv() (−p^−1 mod 2^64). Accessors rather than arrays
// because nvcc cannot index host constexpr arrays in device code.
template <class P>
struct Field {
  static constexpr int N = P::N;
  uint64_t l[N];

  ZGDA_HD static Field zero() {
    Field r;
ZGDA_UNROLL
    for (int i = 0; i < N; i++) r.l[i] = 0;
    return r;
  }
  ZGDA_HD static Field one() {
    Field r;
ZGDA_UNROLL
    for (int i = 0; i < N; i++) r.l[i] = P::one(i);
    return r;
  }
  ZGDA_HD static Field modulus() {  // not an element: p itself, for limb maths
    Field r;
ZGDA_UNROLL
    for (int i = 0; i < N; i++) r.l[i] = P::mod(i);
    return r;
  }
  ZGDA_HD bool is_zero() const {
    uint64_t acc = 0;
ZGDA_UNROLL
    for (int i = 0; i < N; i++) acc |= l[i];
    return acc == 0;
  }
  ZGDA_HD bool operator==(const Field& o) const {
    uint64_t acc = 0;
ZGDA_UNROLL
    for (int i = 0; i < N; i++) acc |= l[i] ^ o.l[i];
    return acc == 0;
  }
  ZGDA_HD bool operator!=(const Field& o) const { return !(*this == o); }
};

// reduce_once returns t − p if t (with extra top word hi) is ≥ p, else t.
// Branch-free (a mask select) so warps do not diverge.
template <class P>
ZGDA_HD Field<P> reduce_once(const Field<P>& t, uint64_t hi) {
  constexpr int N = P::N;
  Field<P> d;
  uint64_t br = 0;
ZGDA_UNROLL
  for (int i = 0; i < N; i++) d.l[i] = subb(t.l[i], P::mod(i), br, &br);
  // Keep t only when the subtraction borrowed past the top word.
  uint64_t keep = 0 - (uint64_t)(br > hi);
  Field<P> r;
ZGDA_UNROLL
  for (int i = 0; i < N; i++) r.l[i] = (t.l[i] & keep) | (d.l[i] & ~keep);
  return r;
}

template <class P>
ZGDA_HD Field<P> add(const Field<P>& a, const Field<P>& b) {
  constexpr int N = P::N;
  Field<P> s;
  uint64_t c = 0;
ZGDA_UNROLL
  for (int i = 0; i < N; i++) s.l[i] = addc(a.l[i], b.l[i], c, &c);
  return reduce_once<P>(s, c);
}

template <class P>
ZGDA_HD Field<P> sub(const Field<P>& a, const Field<P>& b) {
  constexpr int N = P::N;
  Field<P> d;
  uint64_t br = 0;
ZGDA_UNROLL
  for (int i = 0; i < N; i++) d.l[i] = subb(a.l[i], b.l[i], br, &br);
  // On borrow add p back: mask p's limbs with 0 or all ones.
  uint64_t mask = 0 - br;
  uint64_t c = 0;
ZGDA_UNROLL
  for (int i = 0; i < N; i++) d.l[i] = addc(d.l[i], P::mod(i) & mask, c, &c);
  return d;
}

template <class P>
ZGDA_HD Field<P> neg(const Field<P>& a) {
  return sub<P>(Field<P>::zero(), a);
}

template <class P>
ZGDA_HD Field<P> dbl(const Field<P>& a) {
  return add<P>(a, a);
}

// cios_mul is CIOS Montgomery multiplication over 64-bit limbs: a·b·R^−1
// mod p, fully reduced. It keeps two extra words so it needs no assumption
// on p's top bits or on the inputs' range.
template <class P>
ZGDA_HD Field<P> cios_mul(const Field<P>& a, const Field<P>& b) {
  constexpr int N = P::N;
  uint64_t t[N + 2];
ZGDA_UNROLL
  for (int i = 0; i < N + 2; i++) t[i] = 0;
ZGDA_UNROLL
  for (int i = 0; i < N; i++) {
    uint64_t c = 0;
ZGDA_UNROLL
    for (int j = 0; j < N; j++) t[j] = mac(a.l[j], b.l[i], t[j], c, &c);
    uint64_t c2;
    t[N] = addc(t[N], c, 0, &c2);
    t[N + 1] = c2;
    uint64_t m = t[0] * P::inv();
    mac(m, P::mod(0), t[0], 0, &c);  // low word is zero by choice of m
ZGDA_UNROLL
    for (int j = 1; j < N; j++) t[j - 1] = mac(m, P::mod(j), t[j], c, &c);
    t[N - 1] = addc(t[N], c, 0, &c2);
    t[N] = t[N + 1] + c2;
  }
  Field<P> r;
ZGDA_UNROLL
  for (int i = 0; i < N; i++) r.l[i] = t[i];
  return reduce_once<P>(r, t[N]);
}

// mul is a·b·R^−1 mod p, fully reduced, for elements a, b < p. The device
// runs mont32.cuh's 32-bit carry chains (native multiply-add with carry
// flags); the host keeps 64-bit CIOS, which the host compiler turns into
// 64×64-bit multiplies and is faster there. Both give the same limbs; the
// host checks compare them (internal/hostcheck/field32_test.go).
template <class P>
ZGDA_HD Field<P> mul(const Field<P>& a, const Field<P>& b) {
#if defined(__CUDA_ARCH__)
  return mont32::mul<P>(a, b);
#else
  return cios_mul<P>(a, b);
#endif
}

template <class P>
ZGDA_HD Field<P> sqr(const Field<P>& a) {
  return mul<P>(a, a);
}

// pow raises a to the exponent given as n little-endian 64-bit limbs.
template <class P>
ZGDA_HD Field<P> pow(const Field<P>& a, const uint64_t* e, int n) {
  Field<P> r = Field<P>::one();
  for (int i = n - 1; i >= 0; i--) {
    for (int b = 63; b >= 0; b--) {
      r = sqr<P>(r);
      if ((e[i] >> b) & 1) r = mul<P>(r, a);
    }
  }
  return r;
}

template <class P>
ZGDA_HD Field<P> pow_u64(const Field<P>& a, uint64_t e) {
  return pow<P>(a, &e, 1);
}

// inverse is a^(p−2) (Fermat); the inverse of 0 is 0, as in gnark-crypto.
// Slow; for constants, not for inner loops.
template <class P>
ZGDA_HD Field<P> inverse(const Field<P>& a) {
  constexpr int N = P::N;
  uint64_t e[N];
  uint64_t br = 0;
ZGDA_UNROLL
  for (int i = 0; i < N; i++) e[i] = subb(P::mod(i), i == 0 ? 2 : 0, br, &br);
  return pow<P>(a, e, N);
}

// to_mont converts canonical limbs (< p) to Montgomery form.
template <class P>
ZGDA_HD Field<P> to_mont(const Field<P>& x) {
  Field<P> r2;
ZGDA_UNROLL
  for (int i = 0; i < P::N; i++) r2.l[i] = P::r2(i);
  return mul<P>(x, r2);
}

// from_mont converts Montgomery form to canonical limbs.
template <class P>
ZGDA_HD Field<P> from_mont(const Field<P>& x) {
  Field<P> raw_one = Field<P>::zero();
  raw_one.l[0] = 1;
  return mul<P>(x, raw_one);
}

template <class P>
ZGDA_HD Field<P> from_u64(uint64_t v) {
  Field<P> x = Field<P>::zero();
  x.l[0] = v;
  return to_mont<P>(x);  // v < 2^64 < p for every field used here
}

}  // namespace zgda
