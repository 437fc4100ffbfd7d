// msm.cuh: batched fixed-base multi-scalar multiplication over BLS12-381 G1,
// the KZG row commitment Σ s_i·P_i over the trusted setup's Lagrange points.
//
// The bases never change, so, as kzg/internal/msm does on the CPU, a table
// holds T[k·n + i] = 2^(c·k)·P_i (affine) for every base i and window k. A
// scalar is cut into w signed c-bit digits d_k; entry e = k·n + i of a row
// adds ±T[e] to bucket |d_k|. One set of B = 2^(c−1) buckets serves every
// window: no doublings and no per-window reduction. The row's result is
// Σ_d d·S_d over the bucket sums S_d.
//
// The schedule bounds every thread's work by a constant, whatever the
// scalars. A row of equal scalars (a blob of one repeated byte) sends each
// window's 4096 entries to one bucket, often the same few for all windows;
// it must cost about what random scalars cost (at most 2×: the host checks
// count the additions and the longest chain of one thread).
//   - Sort. A row's entries are ordered by key |d| (0: no point) with a
//     stable LSD radix sort, two passes of 6 bits, each a per-tile histogram,
//     scans and a scatter: no atomics, so the order is deterministic.
//   - Chunks. Bucket d's sorted list is cut into chunks of at most kMsmChunk
//     entries (an empty bucket has one empty chunk); one thread sums one
//     chunk. Chunks are numbered in bucket order, a bucket's contiguously.
//   - Reduce. Σ_d d·S_d is the running sum over the chunk sequence: walking
//     down, acc += chunk sum, and at each bucket's first chunk sum += acc.
//     The sequence is cut into segments of kMsmSegChunks chunks, one thread
//     each: a segment's own running sum plus N·acc, where acc is its chunk
//     total and N the number of buckets that start below it (12-bit
//     double-and-add). No bucket, however long, is walked by one thread.
//   - Combine, finish: the segments' results summed in two levels.
//   - Affine: every row of the batch with one inversion (Montgomery's trick).
//
// The steps, in plan_msm's order (thread ids in brackets):
//   digits          (row, i)        signed digits of scalar i
//   count     ×2    (row, tile)     tile histogram of one 6-bit key digit
//   bin_scan  ×2    (row, bin)      exclusive sums over tiles; bin totals
//   base_scan ×2    (row)           exclusive sums over the 64 bin totals
//   scatter   ×2    (row, tile)     entries to their places, stably
//   bounds          (row, key)      first sorted place of each key
//   chunk_scan      (row)           first chunk of each bucket
//   bucket          (row, chunk)    chunk sum: ≤ kMsmChunk mixed additions
//   reduce          (row, segment)  ≤ kMsmSegChunks chunks, then N·acc
//   combine         (row, group)    ≤ kMsmGroup segment results
//   finish          (row)           the row's group sums
//   affine          (batch)         results to affine, one inversion
// Host code loops over thread ids (HostMsmExec); device kernels call the same
// functions, so the host tests check what the kernels run.
#pragma once

#include "fr.cuh"
#include "g1.cuh"

namespace zgda {

constexpr uint32_t kMsmC = 12;                       // window width in bits
constexpr uint32_t kMsmWindows = 22;                 // ⌈(255 + 1 carry bit) / c⌉
constexpr uint32_t kMsmBuckets = 1u << (kMsmC - 1);  // digits 1 … 2^(c−1)
constexpr uint32_t kMsmStarts = kMsmBuckets + 2;     // sorted starts of keys 0 … B + 1
constexpr uint32_t kMsmRadixBits = 6;                // key bits per sort pass
constexpr uint32_t kMsmRadix = 1u << kMsmRadixBits;
constexpr uint32_t kMsmPasses = 2;
constexpr uint32_t kMsmTile = 256;       // entries per count / scatter thread
constexpr uint32_t kMsmChunk = 32;       // points per bucket thread, at most
constexpr uint32_t kMsmSegChunks = 16;   // chunk sums per reduce thread
constexpr uint32_t kMsmGroup = 16;       // segment results per combine thread
constexpr uint32_t kMsmIndexBits = 12;   // bits of a segment's N (≤ B)
static_assert(kMsmWindows * kMsmC >= 256, "signed digits need a spare bit above Fr's 255");
static_assert(kMsmPasses * kMsmRadixBits >= kMsmC, "keys 0 … 2^(c−1) need c bits");
static_assert(kMsmBuckets < 1u << kMsmIndexBits, "N·acc covers N = B");
static_assert(kMsmBuckets % 16 == 0 && kMsmRadix % 16 == 0, "scans read 16 counters at a time");

// msm_point is one result: x, y as gnark-crypto's fp.Element (Montgomery),
// infinity = 1 for the point at infinity (then x = y = 0). 104 bytes; the C
// ABI's zgda_msm_point.
struct msm_point {
  fp_t x, y;
  uint64_t infinity;
};
static_assert(sizeof(msm_point) == 104, "zgda_msm_point layout");

// Per-row sizes over n bases: entries E = w·n; sort tiles ⌈E / kMsmTile⌉;
// chunk slots M = B + ⌈E / kMsmChunk⌉ (Σ_d max(1, ⌈len_d / kMsmChunk⌉) ≤
// B + E / kMsmChunk); segments ⌈M / kMsmSegChunks⌉; groups of segments.
ZGDA_HD uint32_t msm_entries(uint32_t n) { return kMsmWindows * n; }
ZGDA_HD uint32_t msm_tiles(uint32_t n) { return (msm_entries(n) + kMsmTile - 1) / kMsmTile; }
ZGDA_HD uint32_t msm_chunks(uint32_t n) { return kMsmBuckets + (msm_entries(n) + kMsmChunk - 1) / kMsmChunk; }
ZGDA_HD uint32_t msm_segments(uint32_t n) { return (msm_chunks(n) + kMsmSegChunks - 1) / kMsmSegChunks; }
ZGDA_HD uint32_t msm_groups(uint32_t n) { return (msm_segments(n) + kMsmGroup - 1) / kMsmGroup; }

// MsmBatch is the working memory of one batch of `rows` MSMs over n bases
// (device pointers on the GPU). Sizes, in elements, with the per-row sizes
// above (R = kMsmRadix):
//   table   w·n  (the fixed table, shared by all batches)
//   scalars rows·n (fr.Element, Montgomery form)
//   digits, tmp, list   rows·E
//   hist rows·R·tiles;  bin_base rows·R;  start rows·(B + 2);  cstart rows·(B + 1)
//   chunks rows·M;  seg rows·segments;  grp rows·groups;  res, out rows
// Every step writes all it later reads: no buffer needs clearing.
struct MsmBatch {
  uint32_t n;
  uint32_t rows;
  const g1_affine* table;
  const fr_t* scalars;
  int16_t* digits;     // [row][k·n + i] signed digit
  uint32_t* hist;      // [row][bin][tile] counts, then their exclusive sums
  uint32_t* bin_base;  // [row][bin] bin totals, then where each bin starts
  uint32_t* tmp;       // [row][·] entries sorted by the key's low 6 bits
  uint32_t* list;      // [row][·] entries sorted by key: (k·n + i) << 1 | negative
  uint32_t* start;     // [row][key] first place of key in list; [B + 1] = E
  uint32_t* cstart;    // [row][d − 1] first chunk of bucket d; [B] = chunks used
  g1_jac* chunks;      // [row][chunk] chunk sums
  g1_jac* seg;         // [row][segment] segment results
  g1_jac* grp;         // [row][group] sums of kMsmGroup segment results
  g1_jac* res;         // [row] the MSM, Jacobian
  msm_point* out;      // [row] the MSM, affine
};

// --- work counter (host checks only) ------------------------------------------

// The bucket-phase point operations (additions and doublings) per step: the
// host checks build with ZGDA_MSM_WORK and compare equal with random scalars.
enum MsmPhase : uint32_t { kMsmPhaseBucket, kMsmPhaseReduce, kMsmPhaseCombine, kMsmPhaseFinish, kMsmPhases };

#ifdef ZGDA_MSM_WORK
// MsmWork: ops[p] is the total over phase p's threads, chain[p] the most one
// thread did (the phase's critical path, in point operations).
struct MsmWork {
  uint64_t ops[kMsmPhases];
  uint64_t chain[kMsmPhases];
};
inline MsmWork msm_work{};  // host only; the caller serialises runs
inline void msm_count(uint32_t phase, uint32_t ops) {
  msm_work.ops[phase] += ops;
  if (ops > msm_work.chain[phase]) msm_work.chain[phase] = ops;
}
#else
ZGDA_HD void msm_count(uint32_t, uint32_t) {}
#endif

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

// msm_digits_step (t < rows·n): the signed digits of scalar t (row t / n).
ZGDA_HD void msm_digits_step(const MsmBatch& b, uint32_t t) {
  uint32_t row = t / b.n, i = t % b.n;
  fr_t s = from_mont<FrParams>(b.scalars[t]);
  int16_t* dig = b.digits + (uint64_t)row * msm_entries(b.n) + i;
  int32_t carry = 0;
  // Unrolled so that msm_window's limb index is a constant: s stays in
  // registers instead of local memory.
ZGDA_UNROLL
  for (uint32_t k = 0; k < kMsmWindows; k++) {
    int32_t d = (int32_t)msm_window(s.l, k * kMsmC) + carry;
    carry = d > (int32_t)kMsmBuckets;
    d -= carry << kMsmC;
    dig[(uint64_t)k * b.n] = (int16_t)d;
  }
}

ZGDA_HD uint32_t msm_abs(int32_t d) { return (uint32_t)(d < 0 ? -d : d); }

// msm_sort_item returns entry pos of sort pass `pass`'s input in the row at
// base (digits in entry order for pass 0, tmp for pass 1) as its list value
// e << 1 | negative, and sets *key = |d|.
ZGDA_HD uint32_t msm_sort_item(const MsmBatch& b, uint32_t pass, uint64_t base, uint32_t pos, uint32_t* key) {
  int32_t d;
  uint32_t v;
  if (pass == 0) {
    d = b.digits[base + pos];
    v = pos << 1 | (uint32_t)(d < 0);
  } else {
    v = b.tmp[base + pos];
    d = b.digits[base + (v >> 1)];
  }
  *key = msm_abs(d);
  return v;
}

// msm_count_step (t < rows·tiles): the histogram of one tile's radix digits
// (bits [6·pass, 6·pass + 6) of the key), kept in registers.
ZGDA_HD void msm_count_step(const MsmBatch& b, uint32_t pass, uint32_t t) {
  const uint32_t tiles = msm_tiles(b.n), e_n = msm_entries(b.n);
  uint32_t row = t / tiles, tile = t % tiles;
  uint64_t base = (uint64_t)row * e_n;
  uint32_t lo = tile * kMsmTile, hi = lo + kMsmTile < e_n ? lo + kMsmTile : e_n;
  uint32_t shift = pass * kMsmRadixBits;
  uint32_t c[kMsmRadix];
ZGDA_UNROLL
  for (uint32_t j = 0; j < kMsmRadix; j++) c[j] = 0;
  for (uint32_t pos = lo; pos < hi; pos++) {
    uint32_t key;
    msm_sort_item(b, pass, base, pos, &key);
    uint32_t bin = (key >> shift) & (kMsmRadix - 1);
ZGDA_UNROLL
    for (uint32_t j = 0; j < kMsmRadix; j++) c[j] += bin == j;
  }
  uint32_t* h = b.hist + (uint64_t)row * kMsmRadix * tiles + tile;
ZGDA_UNROLL
  for (uint32_t j = 0; j < kMsmRadix; j++) h[(uint64_t)j * tiles] = c[j];
}

// msm_scan16 replaces v[0 … m) by its exclusive prefix sums (from sum) and
// returns the total. Sixteen loads in flight at a time: a GPU thread does
// not run ahead of a pending load by itself.
ZGDA_HD uint32_t msm_scan16(uint32_t* v, uint32_t m, uint32_t sum) {
  uint32_t j0 = 0;
  for (; j0 + 16 <= m; j0 += 16) {
    uint32_t c[16];
ZGDA_UNROLL
    for (uint32_t j = 0; j < 16; j++) c[j] = v[j0 + j];
ZGDA_UNROLL
    for (uint32_t j = 0; j < 16; j++) {
      v[j0 + j] = sum;
      sum += c[j];
    }
  }
  for (; j0 < m; j0++) {
    uint32_t c = v[j0];
    v[j0] = sum;
    sum += c;
  }
  return sum;
}

// msm_bin_scan_step (t < rows·R): bin t's counts over the tiles become
// exclusive sums; bin_base[t] = the bin's total.
ZGDA_HD void msm_bin_scan_step(const MsmBatch& b, uint32_t t) {
  const uint32_t tiles = msm_tiles(b.n);
  b.bin_base[t] = msm_scan16(b.hist + (uint64_t)t * tiles, tiles, 0);
}

// msm_base_scan_step (t < rows): row t's bin totals become bin starts.
ZGDA_HD void msm_base_scan_step(const MsmBatch& b, uint32_t t) {
  msm_scan16(b.bin_base + (uint64_t)t * kMsmRadix, kMsmRadix, 0);
}

// msm_scatter_step (t < rows·tiles): the tile's entries, in order, to
// bin start + earlier tiles' count + rank in the tile (a stable pass):
// pass 0 into tmp, pass 1 into list.
ZGDA_HD void msm_scatter_step(const MsmBatch& b, uint32_t pass, uint32_t t) {
  const uint32_t tiles = msm_tiles(b.n), e_n = msm_entries(b.n);
  uint32_t row = t / tiles, tile = t % tiles;
  uint64_t base = (uint64_t)row * e_n;
  uint32_t lo = tile * kMsmTile, hi = lo + kMsmTile < e_n ? lo + kMsmTile : e_n;
  uint32_t shift = pass * kMsmRadixBits;
  const uint32_t* h = b.hist + (uint64_t)row * kMsmRadix * tiles + tile;
  const uint32_t* bb = b.bin_base + (uint64_t)row * kMsmRadix;
  uint32_t off[kMsmRadix];
ZGDA_UNROLL
  for (uint32_t j = 0; j < kMsmRadix; j++) off[j] = bb[j] + h[(uint64_t)j * tiles];
  uint32_t* dst = (pass == 0 ? b.tmp : b.list) + base;
  for (uint32_t pos = lo; pos < hi; pos++) {
    uint32_t key;
    uint32_t v = msm_sort_item(b, pass, base, pos, &key);
    uint32_t bin = (key >> shift) & (kMsmRadix - 1), p = 0;
ZGDA_UNROLL
    for (uint32_t j = 0; j < kMsmRadix; j++) {
      p = bin == j ? off[j] : p;
      off[j] += bin == j;
    }
    dst[p] = v;
  }
}

// msm_bounds_step (t < rows·(B + 2)): start[row][key] = the first place in
// the row's sorted list with a key ≥ key (binary search; key B + 1 gives E).
ZGDA_HD void msm_bounds_step(const MsmBatch& b, uint32_t t) {
  const uint32_t e_n = msm_entries(b.n);
  uint32_t row = t / kMsmStarts, key = t % kMsmStarts;
  uint64_t base = (uint64_t)row * e_n;
  uint32_t lo = 0, hi = e_n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (msm_abs(b.digits[base + (b.list[base + mid] >> 1)]) < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  b.start[t] = lo;
}

// msm_chunk_scan_step (t < rows): cstart[row][d − 1] = Σ over buckets
// below d of max(1, ⌈len / kMsmChunk⌉); cstart[row][B] = chunks used.
ZGDA_HD void msm_chunk_scan_step(const MsmBatch& b, uint32_t t) {
  const uint32_t* st = b.start + (uint64_t)t * kMsmStarts + 1;  // bucket j: [st[j], st[j + 1])
  uint32_t* cs = b.cstart + (uint64_t)t * (kMsmBuckets + 1);
  uint32_t sum = 0;
  for (uint32_t j0 = 0; j0 < kMsmBuckets; j0 += 16) {
    uint32_t c[17];
ZGDA_UNROLL
    for (uint32_t j = 0; j < 17; j++) c[j] = st[j0 + j];
ZGDA_UNROLL
    for (uint32_t j = 0; j < 16; j++) {
      uint32_t len = c[j + 1] - c[j];
      cs[j0 + j] = sum;
      sum += len == 0 ? 1 : (len + kMsmChunk - 1) / kMsmChunk;
    }
  }
  cs[kMsmBuckets] = sum;
}

// msm_chunk_bucket returns the bucket (0-based) owning chunk c: the largest
// j < B with cs[j] ≤ c (cs strictly increases from cs[0] = 0).
ZGDA_HD uint32_t msm_chunk_bucket(const uint32_t* cs, uint32_t c) {
  uint32_t lo = 0;
ZGDA_UNROLL
  for (uint32_t step = kMsmBuckets / 2; step > 0; step >>= 1)
    if (cs[lo + step] <= c) lo += step;
  return lo;
}

// msm_bucket_step (t < rows·M): the sum of chunk t's ≤ kMsmChunk points
// (±table[e] for its list values), or nothing past the row's chunks.
ZGDA_HD void msm_bucket_step(const MsmBatch& b, uint32_t t) {
  const uint32_t m_ch = msm_chunks(b.n);
  uint32_t row = t / m_ch, c = t % m_ch;
  const uint32_t* cs = b.cstart + (uint64_t)row * (kMsmBuckets + 1);
  if (c >= cs[kMsmBuckets]) return;
  uint32_t j = msm_chunk_bucket(cs, c);
  const uint32_t* st = b.start + (uint64_t)row * kMsmStarts + 1;
  uint32_t lo = st[j] + (c - cs[j]) * kMsmChunk, end = st[j + 1];
  uint32_t hi = lo + kMsmChunk < end ? lo + kMsmChunk : end;
  const uint32_t* list = b.list + (uint64_t)row * msm_entries(b.n);
  g1_jac s = g1_jac_inf();
  uint32_t ops = 0;
  for (uint32_t q = lo; q < hi; q++) {
    uint32_t v = list[q];
    g1_affine p = b.table[v >> 1];
    if (v & 1) p.y = fp_neg(p.y);
    s = g1_add_mixed(s, p);
    ops++;
  }
  b.chunks[t] = s;
  msm_count(kMsmPhaseBucket, ops);
}

// msm_reduce_step (t < rows·segments): segment g holds chunks [lo, hi) of
// the row. Walking down: acc += chunk, and at a bucket's first chunk
// lsum += acc; then result = lsum + N·acc, N the buckets starting below lo.
// Σ_g result_g = Σ_d d·S_d (see the file comment).
ZGDA_HD void msm_reduce_step(const MsmBatch& b, uint32_t t) {
  const uint32_t segs = msm_segments(b.n);
  uint32_t row = t / segs, g = t % segs;
  const uint32_t* cs = b.cstart + (uint64_t)row * (kMsmBuckets + 1);
  uint32_t nch = cs[kMsmBuckets], lo = g * kMsmSegChunks;
  g1_jac r = g1_jac_inf();
  uint32_t ops = 0;
  if (lo < nch) {
    uint32_t hi = lo + kMsmSegChunks < nch ? lo + kMsmSegChunks : nch;
    const g1_jac* ch = b.chunks + (uint64_t)row * msm_chunks(b.n);
    int32_t j = (int32_t)msm_chunk_bucket(cs, hi - 1);  // bucket of chunk c, below
    g1_jac acc = g1_jac_inf(), lsum = g1_jac_inf();
    for (uint32_t c = hi; c-- > lo;) {
      acc = g1_add(acc, ch[c]);
      ops++;
      if (c == cs[j]) {  // every bucket owns a chunk: c − 1 is bucket j − 1's
        lsum = g1_add(lsum, acc);
        ops++;
        j--;
      }
    }
    uint32_t nb = (uint32_t)(j + 1);  // buckets whose first chunk is below lo
    bool on = false;
    for (uint32_t i = kMsmIndexBits; i-- > 0;) {
      if (on) {
        r = g1_double(r);
        ops++;
      }
      if ((nb >> i) & 1) {
        r = on ? g1_add(r, acc) : acc;
        ops += on;
        on = true;
      }
    }
    r = g1_add(r, lsum);
    ops++;
  }
  b.seg[t] = r;
  msm_count(kMsmPhaseReduce, ops);
}

// msm_combine_step (t < rows·groups): the sum of ≤ kMsmGroup segment results.
ZGDA_HD void msm_combine_step(const MsmBatch& b, uint32_t t) {
  const uint32_t segs = msm_segments(b.n), groups = msm_groups(b.n);
  uint32_t row = t / groups, lo = t % groups * kMsmGroup;
  uint32_t hi = lo + kMsmGroup < segs ? lo + kMsmGroup : segs;
  const g1_jac* s = b.seg + (uint64_t)row * segs;
  g1_jac r = g1_jac_inf();
  for (uint32_t g = lo; g < hi; g++) r = g1_add(r, s[g]);
  b.grp[t] = r;
  msm_count(kMsmPhaseCombine, hi - lo);
}

// msm_finish_step (t < rows): row t's MSM, the sum of its groups.
ZGDA_HD void msm_finish_step(const MsmBatch& b, uint32_t t) {
  const uint32_t groups = msm_groups(b.n);
  const g1_jac* s = b.grp + (uint64_t)t * groups;
  g1_jac r = g1_jac_inf();
  for (uint32_t h = 0; h < groups; h++) r = g1_add(r, s[h]);
  b.res[t] = r;
  msm_count(kMsmPhaseFinish, groups);
}

// msm_affine_step (t < 1): every row's result to affine with one inversion
// (Montgomery's trick); the prefix products of the non-zero Z live in
// out[·].x until they are overwritten.
ZGDA_HD void msm_affine_step(const MsmBatch& b, uint32_t) {
  fp_t acc = fp_t::one();
  for (uint32_t r = 0; r < b.rows; r++) {
    const fp_t& z = b.res[r].z;
    if (!z.is_zero()) acc = fp_mul(acc, z);
    b.out[r].x = acc;
  }
  fp_t inv = fp_inverse(acc);
  for (uint32_t r = b.rows; r-- > 0;) {
    const g1_jac& p = b.res[r];
    msm_point& o = b.out[r];
    if (p.z.is_zero()) {
      o.x = fp_t::zero();
      o.y = fp_t::zero();
      o.infinity = 1;
      continue;
    }
    fp_t prev = r > 0 ? b.out[r - 1].x : fp_t::one();
    fp_t zi = fp_mul(inv, prev);
    inv = fp_mul(inv, p.z);
    fp_t zi2 = fp_sqr(zi);
    o.x = fp_mul(p.x, zi2);
    o.y = fp_mul(p.y, fp_mul(zi2, zi));
    o.infinity = 0;
  }
}

// Thread counts of the steps.
ZGDA_HD uint32_t msm_scalar_threads(const MsmBatch& b) { return b.rows * b.n; }
ZGDA_HD uint32_t msm_tile_threads(const MsmBatch& b) { return b.rows * msm_tiles(b.n); }
ZGDA_HD uint32_t msm_bin_threads(const MsmBatch& b) { return b.rows * kMsmRadix; }
ZGDA_HD uint32_t msm_start_threads(const MsmBatch& b) { return b.rows * kMsmStarts; }
ZGDA_HD uint32_t msm_chunk_threads(const MsmBatch& b) { return b.rows * msm_chunks(b.n); }
ZGDA_HD uint32_t msm_segment_threads(const MsmBatch& b) { return b.rows * msm_segments(b.n); }
ZGDA_HD uint32_t msm_group_threads(const MsmBatch& b) { return b.rows * msm_groups(b.n); }

// Exec runs each step over its thread ids (host loop or kernel launch):
//   void digits(const MsmBatch&);  void count(const MsmBatch&, uint32_t pass);
//   void bin_scan(...);  void base_scan(...);  void scatter(..., pass);
//   void bounds(...);  void chunk_scan(...);  void bucket(...);  void reduce(...);
//   void combine(...);  void finish(...);  void affine(...);
template <class Exec>
void plan_msm(Exec& ex, const MsmBatch& b) {
  ex.digits(b);
  for (uint32_t pass = 0; pass < kMsmPasses; pass++) {
    ex.count(b, pass);
    ex.bin_scan(b);
    ex.base_scan(b);
    ex.scatter(b, pass);
  }
  ex.bounds(b);
  ex.chunk_scan(b);
  ex.bucket(b);
  ex.reduce(b);
  ex.combine(b);
  ex.finish(b);
  ex.affine(b);
}

// HostMsmExec runs every step on the calling thread.
struct HostMsmExec {
  void digits(const MsmBatch& b) {
    for (uint32_t t = 0; t < msm_scalar_threads(b); t++) msm_digits_step(b, t);
  }
  void count(const MsmBatch& b, uint32_t pass) {
    for (uint32_t t = 0; t < msm_tile_threads(b); t++) msm_count_step(b, pass, t);
  }
  void bin_scan(const MsmBatch& b) {
    for (uint32_t t = 0; t < msm_bin_threads(b); t++) msm_bin_scan_step(b, t);
  }
  void base_scan(const MsmBatch& b) {
    for (uint32_t t = 0; t < b.rows; t++) msm_base_scan_step(b, t);
  }
  void scatter(const MsmBatch& b, uint32_t pass) {
    for (uint32_t t = 0; t < msm_tile_threads(b); t++) msm_scatter_step(b, pass, t);
  }
  void bounds(const MsmBatch& b) {
    for (uint32_t t = 0; t < msm_start_threads(b); t++) msm_bounds_step(b, t);
  }
  void chunk_scan(const MsmBatch& b) {
    for (uint32_t t = 0; t < b.rows; t++) msm_chunk_scan_step(b, t);
  }
  void bucket(const MsmBatch& b) {
    for (uint32_t t = 0; t < msm_chunk_threads(b); t++) msm_bucket_step(b, t);
  }
  void reduce(const MsmBatch& b) {
    for (uint32_t t = 0; t < msm_segment_threads(b); t++) msm_reduce_step(b, t);
  }
  void combine(const MsmBatch& b) {
    for (uint32_t t = 0; t < msm_group_threads(b); t++) msm_combine_step(b, t);
  }
  void finish(const MsmBatch& b) {
    for (uint32_t t = 0; t < b.rows; t++) msm_finish_step(b, t);
  }
  void affine(const MsmBatch& b) { msm_affine_step(b, 0); }
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
