// g1_probe.cu: device uses of headers no kernel includes yet (Fp, G1), so
// the clang device-code check compiles them for the GPU too.
#include "../../include/g1.cuh"

__global__ void zgda_probe_g1(zgda::g1_jac* p, const zgda::g1_affine* q, zgda::g1_affine* out) {
  unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
  zgda::g1_jac s = zgda::g1_add(zgda::g1_double(p[t]), p[t + 1]);
  out[t] = zgda::g1_to_affine(zgda::g1_add_mixed(s, q[t]));
}
