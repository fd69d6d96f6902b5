// Kernel declarations of the nn family (batch_norm, sigmoid_cross_entropy, prepare_frames): CPU
// kernels (*_cpu.cpp, templated on float/double) and CUDA launchers (*_cuda.cu, f32 only). Raw
// pointers and sizes only; the op entries (*.cpp) check shapes and own the tensors.
//
// Batch norm works on x viewed as [n, c] (rows = every axis but the last). Per-channel vectors are
// [c].
#pragma once
#include "ops/ops_layer.h"

#include "ops/cuda_launcher.h"

#include <cstdint>

namespace y8m::ops {

// Moving-statistics update of a training step; `mean`/`var` null = no update.
//   moving <- moving - momentum * (moving - stat),  momentum = 1 - decay,
//   stat = batch mean, or biased batch variance * var_factor (Bessel n/(n-1) or 1).
template <class T>
struct BnMovingUpdate {
  T* mean = nullptr;
  T* var = nullptr;
  T momentum = 0;
  T var_factor = 1;
};

namespace cpu {
// Batch statistics (two passes, double accumulation): mean and invstd = 1/sqrt(var_b + eps); n
// >= 1.
template <class T>
void batch_norm_stats(const T* x, int64_t n, int64_t c, double eps, T* mean, T* invstd,
                      const BnMovingUpdate<T>& upd);
// invstd = 1/sqrt(moving_variance + eps) (inference).
template <class T>
void batch_norm_invstd(const T* var, int64_t c, double eps, T* invstd);
// y = (x - mean) * (invstd * gamma) + beta.
template <class T>
void batch_norm_apply(const T* x, int64_t n, int64_t c, const T* mean, const T* invstd,
                      const T* gamma, const T* beta, T* y);
// dbeta = sum_rows dy, dgamma = sum_rows dy * (x - mean) * invstd.
template <class T>
void batch_norm_backward_reduce(const T* x, const T* dy, int64_t n, int64_t c, const T* mean,
                                const T* invstd, T* dgamma, T* dbeta);
// training: dx = gamma * invstd * (dy - dbeta / n - xhat * dgamma / n); inference: dx = dy * gamma
// * invstd.
template <class T>
void batch_norm_backward_dx(const T* x, const T* dy, int64_t n, int64_t c, const T* mean,
                            const T* invstd, const T* gamma, const T* dgamma, const T* dbeta,
                            bool training, T* dx);

// loss = mean_b sum_c -[y log(p + eps) + (1 - y) log(1 - p + eps)]; b >= 1.
template <class T>
void sigmoid_cross_entropy_forward(const T* p, const T* y, int64_t b, int64_t c, T eps, T* loss);
// dp = -g * [y / (p + eps) - (1 - y) / (1 - p + eps)] / b, with g the scalar upstream gradient.
template <class T>
void sigmoid_cross_entropy_backward(const T* p, const T* y, const T* g, int64_t b, int64_t c, T eps,
                                    T* dp);

// Dequantize, zero the padding slots (t >= clamp(num_frames[b], 0, t_max)), L2-normalize each
// frame.
void prepare_frames(const uint8_t* q, const int32_t* num_frames, int64_t b, int64_t t_max,
                    int64_t f, float* out);
}  // namespace cpu

namespace cuda {
// `partials` is scratch of batch_norm_partials_size(n, c) floats (deterministic two-level
// reduction).
Y8M_CUDA_LAUNCHER(int64_t batch_norm_partials_size(int64_t n, int64_t c));
Y8M_CUDA_LAUNCHER(void batch_norm_stats(const float* x, int64_t n, int64_t c, float eps,
                                        float* mean, float* invstd,
                                        const BnMovingUpdate<float>& upd, float* partials,
                                        cudaStream_t st));
Y8M_CUDA_LAUNCHER(void batch_norm_invstd(const float* var, int64_t c, float eps, float* invstd,
                                         cudaStream_t st));
Y8M_CUDA_LAUNCHER(void batch_norm_apply(const float* x, int64_t n, int64_t c, const float* mean,
                                        const float* invstd, const float* gamma, const float* beta,
                                        float* y, cudaStream_t st));
// `partials` holds 2 * batch_norm_partials_size(n, c) floats.
Y8M_CUDA_LAUNCHER(void batch_norm_backward_reduce(const float* x, const float* dy, int64_t n,
                                                  int64_t c, const float* mean, const float* invstd,
                                                  float* dgamma, float* dbeta, float* partials,
                                                  cudaStream_t st));
Y8M_CUDA_LAUNCHER(void batch_norm_backward_dx(const float* x, const float* dy, int64_t n, int64_t c,
                                              const float* mean, const float* invstd,
                                              const float* gamma, const float* dgamma,
                                              const float* dbeta, bool training, float* dx,
                                              cudaStream_t st));

// `row_sums` is scratch of b floats.
Y8M_CUDA_LAUNCHER(void sigmoid_cross_entropy_forward(const float* p, const float* y, int64_t b,
                                                     int64_t c, float eps, float* loss,
                                                     float* row_sums, cudaStream_t st));
Y8M_CUDA_LAUNCHER(void sigmoid_cross_entropy_backward(const float* p, const float* y,
                                                      const float* g, int64_t b, int64_t c,
                                                      float eps, float* dp, cudaStream_t st));

Y8M_CUDA_LAUNCHER(void prepare_frames(const uint8_t* q, const int32_t* num_frames, int64_t b,
                                      int64_t t_max, int64_t f, float* out, cudaStream_t st));

#ifdef __CUDACC__
// Sum of `v` over a block of kBlock threads (a multiple of 32, at most 1024) in a fixed order (warp
// shuffles, then warp 0 over the warp sums): deterministic. Every thread gets the total.
template <int kBlock>
__device__ inline float block_sum(float v) {
  static_assert(kBlock % 32 == 0 && kBlock <= 1024, "block_sum: block must be whole warps");
  __shared__ float warp_sums[kBlock / 32];
  __shared__ float total;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < kBlock / 32 ? warp_sums[threadIdx.x] : 0.f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (threadIdx.x == 0) total = v;
  }
  __syncthreads();
  return total;
}
#endif
}  // namespace cuda

}  // namespace y8m::ops
