// g1fft.cuh: the column extension applied to G1 points, for the parity-row
// commitments of a batch (docs/spec.md §3.4 Column extension).
//
// A commitment is linear in its row, so extending the K data commitments
// C_0 … C_{K−1} (the K − D padding rows' are the identity) as the rows are
// extended — a size-K inverse NTT, then per coset block b = 1, 2, 3 a scale
// by h_b^i/K and a size-K forward NTT, as extend_columns_tile (ntt.cuh) does over Fr —
// gives the commitments of extended rows K … 4K−1 with no MSM over a row.
// kzg.ParityCommitments computes the same points on the CPU (a size-K
// inverse and a size-4K forward FFT in G1); the group elements are unique,
// so the bytes agree whatever the order of operations.
//
// Each *_step is one GPU thread's work over Jacobian points; scalars are the
// ω_8192 twiddles of ntt.cuh (Montgomery Fr, converted to canonical limbs
// for the double-and-add). Host code loops over thread ids (HostG1Exec).
#pragma once

#include <string.h>

#include "g1.cuh"
#include "ntt.cuh"

namespace zgda {

// g1_mul returns s·p for s in Montgomery form: MSB-first double-and-add
// over the canonical limbs, the limb picked by selects (a limb indexed at
// run time would put the scalar in local memory). A few thousand of these
// per batch, not per element.
ZGDA_HD g1_jac g1_mul(const g1_jac& p, const fr_t& s) {
  fr_t k = from_mont<FrParams>(s);
  g1_jac r = g1_jac_inf();
  for (int bit = 255; bit >= 0; bit--) {
    int i = bit >> 6;
    uint64_t w = i == 3 ? k.l[3] : i == 2 ? k.l[2] : i == 1 ? k.l[1] : k.l[0];
    r = g1_double(r);
    if ((w >> (bit & 63)) & 1) r = g1_add(r, p);
  }
  return r;
}

// g1_mul_tw is g1_mul by the twiddle ω_8192^e, with e = 0 (scalar one) a copy.
ZGDA_HD g1_jac g1_mul_tw(const g1_jac& p, const fr_t* tw, uint32_t e) {
  e &= kTwN - 1;
  return e == 0 ? p : g1_mul(p, tw[e]);
}

// g1_load_step: a[i] = C_i for i < d, the identity for d ≤ i < k.
ZGDA_HD void g1_load_step(g1_jac* a, const g1_affine* in, uint32_t d, uint32_t tid) {
  a[tid] = tid < d ? g1_from_affine(in[tid]) : g1_jac_inf();
}

// g1_dit_step: dit_step over one vector of 2^log_n points.
ZGDA_HD void g1_dit_step(g1_jac* a, uint32_t s, const fr_t* tw, uint32_t tid) {
  uint32_t i0, i1, e;
  butterfly_pair(s, tid, &i0, &i1, &e);
  g1_jac x = a[i0];
  g1_jac y = g1_mul_tw(a[i1], tw, kTwN - e);
  a[i0] = g1_add(x, y);
  a[i1] = g1_add(x, g1_neg(y));
}

// g1_dif_step: dif_step over one vector.
ZGDA_HD void g1_dif_step(g1_jac* a, uint32_t s, const fr_t* tw, uint32_t tid) {
  uint32_t i0, i1, e;
  butterfly_pair(s, tid, &i0, &i1, &e);
  g1_jac x = a[i0];
  g1_jac y = a[i1];
  a[i0] = g1_add(x, y);
  a[i1] = g1_mul_tw(g1_add(x, g1_neg(y)), tw, e);
}

// g1_scale_step: dst[i] = (c·ω_8192^(i·step))·src[i].
ZGDA_HD void g1_scale_step(g1_jac* dst, const g1_jac* src, uint32_t step, const fr_t& c, const fr_t* tw,
                           uint32_t tid) {
  dst[tid] = g1_mul(src[tid], fr_mul(c, tw[(tid * step) & (kTwN - 1)]));
}

// Exec for G1 (thread counts are the caller's):
//   void load(g1_jac* a, const g1_affine* in, uint32_t d, uint32_t k);
//   void dit(g1_jac* a, uint32_t log_n, uint32_t s);
//   void dif(g1_jac* a, uint32_t log_n, uint32_t s);
//   void scale(g1_jac* dst, const g1_jac* src, uint32_t n, uint32_t step, const fr_t& c);

// g1_parity_blocks is how many of the coset blocks 1 … 3 hold one of the
// first 3d extended rows K … K+3d−1 (the parity rows a batch keeps).
ZGDA_HD uint32_t g1_parity_blocks(uint32_t d, uint32_t log_k) {
  uint32_t k = 1u << log_k;
  return (3 * d + k - 1) / k;
}

// plan_g1_parity extends d ≤ K = 2^log_k affine points in (padded with the
// identity) as extend_columns_tile extends rows: a (4K points) ends with
// a[0:K] = K·coefficients and a[K + j] = extended point K + j for the rows
// of the blocks g1_parity_blocks keeps. inv_k = 1/K.
template <class Exec>
void plan_g1_parity(Exec& ex, g1_jac* a, const g1_affine* in, uint32_t d, uint32_t log_k, const fr_t& inv_k) {
  uint32_t k = 1u << log_k;
  ex.load(a, in, d, k);
  for (uint32_t s = 0; s < log_k; s++) ex.dit(a, log_k, s);
  uint32_t blocks = g1_parity_blocks(d, log_k);
  for (uint32_t b = 1; b <= blocks; b++) {
    g1_jac* blk = a + (uint64_t)b * k;
    ex.scale(blk, a, k, brp2(b) << (kTwLog - 2 - log_k), inv_k);
    for (uint32_t s = log_k; s-- > 0;) ex.dif(blk, log_k, s);
  }
}

// HostG1Exec runs every step on the calling thread.
struct HostG1Exec {
  const fr_t* tw;
  void load(g1_jac* a, const g1_affine* in, uint32_t d, uint32_t k) {
    for (uint32_t t = 0; t < k; t++) g1_load_step(a, in, d, t);
  }
  void dit(g1_jac* a, uint32_t log_n, uint32_t s) {
    for (uint32_t t = 0; t < (1u << log_n) / 2; t++) g1_dit_step(a, s, tw, t);
  }
  void dif(g1_jac* a, uint32_t log_n, uint32_t s) {
    for (uint32_t t = 0; t < (1u << log_n) / 2; t++) g1_dif_step(a, s, tw, t);
  }
  void scale(g1_jac* dst, const g1_jac* src, uint32_t n, uint32_t step, const fr_t& c) {
    for (uint32_t t = 0; t < n; t++) g1_scale_step(dst, src, step, c, tw, t);
  }
};

// g1_batch_compress writes n Jacobian points as gnark-crypto's compressed
// G1Affine.Bytes() (48 bytes each, big-endian x; 0x80 compressed, 0x40
// infinity, 0x20 y lexicographically largest), with one inversion for all
// (Montgomery's trick). scratch holds n fp_t. Host code: the n ≤ 768
// results of a batch.
inline void g1_batch_compress(const g1_jac* p, uint32_t n, fp_t* scratch, uint8_t* out) {
  fp_t acc = fp_t::one();
  for (uint32_t i = 0; i < n; i++) {
    scratch[i] = acc;  // product of the non-zero z before i
    if (!p[i].z.is_zero()) acc = fp_mul(acc, p[i].z);
  }
  fp_t inv = fp_inverse(acc);
  // (p − 1)/2, the largest y that is not "lexicographically largest".
  fp_t half = fp_t::modulus();
  for (int i = 0; i < fp_t::N; i++) half.l[i] = (half.l[i] >> 1) | (i + 1 < fp_t::N ? half.l[i + 1] << 63 : 0);
  for (uint32_t i = n; i-- > 0;) {
    uint8_t* o = out + 48 * (size_t)i;
    memset(o, 0, 48);
    if (p[i].z.is_zero()) {
      o[0] = 0xC0;
      continue;
    }
    fp_t zi = fp_mul(inv, scratch[i]);
    inv = fp_mul(inv, p[i].z);
    fp_t zi2 = fp_sqr(zi);
    fp_t x = from_mont<FpParams>(fp_mul(p[i].x, zi2));
    fp_t y = from_mont<FpParams>(fp_mul(p[i].y, fp_mul(zi2, zi)));
    for (int j = 0; j < 48; j++) o[j] = (uint8_t)(x.l[5 - j / 8] >> (56 - 8 * (j % 8)));
    bool largest = false;
    for (int l = fp_t::N - 1; l >= 0; l--) {
      if (y.l[l] != half.l[l]) {
        largest = y.l[l] > half.l[l];
        break;
      }
    }
    o[0] |= largest ? 0xA0 : 0x80;
  }
}

}  // namespace zgda
