// Multi-tensor EMA update (formula in autograd/ema.h): one launch over all tracked tensors, each
// block handling one chunk of one tensor. Element-wise, so the result does not depend on the launch
// shape; the
// __f*_rn intrinsics keep nvcc from contracting into an FMA, matching the CPU reference bit for
// bit.
#include "autograd/ema_cuda.h"
#include "engine/cuda_context.h"

namespace y8m::autograd::cuda {

namespace {

constexpr int kBlock = 256;

__global__ void ema_kernel(const EmaTensor* tensors, const EmaChunk* chunks, float a) {
  const EmaChunk c = chunks[blockIdx.x];
  const EmaTensor t = tensors[c.tensor];
  for (int64_t i = c.begin + threadIdx.x; i < c.end; i += kBlock) {
    const float s = t.shadow[i];
    t.shadow[i] = __fsub_rn(s, __fmul_rn(__fsub_rn(s, t.var[i]), a));
  }
}

}  // namespace

void ema_update(const EmaTensor* tensors, const EmaChunk* chunks, int num_chunks,
                float one_minus_decay, cudaStream_t stream) {
  if (num_chunks == 0) return;
  ema_kernel<<<num_chunks, kBlock, 0, stream>>>(tensors, chunks, one_minus_decay);
  Y8M_CUDA_LAUNCH_CHECK("ema_update");
}

}  // namespace y8m::autograd::cuda
