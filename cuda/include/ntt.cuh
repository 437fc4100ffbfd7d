// ntt.cuh: radix-2 NTT steps over Fr and the codec's extension plans.
//
// Conventions (EIP-4844/7594, as encoder/internal/rs): evaluations are stored
// in bit-reversed order of the roots of unity, coefficients in natural order.
// The inverse NTT is decimation in time on bit-reversed input (natural output),
// the forward NTT decimation in frequency on natural input (bit-reversed
// output), so no permutation pass is ever needed.
//
// Each *_step function does the work of one GPU thread (the row extension,
// one launch per stage). The column extension is fused: ColumnTile's phases
// are one block's work in shared memory, every stage of it in one launch.
// Host code loops over thread ids (and blocks); device kernels call the same
// functions, so the host tests check the index maths the kernels run.
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

// dit_butterfly and dif_butterfly are the two butterflies, over the
// elements at p0 and p1, with the twiddle ω_8192^e (its inverse for dit).
ZGDA_HD void dit_butterfly(fr_t* p0, fr_t* p1, const fr_t* tw, uint32_t e) {
  fr_t x = *p0;
  fr_t y = fr_mul(*p1, tw[(kTwN - e) & (kTwN - 1)]);
  *p0 = fr_add(x, y);
  *p1 = fr_sub(x, y);
}

// dit_step: one butterfly of inverse-NTT stage s (run s = 0 … log_n−1):
// (x, y) ← (x + ω^−e·y, x − ω^−e·y). The result is n times the coefficients.
ZGDA_HD void dit_step(fr_t* a, const Layout& L, uint32_t s, const fr_t* tw, uint32_t tid) {
  uint32_t v, j, i0, i1, e;
  split_tid(L, L.log_n - 1, tid, &v, &j);
  butterfly_pair(s, j, &i0, &i1, &e);
  dit_butterfly(a + layout_at(L, v, i0), a + layout_at(L, v, i1), tw, e);
}

ZGDA_HD void dif_butterfly(fr_t* p0, fr_t* p1, const fr_t* tw, uint32_t e) {
  fr_t x = *p0;
  fr_t y = *p1;
  *p0 = fr_add(x, y);
  *p1 = fr_mul(fr_sub(x, y), tw[e]);
}

// dif_step: one butterfly of forward-NTT stage s (run s = log_n−1 … 0):
// (x, y) ← (x + y, (x − y)·ω^e).
ZGDA_HD void dif_step(fr_t* a, const Layout& L, uint32_t s, const fr_t* tw, uint32_t tid) {
  uint32_t v, j, i0, i1, e;
  split_tid(L, L.log_n - 1, tid, &v, &j);
  butterfly_pair(s, j, &i0, &i1, &e);
  dif_butterfly(a + layout_at(L, v, i0), a + layout_at(L, v, i1), tw, e);
}

// scale_point is x · c · ω_8192^(i·step mod 8192), one element of a scale.
ZGDA_HD fr_t scale_point(const fr_t& x, uint32_t i, uint32_t step, const fr_t& c, const fr_t* tw) {
  return fr_mul(fr_mul(x, c), tw[(i * step) & (kTwN - 1)]);
}

// scale_step: dst[v][i] = src[v][i] · ω_8192^(i·step mod 8192) · c. With
// c = 1/n it finishes an inverse NTT; with step ≠ 0 it also moves the
// polynomial to a coset (coefficient i times h^i, h = ω_8192^step).
ZGDA_HD void scale_step(fr_t* dst, const Layout& Ld, const fr_t* src, const Layout& Ls, uint32_t step,
                        const fr_t& c, const fr_t* tw, uint32_t tid) {
  uint32_t v, i;
  split_tid(Ld, Ld.log_n, tid, &v, &i);
  dst[layout_at(Ld, v, i)] = scale_point(src[layout_at(Ls, v, i)], i, step, c, tw);
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

// Column extension (docs/spec.md §3.4) as one fused kernel: a block of
// kColThreads threads takes a tile of kColTile/K adjacent columns of the
// K = 2^log_k matrix rows into shared memory, runs the size-K inverse NTT
// there (all log_k stages), then per coset block b = 1 … 3 that holds a
// wanted row a scale by h_b^i/K and the size-K forward NTT, and writes the
// block's rows out. One launch per batch of columns, global memory touched
// once per input and once per output element. The rows K … 4K−1 are the
// extension; rows d … K−1 of the matrix are zero padding and are never read.
constexpr uint32_t kColTile = 512;               // elements per shared buffer (16 KiB)
constexpr uint32_t kColThreads = kColTile / 2;   // one butterfly per thread and stage
constexpr uint32_t kColPerThread = kColTile / kColThreads;

// ColumnBatch is what one launch extends: `width` adjacent columns (a
// multiple of kColTile/K) of rows 0 … d−1 of a K-row matrix, in (pitch
// width), and out (pitch width) receiving extended rows K … K+nout−1
// (nout ≤ 3K). inv_k = 1/K. With rows set (resident rows), the input is
// read from whole rows instead: row i's columns col0 … col0+width−1 are
// rows[i][col0 …], and in is unused.
struct ColumnBatch {
  const fr_t* in;
  fr_t* out;
  uint32_t log_k, d, width, nout;
  fr_t inv_k;
  const fr_t* const* rows;
  uint32_t col0;
};

// column_tiles is the number of blocks (tiles) one ColumnBatch launches.
ZGDA_HD uint32_t column_tiles(const ColumnBatch& p) { return (p.width << p.log_k) / kColTile; }

// column_tile_width is how many columns one tile holds (kColTile/K).
ZGDA_HD uint32_t column_tile_width(uint32_t log_k) { return kColTile >> log_k; }

// ColumnTile is block `tile` of a ColumnBatch: a and b are the block's two
// kColTile shared buffers, column c of the tile is a[c·K … c·K+K−1] (a
// butterfly's two elements are in one column). Its phases run on every
// thread of the block, a barrier between two phases; one thread's part of
// a phase is phase(kind, arg, t), a forceinline switch (a lambda's call
// operator would stay an out-of-line call with its captures in local
// memory on the device).
struct ColumnTile {
  enum Kind : uint32_t { kLoad, kInverse, kScale, kForward, kStore };
  fr_t* a;
  fr_t* b;
  const fr_t* in;
  const fr_t* const* rows;
  fr_t* out;
  const fr_t* tw;
  fr_t inv_k;
  uint32_t log_k, d, width, nout, c0, cols, half, col0;

  ZGDA_HD ColumnTile(fr_t* a_, fr_t* b_, const ColumnBatch& p, uint32_t tile, const fr_t* tw_)
      : a(a_), b(b_), in(p.in), rows(p.rows), out(p.out), tw(tw_), inv_k(p.inv_k), log_k(p.log_k), d(p.d),
        width(p.width), nout(p.nout), c0(tile * column_tile_width(p.log_k)), cols(column_tile_width(p.log_k)),
        half(p.log_k == 0 ? 0 : p.log_k - 1), col0(p.col0) {}

  // input is element (i, c) of the batch's data rows, i < d.
  ZGDA_HD fr_t input(uint32_t i, uint32_t c) const {
    return rows != nullptr ? rows[i][col0 + c0 + c] : in[(uint64_t)i * width + c0 + c];
  }

  // phase does thread t's part of one phase. Element e of the tile is row
  // e / cols, column e % cols in global memory, so neighbouring threads
  // load and store neighbouring columns.
  ZGDA_HD void phase(uint32_t kind, uint32_t arg, uint32_t t) const {
    const uint32_t k = 1u << log_k;
    switch (kind) {
      case kLoad:  // a ← rows 0 … d−1 of the tile, zero below
        for (uint32_t q = 0; q < kColPerThread; q++) {
          uint32_t e = t + q * kColThreads, i = e / cols, c = e % cols;
          a[c * k + i] = i < d ? input(i, c) : fr_t::zero();
        }
        break;
      case kInverse: {  // butterfly t of inverse stage arg, in a
        uint32_t c = t >> half, i0, i1, e;
        butterfly_pair(arg, t & ((1u << half) - 1), &i0, &i1, &e);
        dit_butterfly(a + c * k + i0, a + c * k + i1, tw, e);
        break;
      }
      case kScale:  // b ← a · h^i / K, h = ω_8192^arg
        for (uint32_t q = 0; q < kColPerThread; q++) {
          uint32_t e = t + q * kColThreads;
          b[e] = scale_point(a[e], e & (k - 1), arg, inv_k, tw);
        }
        break;
      case kForward: {  // butterfly t of forward stage arg, in b
        uint32_t c = t >> half, i0, i1, e;
        butterfly_pair(arg, t & ((1u << half) - 1), &i0, &i1, &e);
        dif_butterfly(b + c * k + i0, b + c * k + i1, tw, e);
        break;
      }
      case kStore:  // out rows arg … arg+K−1 (those < nout) ← b
        for (uint32_t q = 0; q < kColPerThread; q++) {
          uint32_t e = t + q * kColThreads, i = e / cols, c = e % cols;
          if (arg + i < nout) out[(uint64_t)(arg + i) * width + c0 + c] = b[c * k + i];
        }
        break;
    }
  }
};

// extend_columns_tile runs the phases of one tile. Blk runs a phase on
// every thread of the block and then waits for all of them:
//   template <class T> void each(const T& tile, uint32_t kind, uint32_t arg);
// (tile.phase(kind, arg, threadIdx.x) then __syncthreads() on the device,
// a loop over the threads on the host).
template <class Blk>
ZGDA_HD void extend_columns_tile(Blk& blk, fr_t* a, fr_t* b, const ColumnBatch& p, uint32_t tile, const fr_t* tw) {
  const ColumnTile ct(a, b, p, tile, tw);
  const uint32_t log_k = p.log_k, k = 1u << log_k;
  blk.each(ct, ColumnTile::kLoad, 0);
  for (uint32_t s = 0; s < log_k; s++) blk.each(ct, ColumnTile::kInverse, s);
  const uint32_t blocks = (p.nout + k - 1) >> log_k;  // coset blocks holding a wanted row
  for (uint32_t bi = 1; bi <= blocks; bi++) {
    // h_b = ω_4K^brp2(b) = ω_8192^(brp2(b)·8192/(4K)).
    blk.each(ct, ColumnTile::kScale, brp2(bi) << (kTwLog - 2 - log_k));
    for (uint32_t s = log_k; s-- > 0;) blk.each(ct, ColumnTile::kForward, s);
    blk.each(ct, ColumnTile::kStore, (bi - 1) << log_k);
  }
}

// HostBlock runs a block's phases on the calling thread, one thread id
// after another: the host checks' and the emulator's Blk. With reversed,
// the threads of a phase run last to first: a phase whose threads depend
// on each other (a missing barrier) gives other results, which the host
// checks look for.
struct HostBlock {
  bool reversed = false;
  template <class T>
  void each(const T& tile, uint32_t kind, uint32_t arg) {
    for (uint32_t i = 0; i < kColThreads; i++) tile.phase(kind, arg, reversed ? kColThreads - 1 - i : i);
  }
};

// host_extend_columns runs every tile of p on the host.
inline void host_extend_columns(const ColumnBatch& p, const fr_t* tw, bool reversed = false) {
  fr_t a[kColTile], b[kColTile];  // the block's shared memory
  HostBlock blk{reversed};
  for (uint32_t tile = 0; tile < column_tiles(p); tile++) extend_columns_tile(blk, a, b, p, tile, tw);
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
