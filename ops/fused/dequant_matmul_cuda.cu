// CUDA kernels of the dequant matmul (contract in dequant_matmul_kernels.h). Two paths, chosen by
// the batch size B:
//
// Streaming (B <= kDequantStreamMaxRows): at small B the op is memory-bound on Wq (N·K bytes
// against 2·B·N·K flops), so Wq is read once per pass of up to 16 batch rows, with 16-, 8- or
// 4-byte loads. A block of 256 threads owns a slab of 512 output columns and a range of K rows
// (split-K across blocks): each thread owns kCols consecutive columns and accumulates kB x kCols
// sums in registers; the warps of a block split the rows of each 128-row tile, whose X values sit
// transposed in shared memory (xs[r][b], read as broadcasts). The codebook is replicated 32 times
// in shared memory (entry v of lane l at [v*32 + l]) so that the 32 lookups of a warp hit 32
// different banks whatever the indices. The block's warps then combine their sums by a fixed tree
// in shared memory and write one partial [nb, slab] per K range; a second kernel adds the partials
// in a fixed order (plus the bias). With one K range the block writes Y directly. The number of K
// ranges fills one wave of the device (SM count x resident blocks), so it depends on the device but
// not on timing: results are the same on every run.
//
// GEMM (B > kDequantStreamMaxRows): the op is compute-bound like the f32 GEMM, so Wq is dequantized
// in chunks of rows (64 MB of f32) into the workspace and cuBLAS sgemm accumulates each chunk into
// Y (beta = 1, Y first set to the bias). It costs one extra write and read of each chunk on top of
// cuBLAS; a hand-written tiled GEMM with dequantizing loaders would save that but not beat cuBLAS's
// FMA throughput. The backward dX = dY·Wᵀ (training with frozen quantized weights is rare) always
// takes this chunked path.
#include "engine/cuda_context.h"
#include "ops/fused/dequant_matmul_kernels.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace y8m::ops::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kWarp = 32;
constexpr int kWarps = kThreads / kWarp;
constexpr int kLut = 256;
constexpr int kLutCopies = 32;    // one codebook copy per bank
constexpr int kSlab = 512;        // output columns per streaming block
constexpr int kTileRows = 128;    // K rows of X staged in shared memory at a time
constexpr int kMaxPassRows = 16;  // batch rows per streaming pass
constexpr int kRedCols = 8;       // split-sum kernel: outputs per block (one 32-byte sector)
constexpr int kRedGroups = kThreads / kRedCols;
constexpr int64_t kScratchFloats = int64_t(1) << 24;  // GEMM path chunk: 64 MB of f32
constexpr int64_t kMaxSplits = 65535;                 // gridDim.y

// Geometry of the streaming kernel for kB batch rows (kB in {1, 2, 4, 8, 16}): 64 accumulators per
// thread at most, 64 bytes of Wq in flight per thread per step, 32 rows per step across the block.
template <int kB>
struct StreamGeom {
  static constexpr int kCols = kB <= 4 ? 16 : 64 / kB;  // columns (= bytes of a row) per thread
  static constexpr int kWords = kCols / 4;              // 32-bit words per row per thread
  static constexpr int kWarpsN = kSlab / (kWarp * kCols);
  static constexpr int kWarpsK = kWarps / kWarpsN;  // warps splitting the rows of a tile
  static constexpr int kStepRows = 64 / kCols;      // rows a warp loads before using them
  static constexpr int kRounds = kTileRows / (kWarpsK * kStepRows);
  static constexpr int kMinBlocks = kB == 1 ? 4 : (kB == 2 ? 3 : 2);  // register budget
  static_assert(kWarpsN * kWarpsK == kWarps && kRounds >= 1 &&
                    kRounds * kWarpsK * kStepRows == kTileRows,
                "streaming geometry");
  // The warp-combining tree stores half of the warps' sums into the codebook's shared memory.
  static_assert((kWarpsK / 2) * kWarpsN * kWarp * kB * kCols <= kLut * kLutCopies,
                "reduction buffer");
};

// kCols bytes of row `row` from column n0 as kWords little-endian words. kAligned: one vector load
// (n0, N and the base are multiples of kCols); otherwise byte loads, zero past column N.
template <int kCols, bool kAligned>
__device__ __forceinline__ void load_row(const uint8_t* __restrict__ row, int64_t n0, int64_t n,
                                         unsigned (&q)[kCols / 4]) {
  if constexpr (kAligned) {
    if constexpr (kCols == 16) {
      const uint4 v = __ldcs(reinterpret_cast<const uint4*>(row + n0));
      q[0] = v.x, q[1] = v.y, q[2] = v.z, q[3] = v.w;
    } else if constexpr (kCols == 8) {
      const uint2 v = __ldcs(reinterpret_cast<const uint2*>(row + n0));
      q[0] = v.x, q[1] = v.y;
    } else {
      q[0] = __ldcs(reinterpret_cast<const unsigned*>(row + n0));
    }
  } else {
#pragma unroll
    for (int w = 0; w < kCols / 4; ++w) q[w] = 0;
#pragma unroll
    for (int j = 0; j < kCols; ++j)
      if (n0 + j < n) q[j / 4] |= static_cast<unsigned>(__ldg(row + n0 + j)) << (8 * (j % 4));
  }
}

// Byte offset in the replicated codebook of the entry that byte `byte` of `word` indexes, for the
// lane whose copy starts at byte lane4: v * 128 + lane4. The index lands in bits 7..14 and lane4 in
// bits 2..6, so a shift and one AND-OR (LOP3) do it.
// `byte` is a constant after unrolling.
__device__ __forceinline__ unsigned lut_offset(unsigned word, int byte, unsigned lane4) {
  static_assert(kLutCopies * sizeof(float) == 128, "bits 7..14 hold the index");
  const unsigned t = byte == 0 ? word << 7 : word >> (8 * byte - 7);
  return (t & 0x7f80u) | lane4;
}

// Streaming kernel, one pass of nb <= kB batch rows. Grid: (ceil(N / kSlab), splits); block y
// covers rows [y * rows_per_split, min(K, (y + 1) * rows_per_split)). Writes Y (+ bias) when
// gridDim.y == 1, else part[y][b][n].
template <int kB, bool kAligned>
__global__ void __launch_bounds__(kThreads, StreamGeom<kB>::kMinBlocks)
    stream_kernel(const float* __restrict__ x, int64_t ldx, int nb, const uint8_t* __restrict__ wq,
                  const float* __restrict__ lut, int64_t k_total, int64_t n, int64_t rows_per_split,
                  const float* __restrict__ bias, float* __restrict__ y, float* __restrict__ part) {
  using G = StreamGeom<kB>;
  constexpr int kCols = G::kCols;
  __shared__ __align__(16) float lut_rep[kLut * kLutCopies];
  __shared__ __align__(16) float xs[kTileRows * kB];

  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  const int wn = warp % G::kWarpsN, wk = warp / G::kWarpsN;
  const int64_t n0 = blockIdx.x * static_cast<int64_t>(kSlab) + (wn * kWarp + lane) * kCols;
  const bool has_cols = n0 < n;  // kAligned: all kCols columns or none
  const int64_t k_begin = blockIdx.y * rows_per_split;
  const int64_t k_end = k_begin + rows_per_split < k_total ? k_begin + rows_per_split : k_total;

  for (int i = threadIdx.x; i < kLut * kLutCopies; i += kThreads) lut_rep[i] = lut[i / kLutCopies];
  const char* lut_bytes = reinterpret_cast<const char*>(lut_rep);
  const unsigned lane4 = static_cast<unsigned>(lane) * sizeof(float);

  float acc[kB][kCols];
#pragma unroll
  for (int b = 0; b < kB; ++b)
#pragma unroll
    for (int j = 0; j < kCols; ++j) acc[b][j] = 0.0f;

  for (int64_t t0 = k_begin; t0 < k_end; t0 += kTileRows) {
    __syncthreads();  // the previous tile is consumed (first trip: nothing to wait for)
    for (int i = threadIdx.x; i < kTileRows * kB; i += kThreads) {
      const int b = i / kTileRows, r = i % kTileRows;  // coalesced along k
      const int64_t k = t0 + r;
      xs[r * kB + b] = (b < nb && k < k_end) ? __ldg(x + b * ldx + k) : 0.0f;
    }
    __syncthreads();  // xs (and, on the first trip, the codebook) ready
#pragma unroll 1
    for (int round = 0; round < G::kRounds; ++round) {
      const int r0 = (round * G::kWarpsK + wk) * G::kStepRows;  // this warp's first tile row
      // Rows past k_end are skipped; the test is uniform across the warp.
      unsigned q[G::kStepRows][G::kWords];
#pragma unroll
      for (int i = 0; i < G::kStepRows; ++i) {
        const int64_t k = t0 + r0 + i;
        if (k < k_end && has_cols) {
          load_row<kCols, kAligned>(wq + k * n, n0, n, q[i]);
        } else {
#pragma unroll
          for (int w = 0; w < G::kWords; ++w) q[i][w] = 0;  // unused: no columns or past k_end
        }
      }
#pragma unroll
      for (int i = 0; i < G::kStepRows; ++i) {
        if (t0 + r0 + i >= k_end) break;
        const float* xr = xs + (r0 + i) * kB;
        float xv[kB];
        if constexpr (kB % 4 == 0) {
#pragma unroll
          for (int b = 0; b < kB; b += 4) {
            const float4 v = *reinterpret_cast<const float4*>(xr + b);
            xv[b] = v.x, xv[b + 1] = v.y, xv[b + 2] = v.z, xv[b + 3] = v.w;
          }
        } else {
#pragma unroll
          for (int b = 0; b < kB; ++b) xv[b] = xr[b];
        }
#pragma unroll
        for (int j = 0; j < kCols; ++j) {
          const float w =
              *reinterpret_cast<const float*>(lut_bytes + lut_offset(q[i][j / 4], j % 4, lane4));
#pragma unroll
          for (int b = 0; b < kB; ++b) acc[b][j] = fmaf(xv[b], w, acc[b][j]);
        }
      }
    }
  }

  // Combine the kWarpsK warps of each column slice: a fixed tree through shared memory (the
  // codebook's space), half of the warps handing their sums to the other half each step.
  __syncthreads();
  float* buf = lut_rep;
#pragma unroll
  for (int half = G::kWarpsK / 2; half >= 1; half /= 2) {
    const int stride = half * G::kWarpsN * kWarp;  // threads writing per step: lanes contiguous
    if (wk >= half && wk < 2 * half) {
      const int slot = ((wk - half) * G::kWarpsN + wn) * kWarp + lane;
#pragma unroll
      for (int b = 0; b < kB; ++b)
#pragma unroll
        for (int j = 0; j < kCols; ++j) buf[(b * kCols + j) * stride + slot] = acc[b][j];
    }
    __syncthreads();
    if (wk < half) {
      const int slot = (wk * G::kWarpsN + wn) * kWarp + lane;
#pragma unroll
      for (int b = 0; b < kB; ++b)
#pragma unroll
        for (int j = 0; j < kCols; ++j) acc[b][j] += buf[(b * kCols + j) * stride + slot];
    }
    __syncthreads();
  }
  if (wk != 0 || !has_cols) return;
  const bool direct = gridDim.y == 1;
  float* out = direct ? y : part + static_cast<int64_t>(blockIdx.y) * nb * n;
#pragma unroll
  for (int b = 0; b < kB; ++b) {
    if (b >= nb) break;
#pragma unroll
    for (int j = 0; j < kCols; ++j) {
      const int64_t c = n0 + j;
      if (c < n) out[b * n + c] = direct && bias != nullptr ? acc[b][j] + bias[c] : acc[b][j];
    }
  }
}

// y[i] = sum_{s < splits} part[s * count + i] (+ bias[i % n]); splits = 0 writes the bias (or 0).
// Thread (g, c) of a block sums splits g, g + 32, ... of output c; the 32 group sums are then added
// in increasing g. Fixed order: deterministic.
__global__ void __launch_bounds__(kThreads)
    split_sum_kernel(const float* __restrict__ part, int64_t splits, int64_t count, int64_t n,
                     const float* __restrict__ bias, float* __restrict__ y) {
  __shared__ float sums[kRedGroups][kRedCols];
  const int c = threadIdx.x % kRedCols, g = threadIdx.x / kRedCols;
  const int64_t i = blockIdx.x * static_cast<int64_t>(kRedCols) + c;
  float s = 0.0f;
  if (i < count) {
#pragma unroll 4
    for (int64_t sp = g; sp < splits; sp += kRedGroups) s += part[sp * count + i];
  }
  sums[g][c] = s;
  __syncthreads();
  if (g != 0 || i >= count) return;
  float t = sums[0][c];
  for (int j = 1; j < kRedGroups; ++j) t += sums[j][c];
  y[i] = bias != nullptr ? t + bias[i % n] : t;
}

template <bool kVec4>
__global__ void __launch_bounds__(kThreads)
    dequantize_kernel(const float* __restrict__ lut, const uint8_t* __restrict__ idx,
                      float* __restrict__ out, int64_t count) {
  __shared__ float s_lut[kLut];
  s_lut[threadIdx.x] = lut[threadIdx.x];  // kThreads == kLut
  __syncthreads();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kThreads;
  int64_t i = blockIdx.x * static_cast<int64_t>(kThreads) + threadIdx.x;
  if constexpr (kVec4) {  // idx 4-byte and out 16-byte aligned: 4 entries per load and store
    const int64_t n4 = count / 4;
    for (int64_t v = i; v < n4; v += stride) {
      const uchar4 q = reinterpret_cast<const uchar4*>(idx)[v];
      reinterpret_cast<float4*>(out)[v] =
          make_float4(s_lut[q.x], s_lut[q.y], s_lut[q.z], s_lut[q.w]);
    }
    i += n4 * 4;
  }
  for (; i < count; i += stride) out[i] = s_lut[idx[i]];
}
static_assert(kThreads == kLut, "dequantize_kernel loads the codebook with one thread per entry");

// ---- host side ----

void launch_split_sum(const float* part, int64_t splits, int64_t count, int64_t n,
                      const float* bias, float* y, cudaStream_t st) {
  if (count == 0) return;
  const int64_t blocks = (count + kRedCols - 1) / kRedCols;
  Y8M_ASSERT(blocks <= INT32_MAX, "dequant_matmul: {} outputs exceed the grid", count);
  split_sum_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, st>>>(part, splits, count, n, bias,
                                                                       y);
  Y8M_CUDA_LAUNCH_CHECK("dequant_matmul_split_sum");
}

template <class F>
void dispatch_pass_rows(int kb, F&& f) {
  switch (kb) {
    case 1:
      f(std::integral_constant<int, 1>{});
      break;
    case 2:
      f(std::integral_constant<int, 2>{});
      break;
    case 4:
      f(std::integral_constant<int, 4>{});
      break;
    case 8:
      f(std::integral_constant<int, 8>{});
      break;
    case 16:
      f(std::integral_constant<int, 16>{});
      break;
    default:
      Y8M_ASSERT(false, "dequant_matmul: no streaming kernel for {} rows", kb);
  }
}

// Resident blocks per SM of the streaming kernel (the aligned variant sizes the split for both,
// so the plan, and with it the summation order, does not depend on the pointers' alignment).
template <int kB>
int blocks_per_sm() {
  static const int v = [] {
    int blocks = 0;
    Y8M_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, stream_kernel<kB, true>,
                                                                 kThreads, 0));
    return blocks > 0 ? blocks : 1;
  }();
  return v;
}

// One streaming pass: batch rows padded to kb, the K split and the rows per split.
struct PassPlan {
  int kb = 1;
  int64_t slabs = 0, splits = 0, rows_per_split = 0;
};

PassPlan plan_pass(int64_t nb, int64_t k, int64_t n, int device) {
  PassPlan p;
  while (p.kb < nb) p.kb *= 2;
  int sms = 0;
  Y8M_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  int per_sm = 1;
  dispatch_pass_rows(p.kb, [&](auto kb) { per_sm = blocks_per_sm<decltype(kb)::value>(); });
  p.slabs = (n + kSlab - 1) / kSlab;
  // Enough K ranges for one full wave, whole tiles each.
  const int64_t wave = static_cast<int64_t>(std::max(sms, 1)) * per_sm;
  const int64_t tiles = (k + kTileRows - 1) / kTileRows;
  const int64_t want =
      std::clamp<int64_t>((wave + p.slabs - 1) / p.slabs, 1, std::min(tiles, kMaxSplits));
  p.rows_per_split = (tiles + want - 1) / want * kTileRows;
  p.splits = (k + p.rows_per_split - 1) / p.rows_per_split;
  return p;
}

// Calls f(b0, nb) for the streaming passes over the batch, 16 rows at a time.
template <class F>
void for_each_pass(int64_t b, F&& f) {
  for (int64_t b0 = 0; b0 < b; b0 += kMaxPassRows) f(b0, std::min<int64_t>(kMaxPassRows, b - b0));
}

int64_t gemm_chunk_rows(const DequantMatmulSizes& d) {
  return std::clamp<int64_t>(kScratchFloats / std::max<int64_t>(d.n, 1), 1,
                             std::max<int64_t>(d.k, 1));
}

bool aligned_to(const void* p, int64_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(bytes) == 0;
}

void launch_dequantize(const float* lut, const uint8_t* idx, float* out, int64_t count,
                       cudaStream_t st) {
  if (count == 0) return;
  const unsigned grid = engine::cuda::grid_for((count + 3) / 4, kThreads);
  if (aligned_to(idx, 4) && aligned_to(out, 16)) {
    dequantize_kernel<true><<<grid, kThreads, 0, st>>>(lut, idx, out, count);
  } else {
    dequantize_kernel<false><<<grid, kThreads, 0, st>>>(lut, idx, out, count);
  }
  Y8M_CUDA_LAUNCH_CHECK("dequantize");
}

void stream_forward(const float* x, const uint8_t* wq, const float* lut, const float* bias,
                    float* y, const DequantMatmulSizes& d, float* ws, int64_t ws_floats, int device,
                    cudaStream_t st) {
  for_each_pass(d.b, [&](int64_t b0, int64_t nb) {
    const PassPlan p = plan_pass(nb, d.k, d.n, device);
    float* out = y + b0 * d.n;
    Y8M_ASSERT(p.splits == 1 || p.splits * nb * d.n <= ws_floats,
               "dequant_matmul: workspace of {} floats is too small", ws_floats);
    dispatch_pass_rows(p.kb, [&](auto kb_c) {
      constexpr int kB = decltype(kb_c)::value;
      constexpr int kCols = StreamGeom<kB>::kCols;
      const bool aligned = d.n % kCols == 0 && aligned_to(wq, kCols);
      const dim3 grid(static_cast<unsigned>(p.slabs), static_cast<unsigned>(p.splits));
      const float* xp = x + b0 * d.k;
      if (aligned) {
        stream_kernel<kB, true><<<grid, kThreads, 0, st>>>(
            xp, d.k, static_cast<int>(nb), wq, lut, d.k, d.n, p.rows_per_split, bias, out, ws);
      } else {
        stream_kernel<kB, false><<<grid, kThreads, 0, st>>>(
            xp, d.k, static_cast<int>(nb), wq, lut, d.k, d.n, p.rows_per_split, bias, out, ws);
      }
      Y8M_CUDA_LAUNCH_CHECK("dequant_matmul_stream");
    });
    if (p.splits > 1) launch_split_sum(ws, p.splits, nb * d.n, d.n, bias, out, st);
  });
}

void gemm_forward(const float* x, const uint8_t* wq, const float* lut, const float* bias, float* y,
                  const DequantMatmulSizes& d, float* ws, int64_t ws_floats, int device,
                  cudaStream_t st) {
  const int64_t chunk = gemm_chunk_rows(d);
  Y8M_ASSERT(chunk * d.n <= ws_floats, "dequant_matmul: workspace of {} floats is too small",
             ws_floats);
  cublasHandle_t h = engine::cuda::cublas_handle(device);  // bound to the compute stream
  const float one = 1.0f;
  float beta = 0.0f;
  if (bias != nullptr) {  // Y = bias, then every chunk accumulates
    launch_split_sum(nullptr, 0, d.b * d.n, d.n, bias, y, st);
    beta = 1.0f;
  }
  const int n = static_cast<int>(d.n), b = static_cast<int>(d.b), k = static_cast<int>(d.k);
  for (int64_t k0 = 0; k0 < d.k; k0 += chunk) {
    const int kc = static_cast<int>(std::min(chunk, d.k - k0));
    launch_dequantize(lut, wq + k0 * d.n, ws, static_cast<int64_t>(kc) * d.n, st);
    // Row-major Y[B, N] (+)= X[:, k0:k0+kc]·Wc is the column-major Yᵀ = Wcᵀ·X[:, chunk]ᵀ.
    Y8M_CUBLAS_CHECK(
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, b, kc, &one, ws, n, x + k0, k, &beta, y, n));
    beta = 1.0f;
  }
}

}  // namespace

void dequantize(const float* lut, const uint8_t* idx, float* out, int64_t count, cudaStream_t st) {
  launch_dequantize(lut, idx, out, count, st);
}

int64_t dequant_matmul_workspace(const DequantMatmulSizes& d, int device) {
  if (d.b == 0 || d.n == 0 || d.k == 0) return 0;
  if (d.b > kDequantStreamMaxRows) return gemm_chunk_rows(d) * d.n;
  int64_t floats = 0;
  engine::cuda::set_device(device);
  for_each_pass(d.b, [&](int64_t, int64_t nb) {
    const PassPlan p = plan_pass(nb, d.k, d.n, device);
    if (p.splits > 1) floats = std::max(floats, p.splits * nb * d.n);
  });
  return floats;
}

void dequant_matmul_forward(const float* x, const uint8_t* wq, const float* lut, const float* bias,
                            float* y, const DequantMatmulSizes& d, float* workspace,
                            int64_t workspace_floats, int device) {
  if (d.b == 0 || d.n == 0) return;
  engine::cuda::set_device(device);
  cudaStream_t st = engine::cuda::compute_stream(device);
  if (d.k == 0) {  // empty sum: Y = bias (or 0)
    launch_split_sum(nullptr, 0, d.b * d.n, d.n, bias, y, st);
  } else if (d.b <= kDequantStreamMaxRows) {
    stream_forward(x, wq, lut, bias, y, d, workspace, workspace_floats, device, st);
  } else {
    gemm_forward(x, wq, lut, bias, y, d, workspace, workspace_floats, device, st);
  }
}

int64_t dequant_matmul_backward_workspace(const DequantMatmulSizes& d) {
  return d.k == 0 || d.n == 0 ? 0 : gemm_chunk_rows(d) * d.n;
}

void dequant_matmul_backward_x(const float* dy, const uint8_t* wq, const float* lut, float* dx,
                               const DequantMatmulSizes& d, float* workspace,
                               int64_t workspace_floats, int device) {
  if (d.b == 0 || d.k == 0) return;
  Y8M_ASSERT(d.n > 0, "dequant_matmul: backward with N = 0 is the caller's zero fill");
  const int64_t chunk = gemm_chunk_rows(d);
  Y8M_ASSERT(chunk * d.n <= workspace_floats, "dequant_matmul: workspace of {} floats is too small",
             workspace_floats);
  engine::cuda::set_device(device);
  cudaStream_t st = engine::cuda::compute_stream(device);
  cublasHandle_t h = engine::cuda::cublas_handle(device);
  const float one = 1.0f, zero = 0.0f;
  const int n = static_cast<int>(d.n), b = static_cast<int>(d.b), k = static_cast<int>(d.k);
  for (int64_t k0 = 0; k0 < d.k; k0 += chunk) {
    const int kc = static_cast<int>(std::min(chunk, d.k - k0));
    launch_dequantize(lut, wq + k0 * d.n, workspace, static_cast<int64_t>(kc) * d.n, st);
    // Row-major dX[:, k0:k0+kc] = dY·Wcᵀ is the column-major dX[:, chunk]ᵀ = Wc·dYᵀ, where the
    // column-major view of the row-major Wc [kc, N] is Wcᵀ (hence OP_T).
    Y8M_CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, kc, b, n, &one, workspace, n, dy, n,
                                 &zero, dx + k0, k));
  }
}

}  // namespace y8m::ops::cuda
