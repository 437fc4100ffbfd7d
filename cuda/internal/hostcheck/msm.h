// C ABI of msm.cc: include/msm.cuh run on the host. Points are gnark-crypto
// G1Affine (96 bytes), scalars fr.Element (32 bytes), results zgda_msm_point
// (104 bytes: x, y, infinity flag).
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// hc_msm_work is msm.cuh's MsmWork: point operations per phase (bucket,
// reduce, combine, finish), in total and the most one thread did.
typedef struct {
  uint64_t ops[4];
  uint64_t chain[4];
} hc_msm_work;

// hc_msm_windows is the number of table entries per base.
unsigned hc_msm_windows(void);
// hc_msm_table fills table[0 .. windows·n) from n bases.
void hc_msm_table(const void* bases, uint32_t n, void* table);
// hc_msm_rows runs plan_msm over rows·n scalars (row-major) with the table;
// out receives rows results, work (if not NULL) the run's work counters.
void hc_msm_rows(const void* table, uint32_t n, const void* scalars, uint32_t rows, void* out, hc_msm_work* work);
// hc_msm_scalar_mul is the double-and-add reference s·P, in affine.
void hc_msm_scalar_mul(const void* p, const void* s, void* out);

#ifdef __cplusplus
}
#endif
