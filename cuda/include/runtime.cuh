// The CUDA runtime, or the host emulator (cuda/internal/emu) when a .cu
// file is compiled by a plain C++ compiler for the tests: kernels, thread
// ids and launches spelled once for both, then the status helpers.
#pragma once

#if defined(__CUDACC__)
#include <cuda_runtime.h>
#define ZGDA_GLOBAL __global__ void
#define ZGDA_TID() (blockIdx.x * blockDim.x + threadIdx.x)
// ZGDA_LAUNCH_GRID runs kernel over blocks × block threads on stream.
#define ZGDA_LAUNCH_GRID(kernel, blocks, block, stream, ...) \
  kernel<<<(blocks), (block), 0, stream>>>(__VA_ARGS__)
#else
#include "cuda_emu.h"
#define ZGDA_GLOBAL static void
#define ZGDA_TID() zgda_emu::thread_id
#define ZGDA_LAUNCH_GRID(kernel, blocks, block, stream, ...)                     \
  do {                                                                           \
    zgda_emu::check_stream(stream);                                              \
    for (uint32_t t_ = 0; t_ < (uint32_t)(blocks) * (uint32_t)(block); t_++) { \
      zgda_emu::thread_id = t_;                                                  \
      kernel(__VA_ARGS__);                                                       \
    }                                                                            \
  } while (0)
#endif

#include "status.cuh"
