// Host wrapper over cuda/include/pack.cuh for the Go tests.
#include "pack.h"

#include "pack.cuh"

using namespace zgda;

extern "C" {

void hc_pack(const void* bytes, uint32_t rows, uint32_t n, void* out) {
  for (uint32_t t = 0; t < rows * n; t++) pack_step(static_cast<const uint8_t*>(bytes), static_cast<fr_t*>(out), n, t);
}

}  // extern "C"
