// Kernel declarations of the dequant matmul (ops/fused/dequant_matmul.h): CPU kernels
// (dequant_matmul_cpu.cpp, float/double activations) and CUDA launchers (dequant_matmul_cuda.cu,
// f32). Raw pointers and sizes only; scratch memory comes from the caller (the op entry allocates
// it with Tensor::empty, the benchmark once before its loop).
//
// Layouts: X [B, K] and dX [B, K] row-major (leading dimension K), Wq [K, N] u8 row-major, the
// codebook `lut` [256] f32, bias [N] (nullptr: none), Y and dY [B, N] row-major. Y and dX are
// overwritten. W = lut[Wq] is never materialized whole: the GEMM paths dequantize `chunk_rows` rows
// of Wq at a time into the scratch buffer ([chunk_rows, N] of the activation type) and accumulate
// one GEMM per chunk in increasing row order; the CUDA streaming path (B <= 64) reads Wq directly.
#pragma once
#include "ops/ops_layer.h"

#include "ops/cuda_launcher.h"

#include <cstdint>

namespace y8m::ops {

// Y[B, N] = X[B, K] · lut[Wq[K, N]].
struct DequantMatmulSizes {
  int64_t b = 0, k = 0, n = 0;
};

namespace cpu {
// out[i] = lut[idx[i]] (converted to T; exact, as float -> double is), parallel over i.
template <class T>
void dequantize(const float* lut, const uint8_t* idx, T* out, int64_t count);
// Rows of Wq per scratch chunk (about 1M elements: the chunk stays in cache for the GEMM).
int64_t dequant_matmul_chunk_rows(const DequantMatmulSizes& d);
// Y = X·W (+ bias): per chunk, parallel dequantization, then one OpenBLAS GEMM accumulating into Y
// (OpenBLAS threads itself, so it runs outside parallel_for).
template <class T>
void dequant_matmul_forward(const T* x, const uint8_t* wq, const float* lut, const T* bias, T* y,
                            const DequantMatmulSizes& d, T* scratch, int64_t chunk_rows);
// dX = dY·Wᵀ: per chunk of rows of W, the matching columns of dX.
template <class T>
void dequant_matmul_backward_x(const T* dy, const uint8_t* wq, const float* lut, T* dx,
                               const DequantMatmulSizes& d, T* scratch, int64_t chunk_rows);
}  // namespace cpu

namespace cuda {
Y8M_CUDA_LAUNCHER(void dequantize(const float* lut, const uint8_t* idx, float* out, int64_t count,
                                  cudaStream_t st));

// Batches of up to this many rows take the streaming path; larger ones the chunked cuBLAS path.
inline constexpr int64_t kDequantStreamMaxRows = 64;

// Floats of workspace dequant_matmul_forward needs for `d` on `device`: the split-K partial sums of
// the streaming path, or the dequantized chunk of the GEMM path.
Y8M_CUDA_LAUNCHER(int64_t dequant_matmul_workspace(const DequantMatmulSizes& d, int device));
// Y = X·W (+ bias) on the device's compute stream (its cuBLAS handle for large B). Deterministic:
// for a given device and sizes the summation order is fixed (no atomics).
Y8M_CUDA_LAUNCHER(void dequant_matmul_forward(const float* x, const uint8_t* wq, const float* lut,
                                              const float* bias, float* y,
                                              const DequantMatmulSizes& d, float* workspace,
                                              int64_t workspace_floats, int device));
// Floats of scratch dequant_matmul_backward_x needs (one dequantized chunk of rows).
Y8M_CUDA_LAUNCHER(int64_t dequant_matmul_backward_workspace(const DequantMatmulSizes& d));
// dX = dY·Wᵀ: chunked dequantization + cuBLAS sgemm per chunk (N > 0).
Y8M_CUDA_LAUNCHER(void dequant_matmul_backward_x(const float* dy, const uint8_t* wq,
                                                 const float* lut, float* dx,
                                                 const DequantMatmulSizes& d, float* workspace,
                                                 int64_t workspace_floats, int device));
}  // namespace cuda

}  // namespace y8m::ops
