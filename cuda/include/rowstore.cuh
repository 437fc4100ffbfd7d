// rowstore.cuh: the library's resident rows (zgda_cuda.h, "Resident rows"):
// packed data rows that msm.cu's intake leaves on the device for a later
// zgda_cuda_encode_batch_resident in ntt.cu, addressed by 64-bit handles.
// Host code over the CUDA runtime (or the emulator); rows.cu implements it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "fr.cuh"

namespace zgda_rows {

// reserve takes n free rows of ZGDA_ROW elements on device: handles[i] and
// rows[i] (device memory) name row i. ZGDA_ENOMEM when fewer than n are
// free (nothing is taken then); ZGDA_EINVAL when the store lives on
// another device.
int reserve(int device, int n, unsigned long long* handles, zgda::fr_t** rows, char* err, size_t errlen);

// lookup maps n handles, each held, to their rows on device; ZGDA_EINVAL
// names the first that is not (released, never issued, another device).
int lookup(int device, const unsigned long long* handles, int n, const zgda::fr_t** rows, char* err, size_t errlen);

// release frees the rows of the n handles that are held; others are ignored.
void release(const unsigned long long* handles, int n);

}  // namespace zgda_rows
