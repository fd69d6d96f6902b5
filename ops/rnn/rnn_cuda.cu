// CUDA kernels of the recurrent ops: one thread per (b, j) point of a step (rnn_kernels.h's shared
// formulas), grid-stride over B*H; one launch per step and kind, on the op's compute stream, so
// steps are ordered by the stream. column_sum gives each column one thread that sums the rows in
// order (deterministic, no atomics).
#include "engine/cuda_context.h"
#include "ops/rnn/rnn_kernels.h"

namespace y8m::ops::cuda {

namespace {
constexpr int kBlock = 256;
using engine::cuda::grid_for;

// The struct is passed by value (kernel parameter space).
__global__ void rnn_step_kernel(RnnKernel kind, RnnStep<float> a) {
  const int64_t n = a.batch * a.hidden;
  for (int64_t p = blockIdx.x * (int64_t)kBlock + threadIdx.x; p < n;
       p += (int64_t)gridDim.x * kBlock)
    rnn_point(kind, a, p / a.hidden, p % a.hidden);
}

__global__ void column_sum_kernel(const float* __restrict__ x, float* __restrict__ out,
                                  int64_t rows, int64_t cols) {
  for (int64_t c = blockIdx.x * (int64_t)kBlock + threadIdx.x; c < cols;
       c += (int64_t)gridDim.x * kBlock) {
    float s = 0.f;
    for (int64_t r = 0; r < rows; ++r) s += x[r * cols + c];
    out[c] = s;
  }
}

__global__ void add_into_kernel(float* __restrict__ y, const float* __restrict__ x, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)kBlock + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * kBlock)
    y[i] += x[i];
}
}  // namespace

void rnn_step(RnnKernel kind, const RnnStep<float>& a, cudaStream_t st) {
  const int64_t n = a.batch * a.hidden;
  if (n == 0) return;
  rnn_step_kernel<<<grid_for(n, kBlock), kBlock, 0, st>>>(kind, a);
  Y8M_CUDA_LAUNCH_CHECK("rnn_step");
}

void column_sum(const float* x, float* out, int64_t rows, int64_t cols, cudaStream_t st) {
  if (cols == 0) return;
  column_sum_kernel<<<grid_for(cols, kBlock), kBlock, 0, st>>>(x, out, rows, cols);
  Y8M_CUDA_LAUNCH_CHECK("column_sum");
}

void add_into(float* y, const float* x, int64_t n, cudaStream_t st) {
  if (n == 0) return;
  add_into_kernel<<<grid_for(n, kBlock), kBlock, 0, st>>>(y, x, n);
  Y8M_CUDA_LAUNCH_CHECK("add_into");
}

}  // namespace y8m::ops::cuda
