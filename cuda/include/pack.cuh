// pack.cuh: blob bytes to the scalars of a row commitment, on the device
// (docs/spec.md §3.1 Packing). A row of n elements carries 31·n payload
// bytes; element i is the big-endian integer of bytes [31i, 31i + 31), the
// bytes past the blob's end zero (the host glue writes that padding). The
// result is the element in Montgomery form, gnark-crypto's fr.Element, which
// the MSM reads as it reads scalars copied from Go (encoder.PackInto is the
// Go owner of the same map; internal/hostcheck compares the two).
//
// Below 2^248 < r, so the integer is already canonical: no reduction, one
// Montgomery multiplication by R^2.
#pragma once

#include "fr.cuh"

namespace zgda {

constexpr uint32_t kPackBytes = 31;  // payload bytes per element

// pack_row_bytes is the payload of a row of n elements.
ZGDA_HD uint64_t pack_row_bytes(uint32_t n) { return (uint64_t)kPackBytes * n; }

// pack_element returns the element of the 31 bytes at p (big-endian).
ZGDA_HD fr_t pack_element(const uint8_t* p) {
  fr_t x;
  // Limb k holds the bytes of weight 256^(8k) … 256^(8k + 7): byte j has
  // weight 256^(30 − j), so limb 3 gets bytes 0 … 6 and limb 0 bytes 23 … 30.
ZGDA_UNROLL
  for (int k = 0; k < 4; k++) {
    uint64_t v = 0;
ZGDA_UNROLL
    for (int e = 7; e >= 0; e--) {
      int j = 30 - 8 * k - e;
      if (j >= 0) v = v << 8 | p[j];
    }
    x.l[k] = v;
  }
  return to_mont<FrParams>(x);
}

// pack_step (t < rows·n): scalars[t] = element t % n of row t / n, whose
// bytes start at bytes + (t / n)·31·n.
ZGDA_HD void pack_step(const uint8_t* bytes, fr_t* scalars, uint32_t n, uint32_t t) {
  uint32_t row = t / n, i = t % n;
  scalars[t] = pack_element(bytes + row * pack_row_bytes(n) + (uint64_t)i * kPackBytes);
}

}  // namespace zgda
