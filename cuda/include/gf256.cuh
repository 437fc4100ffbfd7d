// gf256.cuh: GF(2^8) arithmetic and the Reed–Solomon parity step, shared by
// the kernel in cuda/rs.cu (nvcc) and the host checks (g++).
//
// The field is GF(2)[x]/(x^8 + x^4 + x^3 + x^2 + 1), polynomial 0x11d, the
// one klauspost/reedsolomon uses (its generatingPolynomial = 29 = 0x1d);
// tests compare products with klauspost's encoder byte for byte.
//
// No tables: a product c·x is the XOR of x·2^b over the set bits b of c, and
// x·2^b is b doublings ("xtime"). Four bytes packed in a 32-bit word double
// at once, so the kernel spends a few integer operations per byte and
// coefficient, touches no shared memory and has no data-dependent branches
// or memory accesses. The coding matrix is the caller's (uploaded once per
// context), so this file knows nothing about how klauspost builds it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arith.cuh"  // ZGDA_HD, ZGDA_UNROLL

namespace zgda {

constexpr uint32_t kGFPoly = 0x11d;

// gf_xtime4 doubles each of the four bytes packed in v: shift left and
// reduce the bytes whose top bit fell off by 0x1d. A byte's top bit times
// 0x1d is at most 0x1d, so nothing carries into the next byte.
ZGDA_HD uint32_t gf_xtime4(uint32_t v) {
  uint32_t top = (v >> 7) & 0x01010101u;
  return ((v & 0x7f7f7f7fu) << 1) ^ (top * (kGFPoly & 0xffu));
}

// gf_mul returns a·b, the reference scalar product (shift and add).
ZGDA_HD uint8_t gf_mul(uint8_t a, uint8_t b) {
  uint32_t x = b, r = 0;
  ZGDA_UNROLL
  for (int i = 0; i < 8; i++) {
    r ^= x & (0u - ((uint32_t(a) >> i) & 1u));
    x = gf_xtime4(x);
  }
  return (uint8_t)r;
}

// gf_mul4 returns c times each byte packed in x.
ZGDA_HD uint32_t gf_mul4(uint8_t c, uint32_t x) {
  uint32_t r = 0;
  ZGDA_UNROLL
  for (int i = 0; i < 8; i++) {
    r ^= x & (0u - ((uint32_t(c) >> i) & 1u));
    x = gf_xtime4(x);
  }
  return r;
}

// Vec16 is the unit of work of one kernel thread: 16 consecutive bytes of a
// shard, loaded and stored as one aligned 128-bit access.
struct alignas(16) Vec16 {
  uint32_t w[4];
};

// kRSTile is the number of parity rows one thread accumulates: 4 × 16-byte
// accumulators stay in registers whatever m is; a larger m takes several
// tiles, each reading the data again (from L2).
constexpr uint32_t kRSTile = 4;

// RSShape describes one chunk: k data rows at data + i·stride, m parity rows
// at parity + j·stride, nvec 16-byte vectors per row. stride is a multiple of
// 16; rows are padded up to whole vectors, and the padding's parity is
// garbage nobody reads.
struct RSShape {
  uint32_t k, m;
  size_t stride;
  uint32_t nvec;
};

// rs_threads is the number of work items of one chunk: one per vector and
// parity tile.
ZGDA_HD uint32_t rs_threads(const RSShape& s) { return s.nvec * ((s.m + kRSTile - 1) / kRSTile); }

// rs_step computes work item t < rs_threads(s): parity rows
// [kRSTile·tile, +kRSTile) at vector v, where t = tile·nvec + v (so
// neighbouring threads touch neighbouring bytes). mat is the m×k coding
// matrix, row-major: parity j = Σ_i mat[j·k + i] · data i.
ZGDA_HD void rs_step(const uint8_t* __restrict__ data, uint8_t* __restrict__ parity,
                     const uint8_t* __restrict__ mat, const RSShape& s, uint32_t t) {
  const uint32_t tile = t / s.nvec, v = t % s.nvec;
  const uint32_t j0 = tile * kRSTile;
  const uint32_t mt = s.m - j0 < kRSTile ? s.m - j0 : kRSTile;
  Vec16 acc[kRSTile];
  ZGDA_UNROLL
  for (uint32_t j = 0; j < kRSTile; j++) acc[j] = Vec16{{0, 0, 0, 0}};
  for (uint32_t i = 0; i < s.k; i++) {
    Vec16 x = *reinterpret_cast<const Vec16*>(data + i * s.stride + (size_t)v * 16);
    uint32_t c[kRSTile];
    ZGDA_UNROLL
    for (uint32_t j = 0; j < kRSTile; j++) c[j] = j < mt ? mat[(j0 + j) * s.k + i] : 0;
    ZGDA_UNROLL
    for (int b = 0; b < 8; b++) {
      ZGDA_UNROLL
      for (uint32_t j = 0; j < kRSTile; j++) {
        const uint32_t mask = 0u - ((c[j] >> b) & 1u);
        ZGDA_UNROLL
        for (int w = 0; w < 4; w++) acc[j].w[w] ^= x.w[w] & mask;
      }
      ZGDA_UNROLL
      for (int w = 0; w < 4; w++) x.w[w] = gf_xtime4(x.w[w]);
    }
  }
  ZGDA_UNROLL
  for (uint32_t j = 0; j < kRSTile; j++)
    if (j < mt) *reinterpret_cast<Vec16*>(parity + (j0 + j) * s.stride + (size_t)v * 16) = acc[j];
}

}  // namespace zgda
