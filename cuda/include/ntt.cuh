// ntt.cuh: radix-2 NTT steps over Fr and the codec's extension plans.
//
// Conventions (EIP-4844/7594, as encoder/internal/rs): evaluations are stored
// in bit-reversed order of the roots of unity, coefficients in natural order.
// The inverse NTT is decimation in time on bit-reversed input (natural output),
// the forward NTT decimation in frequency on natural input (bit-reversed
// output), so no permutation pass is ever needed.
//
// Each *_step function does the work of one GPU thread. Host code loops over
// thread ids; device kernels call the same functions, so the host tests check
// the index maths the kernels run.
#pragma once

#include "fr.cuh"

namespace zgda {

// All twiddles are powers of one root ω_8192 (EIP-7594's extended row is the
// largest domain): tw[i] = ω_8192^i, i < 8192; ω_n^e = tw[e·8192/n].
constexpr unsigned kTwLog = 13;
constexpr uint32_t kTwN = 1u << kTwLog;

// make_twiddles fills tw[0..8192) (host: run once per context).
inline void make_twiddles(fr_t* tw) {
  fr_t w = fr_root_of_unity(kTwLog);
  tw[0] = fr_t::one();
  for (uint32_t i = 1; i < kTwN; i++) tw[i] = fr_mul(tw[i - 1], w);
}

// Layout places `count` vectors of n = 2^log_n elements in memory: element i
// of vector v is at v·vec_stride + i·elem_stride (in elements). Rows of a
// matrix are (elem_stride 1, vec_stride width); its columns (elem_stride
// width, vec_stride 1).
struct Layout {
  uint32_t log_n;
  uint32_t count;
  uint64_t elem_stride;
  uint64_t vec_stride;
};

ZGDA_HD uint64_t layout_at(const Layout& L, uint32_t v, uint32_t i) {
  return (uint64_t)v * L.vec_stride + (uint64_t)i * L.elem_stride;
}

// split_tid maps a thread id in [0, count·per_vec) to (vector, index) so that
// neighbouring threads touch neighbouring memory: along the vector when its
// elements are contiguous, across vectors otherwise (columns).
ZGDA_HD void split_tid(const Layout& L, uint32_t log_per_vec, uint32_t tid, uint32_t* v, uint32_t* j) {
  if (L.elem_stride == 1) {
    *v = tid >> log_per_vec;
    *j = tid & ((1u << log_per_vec) - 1);
  } else {
    *v = tid % L.count;
    *j = tid / L.count;
  }
}

// Threads per stage (n/2 butterflies per vector) and per pointwise pass.
ZGDA_HD uint32_t butterfly_threads(const Layout& L) { return L.count << (L.log_n - 1); }
ZGDA_HD uint32_t point_threads(const Layout& L) { return L.count << L.log_n; }

// butterfly_pair returns the positions of butterfly j of the stage with half
// size m = 2^s, and the exponent e of its twiddle ω_{2m}^e as a power of ω_8192.
ZGDA_HD void butterfly_pair(uint32_t s, uint32_t j, uint32_t* i0, uint32_t* i1, uint32_t* e) {
  uint32_t m = 1u << s;
  uint32_t jj = j & (m - 1);
  *i0 = ((j >> s) << (s + 1)) | jj;
  *i1 = *i0 + m;
  *e = jj << (kTwLog - 1 - s);
}

// dit_step: one butterfly of inverse-NTT stage s (run s = 0 … log_n−1):
// (x, y) ← (x + ω^−e·y, x − ω^−e·y). The result is n times the coefficients.
ZGDA_HD void dit_step(fr_t* a, const Layout& L, uint32_t s, const fr_t* tw, uint32_t tid) {
  uint32_t v, j, i0, i1, e;
  split_tid(L, L.log_n - 1, tid, &v, &j);
  butterfly_pair(s, j, &i0, &i1, &e);
  fr_t* p0 = a + layout_at(L, v, i0);
  fr_t* p1 = a + layout_at(L, v, i1);
  fr_t x = *p0;
  fr_t y = fr_mul(*p1, tw[(kTwN - e) & (kTwN - 1)]);
  *p0 = fr_add(x, y);
  *p1 = fr_sub(x, y);
}

// dif_step: one butterfly of forward-NTT stage s (run s = log_n−1 … 0):
// (x, y) ← (x + y, (x − y)·ω^e).
ZGDA_HD void dif_step(fr_t* a, const Layout& L, uint32_t s, const fr_t* tw, uint32_t tid) {
  uint32_t v, j, i0, i1, e;
  split_tid(L, L.log_n - 1, tid, &v, &j);
  butterfly_pair(s, j, &i0, &i1, &e);
  fr_t* p0 = a + layout_at(L, v, i0);
  fr_t* p1 = a + layout_at(L, v, i1);
  fr_t x = *p0;
  fr_t y = *p1;
  *p0 = fr_add(x, y);
  *p1 = fr_mul(fr_sub(x, y), tw[e]);
}

// scale_step: dst[v][i] = src[v][i] · ω_8192^(i·step mod 8192) · c. With
// c = 1/n it finishes an inverse NTT; with step ≠ 0 it also moves the
// polynomial to a coset (coefficient i times h^i, h = ω_8192^step).
ZGDA_HD void scale_step(fr_t* dst, const Layout& Ld, const fr_t* src, const Layout& Ls, uint32_t step,
                        const fr_t& c, const fr_t* tw, uint32_t tid) {
  uint32_t v, i;
  split_tid(Ld, Ld.log_n, tid, &v, &i);
  fr_t x = fr_mul(src[layout_at(Ls, v, i)], c);
  dst[layout_at(Ld, v, i)] = fr_mul(x, tw[(i * step) & (kTwN - 1)]);
}

// brp2 reverses the 2 bits of a column-extension block index (EIP-4844's
// bit-reversal on H_4K puts block b at the coset ω_4K^brp2(b)·H_K).
ZGDA_HD uint32_t brp2(uint32_t b) { return ((b & 1) << 1) | (b >> 1); }

// Exec runs steps over all thread ids: a host loop or a kernel launch. Plans
// below are written once against it.
//   void dit(fr_t* a, const Layout& L, uint32_t s);
//   void dif(fr_t* a, const Layout& L, uint32_t s);
//   void scale(fr_t* dst, const Layout& Ld, const fr_t* src, const Layout& Ls, uint32_t step, const fr_t& c);

// inverse_ntt: bit-reversed evaluations → n·coefficients, in place.
template <class Exec>
void inverse_ntt_unscaled(Exec& ex, fr_t* a, const Layout& L) {
  for (uint32_t s = 0; s < L.log_n; s++) ex.dit(a, L, s);
}

// forward_ntt: natural coefficients → bit-reversed evaluations, in place.
template <class Exec>
void forward_ntt(Exec& ex, fr_t* a, const Layout& L) {
  for (uint32_t s = L.log_n; s-- > 0;) ex.dif(a, L, s);
}

// plan_extend_columns extends `width` adjacent columns of K = 2^log_k data
// rows. in: K rows of `width` elements (row-major, pitch width), destroyed
// (it ends holding K·coefficients). out: the 3K rows K … 4K−1 of the extended
// matrix for those columns (pitch width). inv_k = 1/K.
template <class Exec>
void plan_extend_columns(Exec& ex, fr_t* in, fr_t* out, uint32_t log_k, uint32_t width, const fr_t& inv_k) {
  uint32_t k = 1u << log_k;
  Layout L{log_k, width, width, 1};
  inverse_ntt_unscaled(ex, in, L);
  for (uint32_t b = 1; b < 4; b++) {
    fr_t* blk = out + (uint64_t)(b - 1) * k * width;
    // h_b = ω_4K^brp2(b) = ω_8192^(brp2(b)·8192/(4K)).
    uint32_t step = brp2(b) << (kTwLog - 2 - log_k);
    ex.scale(blk, L, in, L, step, inv_k);
    forward_ntt(ex, blk, L);
  }
}

// plan_extend_rows extends `rows` rows of 4096 evaluations to EIP-7594's 8192:
// out receives, per row, the second half (evaluations 4096 … 8191, the first
// half is the row itself). in (pitch 4096) is destroyed. inv_n = 1/4096.
template <class Exec>
void plan_extend_rows(Exec& ex, fr_t* in, fr_t* out, uint32_t rows, const fr_t& inv_n) {
  Layout L{12, rows, 1, 4096};
  inverse_ntt_unscaled(ex, in, L);
  // Coset ω_8192·H_4096: coefficient i times ω_8192^i.
  ex.scale(out, L, in, L, 1, inv_n);
  forward_ntt(ex, out, L);
}

// HostExec runs every step on the calling thread.
struct HostExec {
  const fr_t* tw;
  void dit(fr_t* a, const Layout& L, uint32_t s) {
    uint32_t n = butterfly_threads(L);
    for (uint32_t t = 0; t < n; t++) dit_step(a, L, s, tw, t);
  }
  void dif(fr_t* a, const Layout& L, uint32_t s) {
    uint32_t n = butterfly_threads(L);
    for (uint32_t t = 0; t < n; t++) dif_step(a, L, s, tw, t);
  }
  void scale(fr_t* dst, const Layout& Ld, const fr_t* src, const Layout& Ls, uint32_t step, const fr_t& c) {
    uint32_t n = point_threads(Ld);
    for (uint32_t t = 0; t < n; t++) scale_step(dst, Ld, src, Ls, step, c, tw, t);
  }
};

}  // namespace zgda
