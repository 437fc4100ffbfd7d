/* zgda_cuda_rs.h: the GF(2^8) Reed–Solomon part of libzgda_cuda.so's C ABI
 * (rs.cu), loaded by package cuda (rs.go) through dlsym.
 *
 * The library computes parity = M · data over GF(2^8) (polynomial 0x11d) for
 * an m×k coding matrix M given at open; it does not build matrices itself.
 * Package cuda passes klauspost/reedsolomon's, so the parity is byte for byte
 * klauspost's Encode. Shards are byte arrays of one length; a call splits
 * them into chunks of columns that flow through pinned host buffers and
 * device buffers on three streams, so host copies, transfers and kernels
 * overlap. Every call that can fail returns a ZGDA_* code (zgda_cuda.h) and
 * writes a NUL-terminated reason into err (errlen bytes, may be 0); nothing
 * aborts. Calls on one context are serialised. */
#ifndef ZGDA_CUDA_RS_H
#define ZGDA_CUDA_RS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZGDA_RS_MAX_SHARDS 256 /* k + m: GF(2^8) has 256 elements */

typedef struct zgda_rs_ctx zgda_rs_ctx;
typedef struct zgda_rs_dev zgda_rs_dev;

/* zgda_rs_open creates a context on device for k data and m parity shards
 * (k, m ≥ 1, k + m ≤ ZGDA_RS_MAX_SHARDS): it uploads matrix (m·k bytes,
 * row-major: parity j = Σ_i matrix[j·k + i]·data i), allocates buffers for
 * chunks of chunk_bytes data bytes (0: the default, 4 MiB; at least 16 bytes
 * per shard) and runs a small encode on the device against the host. NULL
 * on failure (reason in err, code in *code when code is not NULL). */
zgda_rs_ctx* zgda_rs_open(int device, int k, int m, const uint8_t* matrix, size_t chunk_bytes, int* code,
                          char* err, size_t errlen);

/* zgda_rs_close frees everything ctx holds; ctx may be NULL. */
void zgda_rs_close(zgda_rs_ctx* ctx);

/* zgda_rs_encode: data holds k pointers, parity m pointers, each to len ≥ 1
 * bytes of host memory. Writes every parity byte; reads data only. Pointers
 * are not kept after the call. */
int zgda_rs_encode(zgda_rs_ctx* ctx, const uint8_t* const* data, uint8_t* const* parity, size_t len, char* err,
                   size_t errlen);

/* zgda_rs_encode_device: the same on device memory, with no host transfer:
 * data shard i at d_data + i·stride, parity j at d_parity + j·stride, len
 * bytes each; stride ≥ len is a multiple of 16 and both pointers are 16-byte
 * aligned. Bytes between len and the next multiple of 16 may be overwritten
 * in parity rows. Returns once the parity is written. */
int zgda_rs_encode_device(zgda_rs_ctx* ctx, const void* d_data, void* d_parity, size_t len, size_t stride,
                          char* err, size_t errlen);

/* Device-resident shards for zgda_rs_encode_device (benchmarks, tests):
 * k + m rows of len bytes on ctx's device. Free them before closing ctx. */
zgda_rs_dev* zgda_rs_dev_alloc(zgda_rs_ctx* ctx, size_t len, int* code, char* err, size_t errlen);
void zgda_rs_dev_free(zgda_rs_dev* dev);
/* zgda_rs_dev_upload copies the k data shards (len bytes each) to dev. */
int zgda_rs_dev_upload(zgda_rs_ctx* ctx, zgda_rs_dev* dev, const uint8_t* const* data, char* err, size_t errlen);
/* zgda_rs_dev_encode computes dev's parity from its data, on the device only. */
int zgda_rs_dev_encode(zgda_rs_ctx* ctx, zgda_rs_dev* dev, char* err, size_t errlen);
/* zgda_rs_dev_download copies dev's m parity shards out. */
int zgda_rs_dev_download(zgda_rs_ctx* ctx, zgda_rs_dev* dev, uint8_t* const* parity, char* err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* ZGDA_CUDA_RS_H */
