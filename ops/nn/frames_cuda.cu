// CUDA kernel of prepare_frames: one block per (b, t) frame. Valid frames dequantize with
// separately rounded __fmul_rn / __fadd_rn (bit-identical to the CPU table), sum squares with a
// fixed-order block reduction and scale; padding frames are written as zeros. F % 4 == 0 (1152)
// reads uchar4 and writes float4.
#include "engine/cuda_context.h"
#include "ops/nn/frames.h"
#include "ops/nn/nn_kernels.h"

#include <cstdint>

namespace y8m::ops::cuda {

namespace {

constexpr int kBlock = 128;

__device__ __forceinline__ float dequantize(unsigned v) {
  return __fadd_rn(__fmul_rn(static_cast<float>(v), kDequantScale), kDequantBias);
}

template <int kVec>
__device__ __forceinline__ void load_frame(const uint8_t* q, int64_t g, float (&x)[kVec]) {
  if constexpr (kVec == 4) {
    const uchar4 v = reinterpret_cast<const uchar4*>(q)[g];
    x[0] = dequantize(v.x);
    x[1] = dequantize(v.y);
    x[2] = dequantize(v.z);
    x[3] = dequantize(v.w);
  } else {
    x[0] = dequantize(q[g]);
  }
}

template <int kVec>
__device__ __forceinline__ void store_frame(float* o, int64_t g, const float (&x)[kVec]) {
  if constexpr (kVec == 4) {
    reinterpret_cast<float4*>(o)[g] = make_float4(x[0], x[1], x[2], x[3]);
  } else {
    o[g] = x[0];
  }
}

template <int kVec>
__global__ void prepare_frames_kernel(const uint8_t* __restrict__ q,
                                      const int32_t* __restrict__ num_frames, int64_t t_max,
                                      int64_t f, float* __restrict__ out) {
  const int64_t frame = blockIdx.x;
  const int64_t t = frame % t_max;
  const int64_t valid =
      min(max(static_cast<int64_t>(num_frames[frame / t_max]), int64_t{0}), t_max);
  const int64_t groups = f / kVec;
  float* o = out + frame * f;
  float x[kVec];
  if (t >=
      valid) {  // the whole block takes this branch: no __syncthreads is skipped by some threads
#pragma unroll
    for (int k = 0; k < kVec; ++k) x[k] = 0.f;
    for (int64_t g = threadIdx.x; g < groups; g += kBlock) store_frame<kVec>(o, g, x);
    return;
  }
  const uint8_t* qi = q + frame * f;
  float ss = 0.f;
  for (int64_t g = threadIdx.x; g < groups; g += kBlock) {
    load_frame<kVec>(qi, g, x);
#pragma unroll
    for (int k = 0; k < kVec; ++k) ss += x[k] * x[k];
  }
  const float inv = 1.f / sqrtf(fmaxf(block_sum<kBlock>(ss), 1e-12f));
  for (int64_t g = threadIdx.x; g < groups; g += kBlock) {
    load_frame<kVec>(qi, g, x);
#pragma unroll
    for (int k = 0; k < kVec; ++k) x[k] *= inv;
    store_frame<kVec>(o, g, x);
  }
}

}  // namespace

void prepare_frames(const uint8_t* q, const int32_t* num_frames, int64_t b, int64_t t_max,
                    int64_t f, float* out, cudaStream_t st) {
  const int64_t frames = b * t_max;
  if (frames == 0 || f == 0) return;
  const bool vec4 = f % 4 == 0 && reinterpret_cast<uintptr_t>(q) % 4 == 0 &&
                    reinterpret_cast<uintptr_t>(out) % 16 == 0;
  if (vec4) {
    prepare_frames_kernel<4>
        <<<static_cast<unsigned>(frames), kBlock, 0, st>>>(q, num_frames, t_max, f, out);
  } else {
    prepare_frames_kernel<1>
        <<<static_cast<unsigned>(frames), kBlock, 0, st>>>(q, num_frames, t_max, f, out);
  }
  Y8M_CUDA_LAUNCH_CHECK("prepare_frames");
}

}  // namespace y8m::ops::cuda
