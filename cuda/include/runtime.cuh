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
// Block kernels (shared memory, barriers): ZGDA_BLOCK_ID() names the block,
// ZGDA_SHARED its shared arrays, and a DeviceBlock runs one phase per
// thread then waits for the block (the Blk of ntt.cuh's fused plans).
#define ZGDA_SHARED __shared__
#define ZGDA_BLOCK_ID() blockIdx.x
#define ZGDA_LAUNCH_BLOCKS(kernel, blocks, block, stream, ...) ZGDA_LAUNCH_GRID(kernel, blocks, block, stream, __VA_ARGS__)
struct DeviceBlock {
  template <class T>
  __host__ __device__ __forceinline__ void each(const T& tile, uint32_t kind, uint32_t arg) {
#if defined(__CUDA_ARCH__)
    tile.phase(kind, arg, threadIdx.x);
    __syncthreads();
#endif
  }
};
#else
#include "cuda_emu.h"
#define ZGDA_GLOBAL static void
#define ZGDA_TID() zgda_emu::thread_id
// A launch is queued on its stream (the emulator's streams run at
// synchronization); the arguments are evaluated and copied at the launch,
// as CUDA copies them (a tuple, not a lambda's captures: those would read
// the launching object's members at run time, through a dangling this).
#define ZGDA_LAUNCH_GRID(kernel, blocks, block, stream, ...)                       \
  do {                                                                             \
    zgda_emu::check_stream(stream);                                                \
    const uint32_t n_ = (uint32_t)(blocks) * (uint32_t)(block);                    \
    auto a_ = std::make_tuple(__VA_ARGS__);                                        \
    zgda_emu::enqueue(stream, [n_, a_] {                                           \
      for (uint32_t t_ = 0; t_ < n_; t_++) {                                       \
        zgda_emu::thread_id = t_;                                                  \
        std::apply(kernel, a_);                                                    \
      }                                                                            \
    });                                                                            \
  } while (0)
// The emulator calls a block kernel once per block; inside, its phases loop
// over the block's threads (ntt.cuh's HostBlock) and shared arrays are the
// call's locals.
#define ZGDA_SHARED
#define ZGDA_BLOCK_ID() zgda_emu::block_id
#define ZGDA_LAUNCH_BLOCKS(kernel, blocks, block, stream, ...) \
  do {                                                       \
    zgda_emu::check_stream(stream);                          \
    const uint32_t n_ = (uint32_t)(blocks);                  \
    auto a_ = std::make_tuple(__VA_ARGS__);                  \
    zgda_emu::enqueue(stream, [n_, a_] {                     \
      for (uint32_t b_ = 0; b_ < n_; b_++) {                 \
        zgda_emu::block_id = b_;                             \
        std::apply(kernel, a_);                              \
      }                                                      \
    });                                                      \
  } while (0)
#endif

#include "status.cuh"
