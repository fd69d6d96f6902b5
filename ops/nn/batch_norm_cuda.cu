// CUDA kernels of batch_norm (f32). Column reductions are deterministic two-level reductions: the
// rows are cut into G chunks that depend only on (n, c); block (channel tile, chunk) sums its
// columns over its rows in a fixed order (per-thread strided accumulation, then a shared-memory
// tree), writes one partial per (chunk, channel), and a finalize kernel adds the G partials of each
// channel in chunk order. No atomics. Statistics take two passes over x (mean, then squared
// deviations).
#include "engine/cuda_context.h"
#include "ops/nn/nn_kernels.h"

#include <algorithm>
#include <cstdint>

namespace y8m::ops::cuda {

namespace {

constexpr int kTile = 32;  // channels per block (one warp reads 128 contiguous bytes per row)
constexpr int kRowsY = 8;  // row lanes per block
constexpr int64_t kMinRowsPerChunk = 64;
constexpr int64_t kTargetBlocks = 1024;  // enough blocks to fill a large GPU
constexpr int kBlock = 256;              // element-wise and per-channel kernels
using engine::cuda::grid_for;

struct Chunks {
  int64_t count;  // G
  int64_t rows;   // rows per chunk
};

Chunks chunks_for(int64_t n, int64_t c) {
  const int64_t tiles = std::max<int64_t>(1, (c + kTile - 1) / kTile);
  const int64_t max_chunks = std::max<int64_t>(1, kTargetBlocks / tiles);
  const int64_t want =
      std::min(max_chunks, std::max<int64_t>(1, (n + kMinRowsPerChunk - 1) / kMinRowsPerChunk));
  const int64_t rows = std::max<int64_t>(1, (n + want - 1) / want);
  return {std::max<int64_t>(1, (n + rows - 1) / rows), rows};
}

enum class ColumnMode { sum, squared_deviation, backward };

// part_a[chunk, j] (and part_b for backward) over the rows of this block's chunk:
//   sum:                a = sum x
//   squared_deviation:  a = sum (x - mean)^2
//   backward:           a = sum dy * (x - mean) * invstd,  b = sum dy
template <ColumnMode kMode>
__global__ void column_partials_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                       const float* __restrict__ mean,
                                       const float* __restrict__ invstd, int64_t n, int64_t c,
                                       int64_t rows_per_chunk, float* part_a, float* part_b) {
  __shared__ float sa[kRowsY][kTile + 1];
  __shared__ float sb[kRowsY][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kTile + tx;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * rows_per_chunk;
  const int64_t r1 = min(n, r0 + rows_per_chunk);
  float a = 0.f, b = 0.f;
  if (j < c) {
    const float m = kMode == ColumnMode::sum ? 0.f : mean[j];
    const float is = kMode == ColumnMode::backward ? invstd[j] : 0.f;
    for (int64_t r = r0 + ty; r < r1; r += kRowsY) {
      const float v = x[r * c + j];
      if (kMode == ColumnMode::sum) {
        a += v;
      } else if (kMode == ColumnMode::squared_deviation) {
        const float d = v - m;
        a += d * d;
      } else {
        const float g = dy[r * c + j];
        a += g * ((v - m) * is);
        b += g;
      }
    }
  }
  sa[ty][tx] = a;
  sb[ty][tx] = b;
  __syncthreads();
  for (int s = kRowsY / 2; s > 0; s >>= 1) {
    if (ty < s) {
      sa[ty][tx] += sa[ty + s][tx];
      sb[ty][tx] += sb[ty + s][tx];
    }
    __syncthreads();
  }
  if (ty == 0 && j < c) {
    part_a[static_cast<int64_t>(blockIdx.y) * c + j] = sa[0][tx];
    if (kMode == ColumnMode::backward) part_b[static_cast<int64_t>(blockIdx.y) * c + j] = sb[0][tx];
  }
}

__device__ float sum_partials(const float* part, int64_t chunks, int64_t c, int64_t j) {
  float s = 0.f;
  for (int64_t g = 0; g < chunks; ++g) s += part[g * c + j];
  return s;
}

__global__ void finalize_mean_kernel(const float* part, int64_t chunks, int64_t n, int64_t c,
                                     float* mean) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kBlock + threadIdx.x;
  if (j < c) mean[j] = sum_partials(part, chunks, c, j) / static_cast<float>(n);
}

__global__ void finalize_var_kernel(const float* part, int64_t chunks, int64_t n, int64_t c,
                                    float eps, const float* mean, float* invstd,
                                    BnMovingUpdate<float> upd) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kBlock + threadIdx.x;
  if (j >= c) return;
  const float var = sum_partials(part, chunks, c, j) / static_cast<float>(n);
  invstd[j] = 1.f / sqrtf(var + eps);
  if (upd.mean != nullptr) upd.mean[j] -= upd.momentum * (upd.mean[j] - mean[j]);
  if (upd.var != nullptr) upd.var[j] -= upd.momentum * (upd.var[j] - var * upd.var_factor);
}

__global__ void finalize_backward_kernel(const float* part_a, const float* part_b, int64_t chunks,
                                         int64_t c, float* dgamma, float* dbeta) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kBlock + threadIdx.x;
  if (j >= c) return;
  dgamma[j] = sum_partials(part_a, chunks, c, j);
  dbeta[j] = sum_partials(part_b, chunks, c, j);
}

__global__ void invstd_kernel(const float* var, int64_t c, float eps, float* invstd) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kBlock + threadIdx.x;
  if (j < c) invstd[j] = 1.f / sqrtf(var[j] + eps);
}

// Element-wise kernels process kVec consecutive elements of one row per step (kVec = 4 when c % 4
// == 0 and the pointers are 16-byte aligned): the channel index is computed once per group.
template <int kVec>
struct Vec;
template <>
struct Vec<1> {
  float v[1];
  __device__ static Vec load(const float* p) { return {{*p}}; }
  __device__ void store(float* p) const { *p = v[0]; }
};
template <>
struct Vec<4> {
  float v[4];
  __device__ static Vec load(const float* p) {
    const float4 q = *reinterpret_cast<const float4*>(p);
    return {{q.x, q.y, q.z, q.w}};
  }
  __device__ void store(float* p) const {
    *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
  }
};

template <int kVec>
__global__ void apply_kernel(const float* __restrict__ x, int64_t total, int64_t c,
                             const float* __restrict__ mean, const float* __restrict__ invstd,
                             const float* __restrict__ gamma, const float* __restrict__ beta,
                             float* __restrict__ y) {
  const int64_t groups = total / kVec;
  for (int64_t g = static_cast<int64_t>(blockIdx.x) * kBlock + threadIdx.x; g < groups;
       g += static_cast<int64_t>(gridDim.x) * kBlock) {
    const int64_t i = g * kVec;
    const int64_t j0 = i % c;
    Vec<kVec> v = Vec<kVec>::load(x + i);
#pragma unroll
    for (int k = 0; k < kVec; ++k) {
      const int64_t j = j0 + k;
      v.v[k] = (v.v[k] - mean[j]) * (invstd[j] * gamma[j]) + beta[j];
    }
    v.store(y + i);
  }
}

template <int kVec>
__global__ void backward_dx_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                   int64_t total, int64_t c, float inv_n,
                                   const float* __restrict__ mean, const float* __restrict__ invstd,
                                   const float* __restrict__ gamma,
                                   const float* __restrict__ dgamma,
                                   const float* __restrict__ dbeta, bool training,
                                   float* __restrict__ dx) {
  const int64_t groups = total / kVec;
  for (int64_t g = static_cast<int64_t>(blockIdx.x) * kBlock + threadIdx.x; g < groups;
       g += static_cast<int64_t>(gridDim.x) * kBlock) {
    const int64_t i = g * kVec;
    const int64_t j0 = i % c;
    const Vec<kVec> gy = Vec<kVec>::load(dy + i);
    Vec<kVec> out;
    if (training) {
      const Vec<kVec> xv = Vec<kVec>::load(x + i);
#pragma unroll
      for (int k = 0; k < kVec; ++k) {
        const int64_t j = j0 + k;
        const float xhat = (xv.v[k] - mean[j]) * invstd[j];
        out.v[k] =
            (gamma[j] * invstd[j]) * (gy.v[k] - dbeta[j] * inv_n - xhat * (dgamma[j] * inv_n));
      }
    } else {
#pragma unroll
      for (int k = 0; k < kVec; ++k) {
        const int64_t j = j0 + k;
        out.v[k] = gy.v[k] * (gamma[j] * invstd[j]);
      }
    }
    out.store(dx + i);
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

dim3 column_grid(int64_t c, const Chunks& ch) {
  return dim3(static_cast<unsigned>((c + kTile - 1) / kTile), static_cast<unsigned>(ch.count));
}

}  // namespace

int64_t batch_norm_partials_size(int64_t n, int64_t c) {
  return chunks_for(n, c).count * std::max<int64_t>(c, 1);
}

void batch_norm_stats(const float* x, int64_t n, int64_t c, float eps, float* mean, float* invstd,
                      const BnMovingUpdate<float>& upd, float* partials, cudaStream_t st) {
  if (c == 0) return;
  const Chunks ch = chunks_for(n, c);
  const dim3 block(kTile, kRowsY);
  const unsigned cgrid = static_cast<unsigned>((c + kBlock - 1) / kBlock);
  column_partials_kernel<ColumnMode::sum><<<column_grid(c, ch), block, 0, st>>>(
      x, nullptr, nullptr, nullptr, n, c, ch.rows, partials, nullptr);
  Y8M_CUDA_LAUNCH_CHECK("batch_norm_sum");
  finalize_mean_kernel<<<cgrid, kBlock, 0, st>>>(partials, ch.count, n, c, mean);
  Y8M_CUDA_LAUNCH_CHECK("batch_norm_mean");
  column_partials_kernel<ColumnMode::squared_deviation><<<column_grid(c, ch), block, 0, st>>>(
      x, nullptr, mean, nullptr, n, c, ch.rows, partials, nullptr);
  Y8M_CUDA_LAUNCH_CHECK("batch_norm_squared_deviation");
  finalize_var_kernel<<<cgrid, kBlock, 0, st>>>(partials, ch.count, n, c, eps, mean, invstd, upd);
  Y8M_CUDA_LAUNCH_CHECK("batch_norm_variance");
}

void batch_norm_invstd(const float* var, int64_t c, float eps, float* invstd, cudaStream_t st) {
  if (c == 0) return;
  invstd_kernel<<<static_cast<unsigned>((c + kBlock - 1) / kBlock), kBlock, 0, st>>>(var, c, eps,
                                                                                     invstd);
  Y8M_CUDA_LAUNCH_CHECK("batch_norm_invstd");
}

void batch_norm_apply(const float* x, int64_t n, int64_t c, const float* mean, const float* invstd,
                      const float* gamma, const float* beta, float* y, cudaStream_t st) {
  const int64_t total = n * c;
  if (total == 0) return;
  if (c % 4 == 0 && aligned16(x) && aligned16(y)) {
    apply_kernel<4>
        <<<grid_for(total / 4, kBlock), kBlock, 0, st>>>(x, total, c, mean, invstd, gamma, beta, y);
  } else {
    apply_kernel<1>
        <<<grid_for(total, kBlock), kBlock, 0, st>>>(x, total, c, mean, invstd, gamma, beta, y);
  }
  Y8M_CUDA_LAUNCH_CHECK("batch_norm_apply");
}

void batch_norm_backward_reduce(const float* x, const float* dy, int64_t n, int64_t c,
                                const float* mean, const float* invstd, float* dgamma, float* dbeta,
                                float* partials, cudaStream_t st) {
  if (c == 0) return;
  const Chunks ch = chunks_for(n, c);
  float* part_a = partials;
  float* part_b = partials + ch.count * c;
  column_partials_kernel<ColumnMode::backward><<<column_grid(c, ch), dim3(kTile, kRowsY), 0, st>>>(
      x, dy, mean, invstd, n, c, ch.rows, part_a, part_b);
  Y8M_CUDA_LAUNCH_CHECK("batch_norm_backward_partials");
  finalize_backward_kernel<<<static_cast<unsigned>((c + kBlock - 1) / kBlock), kBlock, 0, st>>>(
      part_a, part_b, ch.count, c, dgamma, dbeta);
  Y8M_CUDA_LAUNCH_CHECK("batch_norm_backward_finalize");
}

void batch_norm_backward_dx(const float* x, const float* dy, int64_t n, int64_t c,
                            const float* mean, const float* invstd, const float* gamma,
                            const float* dgamma, const float* dbeta, bool training, float* dx,
                            cudaStream_t st) {
  const int64_t total = n * c;
  if (total == 0) return;
  const float inv_n = 1.f / static_cast<float>(n);
  if (c % 4 == 0 && aligned16(x) && aligned16(dy) && aligned16(dx)) {
    backward_dx_kernel<4><<<grid_for(total / 4, kBlock), kBlock, 0, st>>>(
        x, dy, total, c, inv_n, mean, invstd, gamma, dgamma, dbeta, training, dx);
  } else {
    backward_dx_kernel<1><<<grid_for(total, kBlock), kBlock, 0, st>>>(
        x, dy, total, c, inv_n, mean, invstd, gamma, dgamma, dbeta, training, dx);
  }
  Y8M_CUDA_LAUNCH_CHECK("batch_norm_backward_dx");
}

}  // namespace y8m::ops::cuda
