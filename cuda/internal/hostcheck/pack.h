// C ABI of pack.cc: include/pack.cuh run on the host.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// hc_pack runs pack_step over rows rows of n elements: bytes holds
// rows·31·n payload bytes, out receives rows·n fr.Element.
void hc_pack(const void* bytes, uint32_t rows, uint32_t n, void* out);

#ifdef __cplusplus
}
#endif
