// CUDA kernels of the fused gated mixture of experts: one thread per (b, c) row, grid-stride over
// the B*V rows, running the row formulas shared with the CPU (gated_moe_kernels.h). A row's M+1
// gate logits and M expert logits are contiguous, so a warp reads one contiguous span of each input
// per loop trip (its first load brings the lines in, the next hit L1); out / dout are fully
// coalesced. Rows are independent: no atomics, no cross-thread reduction, deterministic.
#include "engine/cuda_context.h"
#include "ops/fused/gated_moe_kernels.h"

namespace y8m::ops::cuda {

namespace {
constexpr int kBlock = 256;
using engine::cuda::grid_for;

template <int kM>
__global__ void gated_moe_forward_kernel(const float* __restrict__ gates,
                                         const float* __restrict__ experts, float* __restrict__ out,
                                         int64_t rows, int64_t m) {
  for (int64_t r = blockIdx.x * (int64_t)kBlock + threadIdx.x; r < rows;
       r += (int64_t)gridDim.x * kBlock)
    out[r] = moe_forward_at<float, kM>(gates + r * (m + 1), experts + r * m, m);
}

// dgates / dexperts may be null (gradient not wanted); the branch is uniform across the grid.
template <int kM>
__global__ void gated_moe_backward_kernel(const float* __restrict__ gates,
                                          const float* __restrict__ experts,
                                          const float* __restrict__ dout,
                                          float* __restrict__ dgates, float* __restrict__ dexperts,
                                          int64_t rows, int64_t m) {
  for (int64_t r = blockIdx.x * (int64_t)kBlock + threadIdx.x; r < rows;
       r += (int64_t)gridDim.x * kBlock) {
    moe_backward_at<float, kM>(gates + r * (m + 1), experts + r * m, dout[r], m,
                               dgates ? dgates + r * (m + 1) : nullptr,
                               dexperts ? dexperts + r * m : nullptr);
  }
}
}  // namespace

void gated_moe_forward(const float* gates, const float* experts, float* out, int64_t rows,
                       int64_t m, cudaStream_t st) {
  if (rows == 0) return;
  moe_dispatch_mixtures(m, [&](auto km) {
    constexpr int kM = decltype(km)::value;
    gated_moe_forward_kernel<kM>
        <<<grid_for(rows, kBlock), kBlock, 0, st>>>(gates, experts, out, rows, m);
  });
  Y8M_CUDA_LAUNCH_CHECK("gated_moe_forward");
}

void gated_moe_backward(const float* gates, const float* experts, const float* dout, float* dgates,
                        float* dexperts, int64_t rows, int64_t m, cudaStream_t st) {
  if (rows == 0 || (dgates == nullptr && dexperts == nullptr)) return;
  moe_dispatch_mixtures(m, [&](auto km) {
    constexpr int kM = decltype(km)::value;
    gated_moe_backward_kernel<kM><<<grid_for(rows, kBlock), kBlock, 0, st>>>(
        gates, experts, dout, dgates, dexperts, rows, m);
  });
  Y8M_CUDA_LAUNCH_CHECK("gated_moe_backward");
}

}  // namespace y8m::ops::cuda
