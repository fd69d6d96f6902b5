// CUDA kernels of the element-wise family: grid-stride loops over the shared formulas
// (elementwise_math.h). sum_to runs one thread per output element in a fixed order: deterministic,
// and bit-identical to the CPU kernel.
#include "engine/cuda_context.h"
#include "ops/elementwise/elementwise_kernels.h"

namespace y8m::ops::cuda {

namespace {
constexpr int kBlock = 256;
using engine::cuda::grid_for;

__global__ void unary_forward_kernel(UnaryKind k, const float* x, float* y, int64_t n, float s) {
  for (int64_t i = blockIdx.x * (int64_t)kBlock + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * kBlock)
    y[i] = ops::unary_forward(k, x[i], s);
}

__global__ void unary_backward_kernel(UnaryKind k, const float* x, const float* y, const float* dy,
                                      float* dx, int64_t n, float s) {
  for (int64_t i = blockIdx.x * (int64_t)kBlock + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * kBlock)
    dx[i] = ops::unary_backward(k, x[i], y[i], dy[i], s);
}

__global__ void binary_same_kernel(BinaryKind k, const float* a, const float* b, float* out,
                                   int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)kBlock + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * kBlock)
    out[i] = ops::binary_forward(k, a[i], b[i]);
}

__global__ void binary_broadcast_kernel(BinaryKind k, const float* a, const float* b, float* out,
                                        int64_t n, BroadcastIndex bi) {
  for (int64_t i = blockIdx.x * (int64_t)kBlock + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * kBlock) {
    long long oa, ob;
    broadcast_offsets(bi, i, &oa, &ob);
    out[i] = ops::binary_forward(k, a[oa], b[ob]);
  }
}

__global__ void sum_to_kernel(const float* x, float* out, int64_t n_out, SumToIndex si) {
  for (int64_t j = blockIdx.x * (int64_t)kBlock + threadIdx.x; j < n_out;
       j += (int64_t)gridDim.x * kBlock)
    out[j] = sum_to_element(si, x, j);
}
}  // namespace

void unary_forward(UnaryKind k, const float* x, float* y, int64_t n, float s, cudaStream_t st) {
  if (n == 0) return;
  unary_forward_kernel<<<grid_for(n, kBlock), kBlock, 0, st>>>(k, x, y, n, s);
  Y8M_CUDA_LAUNCH_CHECK("unary_forward");
}

void unary_backward(UnaryKind k, const float* x, const float* y, const float* dy, float* dx,
                    int64_t n, float s, cudaStream_t st) {
  if (n == 0) return;
  unary_backward_kernel<<<grid_for(n, kBlock), kBlock, 0, st>>>(k, x, y, dy, dx, n, s);
  Y8M_CUDA_LAUNCH_CHECK("unary_backward");
}

void binary_forward(BinaryKind k, const float* a, const float* b, float* out, int64_t n,
                    const BroadcastIndex& bi, bool same_shape, cudaStream_t st) {
  if (n == 0) return;
  if (same_shape) {
    binary_same_kernel<<<grid_for(n, kBlock), kBlock, 0, st>>>(k, a, b, out, n);
  } else {
    binary_broadcast_kernel<<<grid_for(n, kBlock), kBlock, 0, st>>>(k, a, b, out, n, bi);
  }
  Y8M_CUDA_LAUNCH_CHECK("binary_forward");
}

void sum_to(const float* x, float* out, int64_t n_out, const SumToIndex& si, cudaStream_t st) {
  if (n_out == 0) return;
  sum_to_kernel<<<grid_for(n_out, kBlock), kBlock, 0, st>>>(x, out, n_out, si);
  Y8M_CUDA_LAUNCH_CHECK("sum_to");
}

}  // namespace y8m::ops::cuda
