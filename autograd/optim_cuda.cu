// Multi-tensor optimizer step with per-tensor clipping (formulas in autograd/optim.h): the norms
// and the non-finite check are shared, the update is one kernel templated on the rule. Each block
// handles one chunk of one tensor. Reductions are two-pass in a fixed order, so results do not
// depend on timing. The __f*_rn intrinsics keep nvcc from contracting into FMAs, matching the CPU
// reference bit for bit in the update (norms may differ in the last bits from the CPU's summation
// order).
#include "autograd/optim_cuda.h"
#include "engine/cuda_context.h"

namespace y8m::autograd::cuda {

namespace {

constexpr int kBlock = 256;

// Sum over the block; result valid in thread 0.
__device__ float block_sum(float v) {
  __shared__ float warp_sums[kBlock / 32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  v = threadIdx.x < kBlock / 32 ? warp_sums[threadIdx.x] : 0.f;
  if (warp == 0)
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

__global__ void chunk_sumsq_kernel(const OptTensor* tensors, const OptChunk* chunks,
                                   float* partials) {
  const OptChunk c = chunks[blockIdx.x];
  const float* g = tensors[c.tensor].grad;
  float s = 0.f;
  for (int64_t i = c.begin + threadIdx.x; i < c.end; i += kBlock)
    s = __fadd_rn(s, __fmul_rn(g[i], g[i]));
  s = block_sum(s);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

__global__ void tensor_denom_kernel(const float* partials, const int* first_chunk, int num_tensors,
                                    float clip, float* denoms, const float* loss, int* status) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (status != nullptr && t == 0 && loss != nullptr && !isfinite(*loss)) status[0] = 1;
  if (t >= num_tensors) return;
  float s = 0.f;
  for (int c = first_chunk[t]; c < first_chunk[t + 1]; ++c) s += partials[c];
  denoms[t] = fmaxf(sqrtf(s), clip);
  if (status != nullptr && !isfinite(s)) atomicMin(&status[1], t);
}

// One element of rule R; the operation order is TF's (training_ops.cc) and the CPU kernel's.
template <UpdateRule R>
__device__ __forceinline__ void update_element(const OptTensor& t, int64_t i, float g,
                                               const OptLaunch& c) {
  if constexpr (R == UpdateRule::kGradientDescent) {
    t.param[i] = __fsub_rn(t.param[i], __fmul_rn(g, c.lr));
  } else if constexpr (R == UpdateRule::kMomentum) {
    const float a = __fadd_rn(__fmul_rn(t.slot0[i], c.momentum), g);
    t.slot0[i] = a;
    t.param[i] = __fsub_rn(t.param[i], __fmul_rn(a, c.lr));
  } else if constexpr (R == UpdateRule::kAdagrad) {
    const float a = __fadd_rn(t.slot0[i], __fmul_rn(g, g));
    t.slot0[i] = a;
    t.param[i] =
        __fsub_rn(t.param[i], __fmul_rn(__fmul_rn(g, c.lr), __fdiv_rn(1.f, __fsqrt_rn(a))));
  } else if constexpr (R == UpdateRule::kRMSProp) {
    const float ms = __fadd_rn(
        t.slot0[i], __fmul_rn(__fsub_rn(__fmul_rn(g, g), t.slot0[i]), __fsub_rn(1.f, c.beta2)));
    const float mom = __fadd_rn(__fmul_rn(t.slot1[i], c.momentum),
                                __fdiv_rn(__fmul_rn(g, c.lr), __fsqrt_rn(__fadd_rn(ms, c.eps))));
    t.slot0[i] = ms;
    t.slot1[i] = mom;
    t.param[i] = __fsub_rn(t.param[i], mom);
  } else {
    const float m =
        __fadd_rn(t.slot0[i], __fmul_rn(__fsub_rn(g, t.slot0[i]), __fsub_rn(1.f, c.beta1)));
    const float v = __fadd_rn(
        t.slot1[i], __fmul_rn(__fsub_rn(__fmul_rn(g, g), t.slot1[i]), __fsub_rn(1.f, c.beta2)));
    t.slot0[i] = m;
    t.slot1[i] = v;
    t.param[i] =
        __fsub_rn(t.param[i], __fdiv_rn(__fmul_rn(m, c.alpha), __fadd_rn(__fsqrt_rn(v), c.eps)));
  }
}

// The launch struct is passed by value (kernel parameter space); denoms is used only when
// clipping.
template <UpdateRule R>
__global__ void update_kernel(const OptLaunch c, bool clip) {
  const OptChunk ch = c.chunks[blockIdx.x];
  const OptTensor t = c.tensors[ch.tensor];
  const float denom = clip ? c.denoms[ch.tensor] : 1.f;
  for (int64_t i = ch.begin + threadIdx.x; i < ch.end; i += kBlock) {
    float g = t.grad[i];
    if (clip) g = __fdiv_rn(__fmul_rn(g, c.clip_norm), denom);
    update_element<R>(t, i, g, c);
  }
}

__global__ void sumsq_partials_kernel(const float* x, int64_t n, float* partials) {
  float s = 0.f;
  for (int64_t i = blockIdx.x * (int64_t)kBlock + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * kBlock)
    s = __fadd_rn(s, __fmul_rn(x[i], x[i]));
  s = block_sum(s);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

__global__ void sum_partials_kernel(const float* partials, int n, float* out) {
  float s = 0.f;
  for (int i = threadIdx.x; i < n; i += kBlock) s += partials[i];
  s = block_sum(s);
  if (threadIdx.x == 0) *out = s;
}

}  // namespace

void grad_norms(const OptLaunch& a, cudaStream_t stream) {
  if (a.num_chunks == 0) return;
  chunk_sumsq_kernel<<<a.num_chunks, kBlock, 0, stream>>>(a.tensors, a.chunks, a.partials);
  Y8M_CUDA_LAUNCH_CHECK("optimizer_chunk_sumsq");
  tensor_denom_kernel<<<(a.num_tensors + kBlock - 1) / kBlock, kBlock, 0, stream>>>(
      a.partials, a.first_chunk, a.num_tensors, a.clip_norm, a.denoms, a.loss, a.status);
  Y8M_CUDA_LAUNCH_CHECK("optimizer_tensor_denom");
}

void update(UpdateRule rule, const OptLaunch& a, cudaStream_t stream) {
  if (a.num_chunks == 0) return;
  const bool clip = a.clip_norm > 0.f;
  switch (rule) {
    case UpdateRule::kGradientDescent:
      update_kernel<UpdateRule::kGradientDescent><<<a.num_chunks, kBlock, 0, stream>>>(a, clip);
      break;
    case UpdateRule::kMomentum:
      update_kernel<UpdateRule::kMomentum><<<a.num_chunks, kBlock, 0, stream>>>(a, clip);
      break;
    case UpdateRule::kAdagrad:
      update_kernel<UpdateRule::kAdagrad><<<a.num_chunks, kBlock, 0, stream>>>(a, clip);
      break;
    case UpdateRule::kRMSProp:
      update_kernel<UpdateRule::kRMSProp><<<a.num_chunks, kBlock, 0, stream>>>(a, clip);
      break;
    case UpdateRule::kAdam:
      update_kernel<UpdateRule::kAdam><<<a.num_chunks, kBlock, 0, stream>>>(a, clip);
      break;
  }
  Y8M_CUDA_LAUNCH_CHECK("optimizer_update");
}

void sum_squares(const float* x, int64_t n, float* partials, int num_partials, float* out,
                 cudaStream_t stream) {
  sumsq_partials_kernel<<<num_partials, kBlock, 0, stream>>>(x, n, partials);
  Y8M_CUDA_LAUNCH_CHECK("sum_squares_partials");
  sum_partials_kernel<<<1, kBlock, 0, stream>>>(partials, num_partials, out);
  Y8M_CUDA_LAUNCH_CHECK("sum_squares_final");
}

}  // namespace y8m::autograd::cuda
