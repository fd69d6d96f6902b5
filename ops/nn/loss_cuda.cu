// CUDA kernels of sigmoid_cross_entropy (f32). Deterministic: one block per row sums its classes
// with a fixed-order block reduction, then a single thread adds the row sums in row order.
#include "engine/cuda_context.h"
#include "ops/nn/nn_kernels.h"

namespace y8m::ops::cuda {

namespace {

constexpr int kBlock = 256;
using engine::cuda::grid_for;

__global__ void row_sums_kernel(const float* __restrict__ p, const float* __restrict__ y, int64_t c,
                                float eps, float* row_sums) {
  const int64_t base = static_cast<int64_t>(blockIdx.x) * c;
  float s = 0.f;
  for (int64_t j = threadIdx.x; j < c; j += kBlock) {
    const float pj = p[base + j], yj = y[base + j];
    s += -(yj * logf(pj + eps) + (1.f - yj) * logf(1.f - pj + eps));
  }
  s = block_sum<kBlock>(s);
  if (threadIdx.x == 0) row_sums[blockIdx.x] = s;
}

__global__ void batch_mean_kernel(const float* row_sums, int64_t b, float* loss) {
  float s = 0.f;
  for (int64_t r = 0; r < b; ++r) s += row_sums[r];
  *loss = s / static_cast<float>(b);
}

__global__ void backward_kernel(const float* __restrict__ p, const float* __restrict__ y,
                                const float* __restrict__ g, int64_t n, float inv_b, float eps,
                                float* __restrict__ dp) {
  const float s = -*g * inv_b;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kBlock + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * kBlock)
    dp[i] = s * (y[i] / (p[i] + eps) - (1.f - y[i]) / (1.f - p[i] + eps));
}

}  // namespace

void sigmoid_cross_entropy_forward(const float* p, const float* y, int64_t b, int64_t c, float eps,
                                   float* loss, float* row_sums, cudaStream_t st) {
  row_sums_kernel<<<static_cast<unsigned>(b), kBlock, 0, st>>>(p, y, c, eps, row_sums);
  Y8M_CUDA_LAUNCH_CHECK("sigmoid_cross_entropy_rows");
  batch_mean_kernel<<<1, 1, 0, st>>>(row_sums, b, loss);
  Y8M_CUDA_LAUNCH_CHECK("sigmoid_cross_entropy_mean");
}

void sigmoid_cross_entropy_backward(const float* p, const float* y, const float* g, int64_t b,
                                    int64_t c, float eps, float* dp, cudaStream_t st) {
  const int64_t n = b * c;
  if (n == 0) return;
  backward_kernel<<<grid_for(n, kBlock), kBlock, 0, st>>>(p, y, g, n, 1.f / static_cast<float>(b),
                                                          eps, dp);
  Y8M_CUDA_LAUNCH_CHECK("sigmoid_cross_entropy_backward");
}

}  // namespace y8m::ops::cuda
