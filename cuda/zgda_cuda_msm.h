/* zgda_cuda_msm.h: the C ABI of libzgda_cuda.so's batched MSM, the KZG row
 * commitments of the codec (EIP-4844 blob_to_kzg_commitment over a
 * fixed list of G1 points, the trusted setup's Lagrange points).
 *
 * Scalars are BLS12-381 Fr in gnark-crypto's fr.Element layout (4
 * little-endian 64-bit limbs, Montgomery form); points are gnark's G1Affine
 * (x, y as fp.Element: 6 limbs, Montgomery form; infinity is (0, 0)). Every
 * call that can fail returns a ZGDA_* code (zgda_cuda.h) and writes a
 * NUL-terminated reason into err (errlen bytes, may be 0); nothing aborts. */
#ifndef ZGDA_CUDA_MSM_H
#define ZGDA_CUDA_MSM_H

#include <stddef.h>
#include <stdint.h>

#include "zgda_cuda.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change of this file. */
#define ZGDA_CUDA_MSM_ABI 2

#define ZGDA_MSM_MAX_POINTS 65536 /* bases per context */

/* One commitment: x, y in fp.Element layout; infinity = 1 for the point at
 * infinity (then x = y = 0), else 0. 104 bytes. */
typedef struct {
  uint64_t x[6];
  uint64_t y[6];
  uint64_t infinity;
} zgda_msm_point;

typedef struct zgda_cuda_msm_ctx zgda_cuda_msm_ctx;

/* zgda_cuda_msm_version returns ZGDA_CUDA_MSM_ABI of the library. */
int zgda_cuda_msm_version(void);

/* zgda_cuda_msm_open creates an MSM context on device over n affine points
 * (96 bytes each, read during the call only): it builds the fixed-base
 * window table on the device, allocates the reusable buffers and streams,
 * and runs a known-answer MSM against a host double-and-add. On success
 * *ctx is set; on failure it is NULL. */
int zgda_cuda_msm_open(int device, const void* points, int n, zgda_cuda_msm_ctx** ctx, char* err, size_t errlen);

/* zgda_cuda_msm_close frees everything ctx holds; ctx may be NULL. */
void zgda_cuda_msm_close(zgda_cuda_msm_ctx* ctx);

/* zgda_cuda_commit_rows: rows holds nrows pointers to n scalars each (n of
 * the context); out[j] receives Σ_i rows[j][i]·P_i (encoder.Committer's
 * CommitRows, for rows that are not blob bytes). Calls on one context
 * are serialised; pointers are not kept after the call. */
int zgda_cuda_commit_rows(zgda_cuda_msm_ctx* ctx, const void* const* rows, int nrows, zgda_msm_point* out, char* err,
                          size_t errlen);

/* zgda_msm_bytes is one row given as blob bytes (docs/spec.md §3.1
 * Packing): len ≤ 31·n bytes at data (NULL when len is 0). Element i of the
 * row is the big-endian integer of bytes [31i, 31i + 31), the bytes past len
 * taken as zero (a blob's part-filled last row). */
typedef struct {
  const void* data;
  size_t len;
} zgda_msm_bytes;

/* zgda_cuda_msm_commit_bytes is zgda_cuda_commit_rows over rows given as
 * bytes: the host copies each row's bytes into pinned memory, the device
 * packs them into scalars (fr.Element, Montgomery form) and commits, so
 * out[j] is the commitment of the packed rows[j]. Data is not kept after
 * the call. */
int zgda_cuda_msm_commit_bytes(zgda_cuda_msm_ctx* ctx, const zgda_msm_bytes* rows, int nrows, zgda_msm_point* out,
                               char* err, size_t errlen);

/* zgda_cuda_msm_commit_bytes_keep is zgda_cuda_msm_commit_bytes that also
 * keeps each packed row on the device (zgda_cuda.h, Resident rows):
 * handles[j] names rows[j]'s packed scalars. The context's n must be
 * ZGDA_ROW. ZGDA_ENOMEM when the store has fewer than nrows free rows; on
 * any failure no handle is held. Added without an ABI bump: package cuda
 * looks it up when first used. */
int zgda_cuda_msm_commit_bytes_keep(zgda_cuda_msm_ctx* ctx, const zgda_msm_bytes* rows, int nrows, zgda_msm_point* out,
                                    unsigned long long* handles, char* err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* ZGDA_CUDA_MSM_H */
