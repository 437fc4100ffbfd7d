/* zgda_cuda.h: the C ABI of libzgda_cuda.so, loaded at run time by package
 * cuda (dlopen; the Go binary never links against CUDA).
 *
 * Field elements are 32 bytes: BLS12-381 Fr in gnark-crypto's fr.Element
 * layout (4 little-endian 64-bit limbs, Montgomery form). Rows are arrays of
 * ZGDA_ROW elements. Every call that can fail returns a ZGDA_* code and writes
 * a NUL-terminated reason into err (errlen bytes, may be 0); nothing aborts. */
#ifndef ZGDA_CUDA_H
#define ZGDA_CUDA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change of this file. */
#define ZGDA_CUDA_ABI 2

#define ZGDA_ROW 4096     /* elements per row (an EIP-4844 blob) */
#define ZGDA_EXT_ROW 8192 /* elements per EIP-7594 extended row */
#define ZGDA_MAX_K 256    /* largest number of data rows */

enum {
  ZGDA_OK = 0,
  ZGDA_ENODEV = 1, /* no usable CUDA device (driver message in err) */
  ZGDA_EINVAL = 2, /* bad argument */
  ZGDA_ECUDA = 3,  /* a CUDA call failed */
  ZGDA_ENOMEM = 4, /* device or pinned host memory exhausted */
};

typedef struct zgda_cuda_ctx zgda_cuda_ctx;

/* zgda_cuda_version returns ZGDA_CUDA_ABI of the library. */
int zgda_cuda_version(void);

/* zgda_cuda_init checks that device exists and can run the library's kernels;
 * on success info holds a description ("NVIDIA H100 … (sm_90, …)"). */
int zgda_cuda_init(int device, char* info, size_t infolen);

/* zgda_cuda_open creates a context on device: twiddles, device buffers,
 * pinned host buffers and streams, all reused by later calls. It runs a
 * small known-answer NTT on the device. NULL on failure (reason in err,
 * code in *code when code is not NULL). */
zgda_cuda_ctx* zgda_cuda_open(int device, int* code, char* err, size_t errlen);

/* zgda_cuda_close frees everything ctx holds; ctx may be NULL. */
void zgda_cuda_close(zgda_cuda_ctx* ctx);

/* zgda_cuda_extend_columns: data holds k row pointers (k a power of two
 * ≤ ZGDA_MAX_K), out 4k. Writes every out[j], j < 4k: the column
 * extension (row j holds the column polynomials at ω_4k^brp(j)); out[i] = data[i]
 * for i < k (skipped when the pointers are equal). Calls on one context are
 * serialised; pointers are not kept after the call. */
int zgda_cuda_extend_columns(zgda_cuda_ctx* ctx, const void* const* data, void* const* out, int k, char* err,
                             size_t errlen);

/* zgda_cuda_extend_rows: rows holds n pointers to ZGDA_ROW elements, out n
 * pointers to ZGDA_EXT_ROW elements; out[i] receives row i's EIP-7594
 * extension (first half the row itself; skipped when out[i] == rows[i]). */
int zgda_cuda_extend_rows(zgda_cuda_ctx* ctx, const void* const* rows, void* const* out, int n, char* err,
                          size_t errlen);

/* zgda_cuda_encode_batch encodes one batch matrix (docs/spec.md §3.3, §3.4)
 * in one call: data holds the d data rows (1 ≤ d ≤ ZGDA_MAX_K; the matrix
 * is padded with zero rows to K, the smallest power of two ≥ d, which are
 * not passed), commitments their d commitments as gnark-crypto G1Affine
 * (96 bytes each: x, y as fp.Element, Montgomery; (0, 0) the identity),
 * assumed valid. parity (3d row pointers) receives extended rows K …
 * K+3d−1, the parity dispersed rows; parity_commitments (3d × 48 bytes)
 * their commitments, derived from the data commitments in G1 on the
 * device, compressed as gnark-crypto's G1Affine.Bytes(). The derivation
 * runs on its own stream beside the rows' pipeline; every buffer is the
 * context's. Added without an ABI bump: package cuda looks it up when
 * first used. */
int zgda_cuda_encode_batch(zgda_cuda_ctx* ctx, const void* const* data, int d, const void* commitments,
                           void* const* parity, void* parity_commitments, char* err, size_t errlen);

/* Resident rows. zgda_cuda_msm_commit_bytes_keep (zgda_cuda_msm.h) leaves
 * the data rows it packs on the device, each named by a 64-bit handle
 * (never 0), in a store of the library's shared by all its contexts on
 * one device (ZGDA_RESIDENT_ROWS rows, 512 by default: two batches of
 * ZGDA_MAX_K). A handle is held until released; a released or unknown
 * handle is refused, never aliased to another row.
 *
 * zgda_cuda_encode_batch_resident is zgda_cuda_encode_batch with the d
 * data rows given as handles: the column extension reads them on the
 * device, so no data row is uploaded again. The rows stay held. */
int zgda_cuda_encode_batch_resident(zgda_cuda_ctx* ctx, const unsigned long long* rows, int d, const void* commitments,
                                    void* const* parity, void* parity_commitments, char* err, size_t errlen);

/* Pinned output sets. zgda_cuda_host_alloc allocates bytes of pinned host
 * memory (portable: every context of the process may copy into it) for
 * device's contexts; zgda_cuda_host_free frees it (NULL is ignored), after
 * every call writing into it has returned. The caller owns it meanwhile.
 *
 * zgda_cuda_encode_batch_pinned is zgda_cuda_encode_batch (data: d row
 * pointers, rows NULL) or zgda_cuda_encode_batch_resident (rows: d
 * handles, data NULL) whose parity rows are one block of 3d·ZGDA_ROW
 * elements, row after row, inside one zgda_cuda_host_alloc buffer: the
 * device copies the parity rows straight into it (strided copies, no
 * staging buffer, no host copy). A block not inside such a buffer is
 * refused (ZGDA_EINVAL). Calls on different contexts run at once, each on
 * its own streams and buffers. */
int zgda_cuda_host_alloc(int device, size_t bytes, void** p, char* err, size_t errlen);
void zgda_cuda_host_free(void* p);
int zgda_cuda_encode_batch_pinned(zgda_cuda_ctx* ctx, const void* const* data, const unsigned long long* rows, int d,
                                  const void* commitments, void* parity, void* parity_commitments, char* err,
                                  size_t errlen);

/* zgda_cuda_rows_release frees the rows of n handles; handles not held
 * are ignored. */
void zgda_cuda_rows_release(const unsigned long long* handles, int n);

#ifdef __cplusplus
}
#endif

#endif /* ZGDA_CUDA_H */
