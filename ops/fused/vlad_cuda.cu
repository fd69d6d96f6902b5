// CUDA kernels of the fused vlad op (contract in vlad_kernels.h). Deterministic: no atomics, every
// sum in a fixed order.
//
// Column kernels (the per-(b, k) stages): a block of kColThreads x kColRows threads covers one
// video b and kColThreads consecutive clusters; thread (x, y) walks f = y, y + kColRows, ... of
// cluster k0 + x, so each step reads kColThreads contiguous floats (coalesced). The kColRows
// partial sums of a column are combined in increasing y from shared memory (col_reduce). A column
// of F = 1024 floats per cluster is re-read once or twice from L2 rather than kept in registers.
//
// Per-video sums over k (global squared norm, the global backward's dot product): one warp per
// video, a fixed butterfly. The global scale is element-wise. dC: one thread per (f, k) summing b
// in increasing order. Softmax backward: one warp per row of K.
//
// Sums accumulate in double; products are kept out of FMA contraction (vlad_mul) so that the
// element-wise formulas round like the CPU's.
#include "engine/cuda_context.h"
#include "ops/fused/vlad_kernels.h"

#include <cstdint>

namespace y8m::ops::cuda {

namespace {

constexpr int kWarp = 32;
constexpr int kColThreads = 32;   // clusters per block (x)
constexpr int kColRows = 8;       // f (or s) stride per column (y)
constexpr int kBlock = 256;       // element-wise kernels
constexpr int kRowsPerBlock = 8;  // softmax backward: warps (rows) per block
using engine::cuda::grid_for;

// Sum of v over the kColRows threads of this column (threadIdx.x), in increasing threadIdx.y;
// every thread of the column gets the result. All threads of the block must call it.
__device__ double col_reduce(double v) {
  __shared__ double part[kColRows][kColThreads];
  part[threadIdx.y][threadIdx.x] = v;
  __syncthreads();
  double r = part[0][threadIdx.x];
  for (int y = 1; y < kColRows; ++y) r += part[y][threadIdx.x];
  __syncthreads();  // part is reused by the next call
  return r;
}

__device__ __forceinline__ double warp_sum(double v) {
  for (int m = kWarp / 2; m > 0; m >>= 1) v += __shfl_xor_sync(0xffffffffu, v, m);
  return v;
}

// Blocks over (cluster tiles, videos); videos beyond the grid's y limit are walked by a loop (b is
// uniform across a block, so the block-wide barriers in col_reduce stay uniform).
dim3 col_grid(const VladSizes& d) {
  return dim3(static_cast<unsigned>((d.k + kColThreads - 1) / kColThreads),
              static_cast<unsigned>(d.b < 65535 ? d.b : 65535));
}
#define Y8M_FOR_EACH_VIDEO(b) for (int64_t b = blockIdx.y; b < d.b; b += gridDim.y)

// asum, residual, intra norm; y written over agg.
__global__ void intra_forward_kernel(VladSizes d, const float* a, const float* centers, float* agg,
                                     float* asum, double* ssq_intra, double* ssq_y) {
  const int64_t K = d.k;
  Y8M_FOR_EACH_VIDEO(b) {
    const int64_t k = static_cast<int64_t>(blockIdx.x) * kColThreads + threadIdx.x;
    const bool valid = k < K;
    float as = 0.0f;
    if (centers != nullptr) {
      double acc = 0;
      if (valid)
        for (int64_t s = threadIdx.y; s < d.s; s += kColRows) acc += a[(b * d.s + s) * K + k];
      as = static_cast<float>(col_reduce(acc));
      if (valid && threadIdx.y == 0) asum[b * K + k] = as;
    }
    float* g = agg + b * d.f * K + k;
    const float* c = centers != nullptr ? centers + k : nullptr;
    double s1 = 0;
    if (valid)
      for (int64_t f = threadIdx.y; f < d.f; f += kColRows) {
        const double v = c != nullptr ? vlad_residual(g[f * K], as, c[f * K]) : g[f * K];
        s1 += v * v;
      }
    s1 = col_reduce(s1);
    const float inv = l2_inv_norm<float>(s1);
    double q = 0;
    if (valid)
      for (int64_t f = threadIdx.y; f < d.f; f += kColRows) {
        const float v = c != nullptr ? vlad_residual(g[f * K], as, c[f * K]) : g[f * K];
        const float y = v * inv;
        g[f * K] = y;
        q += static_cast<double>(y) * y;
      }
    q = col_reduce(q);
    if (valid && threadIdx.y == 0) {
      ssq_intra[b * K + k] = s1;
      ssq_y[b * K + k] = q;
    }
  }
}

// out[b] = sum_k x[b, k] (one warp per video).
__global__ void video_sum_kernel(const double* x, double* out, int64_t B, int64_t K) {
  const int64_t b = blockIdx.x;
  if (b >= B) return;
  double s = 0;
  for (int64_t k = threadIdx.x; k < K; k += kWarp) s += x[b * K + k];
  s = warp_sum(s);
  if (threadIdx.x == 0) out[b] = s;
}

__global__ void global_scale_kernel(const float* y, const double* ssq_global, float* out,
                                    int64_t total, int64_t row) {
  for (int64_t e = blockIdx.x * (int64_t)kBlock + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * kBlock)
    out[e] = y[e] * l2_inv_norm<float>(ssq_global[e / row]);
}

// pcol[b, k] = sum_f dout * y.
__global__ void col_dot_kernel(VladSizes d, const float* dout, const float* y, double* pcol) {
  const int64_t K = d.k;
  Y8M_FOR_EACH_VIDEO(b) {
    const int64_t k = static_cast<int64_t>(blockIdx.x) * kColThreads + threadIdx.x;
    const bool valid = k < K;
    const int64_t base = b * d.f * K + k;
    double p = 0;
    if (valid)
      for (int64_t f = threadIdx.y; f < d.f; f += kColRows)
        p += static_cast<double>(dout[base + f * K]) * y[base + f * K];
    p = col_reduce(p);
    if (valid && threadIdx.y == 0) pcol[b * K + k] = p;
  }
}

// Global then intra l2 backward per column; dasum from the centers.
__global__ void norm_backward_kernel(VladSizes d, const float* dout, const float* y,
                                     const float* centers, const double* ssq_intra,
                                     const double* ssq_global, const double* p2, float* dagg,
                                     float* dasum) {
  const int64_t K = d.k;
  Y8M_FOR_EACH_VIDEO(b) {
    const int64_t k = static_cast<int64_t>(blockIdx.x) * kColThreads + threadIdx.x;
    const bool valid = k < K;
    const int64_t base = b * d.f * K + k;
    const float inv2 = l2_inv_norm<float>(ssq_global[b]);
    const float coef2 = l2_backward_coef<float>(ssq_global[b], p2[b]);
    double p = 0, q = 0;
    if (valid)
      for (int64_t f = threadIdx.y; f < d.f; f += kColRows) {
        const int64_t e = base + f * K;
        const double yv = y[e];
        p += static_cast<double>(vlad_l2_step(dout[e], y[e], coef2, inv2)) * yv;
        q += yv * yv;
      }
    p = col_reduce(p);
    q = col_reduce(q);
    const double s1 = valid ? ssq_intra[b * K + k] : 0.0;
    const float inv1 = l2_inv_norm<float>(s1);
    const float coef1 = vlad_intra_coef<float>(s1, p, q);
    double acc = 0;
    if (valid)
      for (int64_t f = threadIdx.y; f < d.f; f += kColRows) {
        const int64_t e = base + f * K;
        const float dv = vlad_l2_step(vlad_l2_step(dout[e], y[e], coef2, inv2), y[e], coef1, inv1);
        dagg[e] = dv;
        if (dasum != nullptr) acc += static_cast<double>(centers[f * K + k]) * dv;
      }
    if (dasum != nullptr) {  // uniform across the block
      acc = col_reduce(acc);
      if (valid && threadIdx.y == 0) dasum[b * K + k] = static_cast<float>(-acc);
    }
  }
}

// dC[f, k] = -sum_b asum[b, k] * dagg[b, f, k], b increasing.
__global__ void centers_backward_kernel(VladSizes d, const float* asum, const float* dagg,
                                        float* dc) {
  const int64_t fk = d.f * d.k;
  for (int64_t e = blockIdx.x * (int64_t)kBlock + threadIdx.x; e < fk;
       e += (int64_t)gridDim.x * kBlock) {
    const int64_t k = e % d.k;
    double acc = 0;
    for (int64_t b = 0; b < d.b; ++b)
      acc += static_cast<double>(asum[b * d.k + k]) * dagg[b * fk + e];
    dc[e] = static_cast<float>(-acc);
  }
}

// One warp per row r of [B*S, K]: u = da + dasum[r / S], da = A * (u - sum A*u).
__global__ void softmax_backward_kernel(VladSizes d, const float* a, const float* dasum,
                                        float* da) {
  const int64_t rows = d.b * d.s, K = d.k;
  for (int64_t r = blockIdx.x * (int64_t)kRowsPerBlock + threadIdx.y; r < rows;
       r += (int64_t)gridDim.x * kRowsPerBlock) {
    const float* ar = a + r * K;
    float* dr = da + r * K;
    const float* ds = dasum != nullptr ? dasum + (r / d.s) * K : nullptr;
    double dot = 0;
    for (int64_t k = threadIdx.x; k < K; k += kWarp) {
      const float u = ds != nullptr ? dr[k] + ds[k] : dr[k];
      dot += static_cast<double>(u) * ar[k];
    }
    const float dt = static_cast<float>(warp_sum(dot));
    for (int64_t k = threadIdx.x; k < K; k += kWarp) {
      const float u = ds != nullptr ? dr[k] + ds[k] : dr[k];
      dr[k] = ar[k] * (u - dt);
    }
  }
}

}  // namespace

void vlad_intra_forward(const VladSizes& d, const float* a, const float* centers, float* agg,
                        float* asum, ReduceAcc* ssq_intra, ReduceAcc* ssq_y, cudaStream_t st) {
  if (d.b == 0 || d.k == 0) return;
  intra_forward_kernel<<<col_grid(d), dim3(kColThreads, kColRows), 0, st>>>(d, a, centers, agg,
                                                                            asum, ssq_intra, ssq_y);
  Y8M_CUDA_LAUNCH_CHECK("vlad_intra_forward");
}

void vlad_global_forward(const VladSizes& d, const ReduceAcc* ssq_y, const float* y,
                         ReduceAcc* ssq_global, float* out, cudaStream_t st) {
  if (d.b == 0) return;
  video_sum_kernel<<<static_cast<unsigned>(d.b), kWarp, 0, st>>>(ssq_y, ssq_global, d.b, d.k);
  Y8M_CUDA_LAUNCH_CHECK("vlad_global_sum");
  const int64_t row = d.f * d.k, total = d.b * row;
  if (total == 0) return;
  global_scale_kernel<<<grid_for(total, kBlock), kBlock, 0, st>>>(y, ssq_global, out, total, row);
  Y8M_CUDA_LAUNCH_CHECK("vlad_global_scale");
}

void vlad_norm_backward(const VladSizes& d, const float* dout, const float* y, const float* centers,
                        const ReduceAcc* ssq_intra, const ReduceAcc* ssq_global, float* dagg,
                        float* dasum, ReduceAcc* scratch, cudaStream_t st) {
  if (d.b == 0 || d.k == 0) return;
  double* pcol = scratch;
  double* p2 = scratch + d.b * d.k;
  const dim3 block(kColThreads, kColRows);
  col_dot_kernel<<<col_grid(d), block, 0, st>>>(d, dout, y, pcol);
  Y8M_CUDA_LAUNCH_CHECK("vlad_col_dot");
  video_sum_kernel<<<static_cast<unsigned>(d.b), kWarp, 0, st>>>(pcol, p2, d.b, d.k);
  Y8M_CUDA_LAUNCH_CHECK("vlad_global_dot");
  norm_backward_kernel<<<col_grid(d), block, 0, st>>>(d, dout, y, centers, ssq_intra, ssq_global,
                                                      p2, dagg, dasum);
  Y8M_CUDA_LAUNCH_CHECK("vlad_norm_backward");
}

void vlad_centers_backward(const VladSizes& d, const float* asum, const float* dagg,
                           float* dcenters, cudaStream_t st) {
  const int64_t fk = d.f * d.k;
  if (fk == 0) return;
  centers_backward_kernel<<<grid_for(fk, kBlock), kBlock, 0, st>>>(d, asum, dagg, dcenters);
  Y8M_CUDA_LAUNCH_CHECK("vlad_centers_backward");
}

void vlad_softmax_backward(const VladSizes& d, const float* a, const float* dasum, float* da,
                           cudaStream_t st) {
  const int64_t rows = d.b * d.s;
  if (rows == 0 || d.k == 0) return;
  softmax_backward_kernel<<<grid_for(rows, kRowsPerBlock), dim3(kWarp, kRowsPerBlock), 0, st>>>(
      d, a, dasum, da);
  Y8M_CUDA_LAUNCH_CHECK("vlad_softmax_backward");
}

}  // namespace y8m::ops::cuda
