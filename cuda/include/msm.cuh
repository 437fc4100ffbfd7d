// msm.cuh: batched fixed-base multi-scalar multiplication over BLS12-381 G1,
// the KZG row commitment Σ s_i·P_i over the trusted setup's Lagrange points.
//
// The bases never change, so, as kzg/internal/msm does on the CPU, a table
// holds T[k·n + i] = 2^(c·k)·P_i (affine) for every base i and window k. A
// scalar is cut into w signed c-bit digits d_k; each non-zero digit drops
// ±T[k·n + i] into bucket |d_k| of its row. One set of 2^(c−1) buckets serves
// every window: no doublings and no per-window reduction. Then
// Σ_b b·S_b is formed with running sums over segments of buckets.
//
// The steps, in plan_msm's order, for a batch of rows (one GPU thread each):
//   clear    (row, bucket)  bucket counters ← 0
//   digits   (row, i)       signed digits of scalar i; count per bucket
//   scan     (row)          bucket start offsets (exclusive prefix sum)
//   scatter  (row, k·n+i)   entry (k·n+i, sign) into its bucket's list
//   bucket   (row, bucket)  S_b = Σ ±T[e] over the list, mixed additions
//   reduce   (row, segment) running sums over the segment's buckets
//   finish   (row)          combine segments, to affine
// Host code loops over thread ids (HostMsmExec); device kernels call the same
// functions, so the host tests check what the kernels run. Order of points
// within a bucket depends on the device's atomics, the sum does not.
#pragma once

#include "fr.cuh"
#include "g1.cuh"

namespace zgda {

constexpr uint32_t kMsmC = 12;                    // window width in bits
constexpr uint32_t kMsmWindows = 22;              // ⌈(255 + 1 carry bit) / c⌉
constexpr uint32_t kMsmBuckets = 1u << (kMsmC - 1);  // digits 1 … 2^(c−1)
constexpr uint32_t kMsmSegments = 32;             // reduction segments per row
constexpr uint32_t kMsmPerSegment = kMsmBuckets / kMsmSegments;
constexpr uint32_t kMsmLogPerSegment = 6;
static_assert(kMsmWindows * kMsmC >= 256, "signed digits need a spare bit above Fr's 255");
static_assert(kMsmPerSegment == 1u << kMsmLogPerSegment, "segment size");
static_assert(kMsmBuckets % 16 == 0, "msm_scan_step reads counters 16 at a time");

// msm_point is one result: x, y as gnark-crypto's fp.Element (Montgomery),
// infinity = 1 for the point at infinity (then x = y = 0). 104 bytes; the C
// ABI's zgda_msm_point.
struct msm_point {
  fp_t x, y;
  uint64_t infinity;
};
static_assert(sizeof(msm_point) == 104, "zgda_msm_point layout");

// MsmBatch is the working memory of one batch of `rows` MSMs over n bases
// (device pointers on the GPU). Sizes, in elements:
//   table   w·n       (the fixed table, shared by all batches)
//   scalars rows·n    (fr.Element, Montgomery form)
//   digits  rows·w·n
//   count, start, buckets   rows·B
//   seg_sum, seg_acc        rows·G
//   out     rows
struct MsmBatch {
  uint32_t n;
  uint32_t rows;
  const g1_affine* table;
  const fr_t* scalars;
  int16_t* digits;
  uint32_t* count;
  uint32_t* start;
  uint32_t* list;  // rows·w·n entries: (k·n + i) << 1 | negative
  g1_jac* buckets;
  g1_jac* seg_sum;
  g1_jac* seg_acc;
  msm_point* out;
};

// msm_atomic_inc returns *p and increments it: an atomic on the device; the
// host runs one thread at a time.
ZGDA_HD uint32_t msm_atomic_inc(uint32_t* p) {
#if defined(__CUDA_ARCH__) && defined(__NVCC__)
  return atomicAdd(p, 1u);
#elif defined(__CUDA_ARCH__)
  // clang's toolkit-less device check has no atomicAdd: the instruction
  // nvcc emits for it.
  uint32_t old;
  asm volatile("atom.add.u32 %0, [%1], %2;" : "=r"(old) : "l"(p), "r"(1u) : "memory");
  return old;
#else
  return (*p)++;
#endif
}

// msm_window returns bits [pos, pos + c) of the 256-bit little-endian limbs.
ZGDA_HD uint32_t msm_window(const uint64_t* l, uint32_t pos) {
  uint32_t word = pos >> 6, sh = pos & 63;
  uint64_t v = l[word] >> sh;
  if (sh + kMsmC > 64 && word + 1 < 4) v |= l[word + 1] << (64 - sh);
  return (uint32_t)v & ((1u << kMsmC) - 1);
}

// --- the fixed table (built once per context) --------------------------------

// msm_table_jac_step (thread i < n): scratch[k·n + i] = 2^(c·k)·P_i, Jacobian.
ZGDA_HD void msm_table_jac_step(const g1_affine* bases, g1_jac* scratch, uint32_t n, uint32_t i) {
  g1_jac p = g1_from_affine(bases[i]);
  for (uint32_t k = 0; k < kMsmWindows; k++) {
    scratch[(uint64_t)k * n + i] = p;
    for (uint32_t d = 0; d < kMsmC; d++) p = g1_double(p);
  }
}

// msm_table_affine_step (thread i < n): table[k·n + i] = affine(scratch[k·n + i])
// for every k, with one inversion (Montgomery's trick); the prefix products
// live in table[·].x until they are overwritten, so no thread-local arrays.
ZGDA_HD void msm_table_affine_step(const g1_jac* scratch, g1_affine* table, uint32_t n, uint32_t i) {
  fp_t acc = fp_t::one();
  for (uint32_t k = 0; k < kMsmWindows; k++) {
    const fp_t& z = scratch[(uint64_t)k * n + i].z;
    if (!z.is_zero()) acc = fp_mul(acc, z);
    table[(uint64_t)k * n + i].x = acc;
  }
  fp_t inv = fp_inverse(acc);
  for (uint32_t k = kMsmWindows; k-- > 0;) {
    const g1_jac& p = scratch[(uint64_t)k * n + i];
    g1_affine& t = table[(uint64_t)k * n + i];
    if (p.z.is_zero()) {
      t = g1_affine{fp_t::zero(), fp_t::zero()};
      continue;
    }
    fp_t prev = k > 0 ? table[(uint64_t)(k - 1) * n + i].x : fp_t::one();
    fp_t zi = fp_mul(inv, prev);
    inv = fp_mul(inv, p.z);
    fp_t zi2 = fp_sqr(zi);
    t = g1_affine{fp_mul(p.x, zi2), fp_mul(p.y, fp_mul(zi2, zi))};
  }
}

// --- one batch ----------------------------------------------------------------

// msm_clear_step (t < rows·B).
ZGDA_HD void msm_clear_step(const MsmBatch& b, uint32_t t) { b.count[t] = 0; }

// msm_digits_step (t < rows·n): the signed digits of scalar t (row t / n).
ZGDA_HD void msm_digits_step(const MsmBatch& b, uint32_t t) {
  uint32_t row = t / b.n, i = t % b.n;
  fr_t s = from_mont<FrParams>(b.scalars[t]);
  int16_t* dig = b.digits + (uint64_t)row * kMsmWindows * b.n + i;
  uint32_t* count = b.count + (uint64_t)row * kMsmBuckets;
  int32_t carry = 0;
  // Unrolled so that msm_window's limb index is a constant: s stays in
  // registers instead of local memory.
ZGDA_UNROLL
  for (uint32_t k = 0; k < kMsmWindows; k++) {
    int32_t d = (int32_t)msm_window(s.l, k * kMsmC) + carry;
    carry = d > (int32_t)kMsmBuckets;
    d -= carry << kMsmC;
    dig[(uint64_t)k * b.n] = (int16_t)d;
    if (d != 0) msm_atomic_inc(count + (d < 0 ? -d : d) - 1);
  }
}

// msm_scan_step (t < rows): start = exclusive prefix sum of count; count is
// reset to serve as scatter's fill cursor (it ends equal to the counts).
ZGDA_HD void msm_scan_step(const MsmBatch& b, uint32_t t) {
  uint32_t* count = b.count + (uint64_t)t * kMsmBuckets;
  uint32_t* start = b.start + (uint64_t)t * kMsmBuckets;
  uint32_t sum = 0;
  // Sixteen loads in flight at a time: one thread walks 2048 counters, and
  // a GPU thread does not run ahead of a pending load by itself.
  for (uint32_t j0 = 0; j0 < kMsmBuckets; j0 += 16) {
    uint32_t c[16];
ZGDA_UNROLL
    for (uint32_t j = 0; j < 16; j++) c[j] = count[j0 + j];
ZGDA_UNROLL
    for (uint32_t j = 0; j < 16; j++) {
      start[j0 + j] = sum;
      sum += c[j];
      count[j0 + j] = 0;
    }
  }
}

// msm_scatter_step (t < rows·w·n): files digit t into its bucket's list.
ZGDA_HD void msm_scatter_step(const MsmBatch& b, uint32_t t) {
  uint32_t per_row = kMsmWindows * b.n;
  uint32_t row = t / per_row, e = t % per_row;
  int32_t d = b.digits[t];
  if (d == 0) return;
  uint32_t bk = (uint32_t)(d < 0 ? -d : d) - 1 + row * kMsmBuckets;
  uint32_t pos = b.start[bk] + msm_atomic_inc(b.count + bk);
  b.list[(uint64_t)row * per_row + pos] = e << 1 | (uint32_t)(d < 0);
}

// msm_bucket_step (t < rows·B): S = Σ ±table[e] over bucket t's list.
ZGDA_HD void msm_bucket_step(const MsmBatch& b, uint32_t t) {
  uint32_t row = t / kMsmBuckets;
  const uint32_t* list = b.list + (uint64_t)row * kMsmWindows * b.n + b.start[t];
  uint32_t m = b.count[t];
  g1_jac s = g1_jac_inf();
  for (uint32_t j = 0; j < m; j++) {
    uint32_t v = list[j];
    g1_affine p = b.table[v >> 1];
    if (v & 1) p.y = fp_neg(p.y);
    s = g1_add_mixed(s, p);
  }
  b.buckets[t] = s;
}

// msm_reduce_step (t < rows·G): over the segment's buckets j (digit
// g·P + j + 1), sum = Σ (j + 1)·S_j and acc = Σ S_j.
ZGDA_HD void msm_reduce_step(const MsmBatch& b, uint32_t t) {
  const g1_jac* s = b.buckets + (uint64_t)t * kMsmPerSegment;  // rows·B = rows·G·P
  g1_jac acc = g1_jac_inf(), sum = g1_jac_inf();
  for (uint32_t j = kMsmPerSegment; j-- > 0;) {
    acc = g1_add(acc, s[j]);
    sum = g1_add(sum, acc);
  }
  b.seg_sum[t] = sum;
  b.seg_acc[t] = acc;
}

// msm_finish_step (t < rows): Σ_g sum_g + P·Σ_g g·acc_g, in affine.
ZGDA_HD void msm_finish_step(const MsmBatch& b, uint32_t t) {
  const g1_jac* sum = b.seg_sum + (uint64_t)t * kMsmSegments;
  const g1_jac* acc = b.seg_acc + (uint64_t)t * kMsmSegments;
  g1_jac a = g1_jac_inf(), r = g1_jac_inf();
  for (uint32_t g = kMsmSegments; g-- > 1;) {
    a = g1_add(a, acc[g]);
    r = g1_add(r, a);
  }
  for (uint32_t d = 0; d < kMsmLogPerSegment; d++) r = g1_double(r);
  for (uint32_t g = 0; g < kMsmSegments; g++) r = g1_add(r, sum[g]);
  msm_point& o = b.out[t];
  g1_affine p = g1_to_affine(r);
  o.x = p.x;
  o.y = p.y;
  o.infinity = r.z.is_zero() ? 1 : 0;
}

// Thread counts of the steps.
ZGDA_HD uint32_t msm_bucket_threads(const MsmBatch& b) { return b.rows * kMsmBuckets; }
ZGDA_HD uint32_t msm_scalar_threads(const MsmBatch& b) { return b.rows * b.n; }
ZGDA_HD uint32_t msm_digit_threads(const MsmBatch& b) { return b.rows * kMsmWindows * b.n; }
ZGDA_HD uint32_t msm_segment_threads(const MsmBatch& b) { return b.rows * kMsmSegments; }

// Exec runs each step over its thread ids (host loop or kernel launch):
//   void clear(const MsmBatch&);  void digits(...);  void scan(...);
//   void scatter(...);  void bucket(...);  void reduce(...);  void finish(...);
template <class Exec>
void plan_msm(Exec& ex, const MsmBatch& b) {
  ex.clear(b);
  ex.digits(b);
  ex.scan(b);
  ex.scatter(b);
  ex.bucket(b);
  ex.reduce(b);
  ex.finish(b);
}

// HostMsmExec runs every step on the calling thread.
struct HostMsmExec {
  void clear(const MsmBatch& b) {
    for (uint32_t t = 0; t < msm_bucket_threads(b); t++) msm_clear_step(b, t);
  }
  void digits(const MsmBatch& b) {
    for (uint32_t t = 0; t < msm_scalar_threads(b); t++) msm_digits_step(b, t);
  }
  void scan(const MsmBatch& b) {
    for (uint32_t t = 0; t < b.rows; t++) msm_scan_step(b, t);
  }
  void scatter(const MsmBatch& b) {
    for (uint32_t t = 0; t < msm_digit_threads(b); t++) msm_scatter_step(b, t);
  }
  void bucket(const MsmBatch& b) {
    for (uint32_t t = 0; t < msm_bucket_threads(b); t++) msm_bucket_step(b, t);
  }
  void reduce(const MsmBatch& b) {
    for (uint32_t t = 0; t < msm_segment_threads(b); t++) msm_reduce_step(b, t);
  }
  void finish(const MsmBatch& b) {
    for (uint32_t t = 0; t < b.rows; t++) msm_finish_step(b, t);
  }
};

// msm_host_table builds the table on the host (tests, the self-test).
inline void msm_host_table(const g1_affine* bases, g1_jac* scratch, g1_affine* table, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) msm_table_jac_step(bases, scratch, n, i);
  for (uint32_t i = 0; i < n; i++) msm_table_affine_step(scratch, table, n, i);
}

// msm_scalar_mul is s·P by double-and-add (s in Montgomery form): the slow,
// obviously right reference the library's self-test compares with.
inline g1_jac msm_scalar_mul(const g1_affine& p, const fr_t& s) {
  fr_t c = from_mont<FrParams>(s);
  g1_jac r = g1_jac_inf();
  for (int i = 255; i >= 0; i--) {
    r = g1_double(r);
    if ((c.l[i >> 6] >> (i & 63)) & 1) r = g1_add_mixed(r, p);
  }
  return r;
}

}  // namespace zgda
