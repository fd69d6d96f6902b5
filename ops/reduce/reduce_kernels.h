// Kernel declarations of the reduce family: CPU (reduce_cpu.cpp) and CUDA launchers
// (reduce_cuda.cu). Raw pointers and sizes only. An axis reduction sees its contiguous input as
// [outer, n, inner] with the reduced axis in the middle; its output (and argmax) is [outer, inner].
// Softmax works on rows: [rows, n] with the reduced axis last.
#pragma once
#include "ops/ops_layer.h"

#include "ops/cuda_launcher.h"

#include "ops/reduce/reduce_math.h"

#include <cstdint>

namespace y8m::ops {

namespace cpu {
// y[o, i] = sum / mean / max over j of x[o, j, i]. For max, argmax (if not null) receives the first
// maximal j; n must be > 0 for max.
template <class T>
void reduce_axis(ReduceKind k, const T* x, T* y, int64_t* argmax, int64_t outer, int64_t n,
                 int64_t inner);
// dx[o, j, i] = dy[o, i] * scale (backward of sum with scale 1, of mean with scale 1/n).
template <class T>
void broadcast_axis(const T* dy, T* dx, int64_t outer, int64_t n, int64_t inner, T scale);
// dx[o, j, i] = dy[o, i] where j == argmax[o, i], else 0.
template <class T>
void max_backward(const T* dy, const int64_t* argmax, T* dx, int64_t outer, int64_t n,
                  int64_t inner);
// y = exp(x - max) / sum(exp(x - max)) per row.
template <class T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t n);
// dx = y * (dy - sum(dy * y)) per row.
template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t n);
// y = x / sqrt(max(sum_j x^2, 1e-12)) per (o, i).
template <class T>
void l2_normalize_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner);
// dx from x and dy (see l2_backward_coef in reduce_math.h); y is not needed.
template <class T>
void l2_normalize_backward(const T* x, const T* dy, T* dx, int64_t outer, int64_t n, int64_t inner);
}  // namespace cpu

namespace cuda {
Y8M_CUDA_LAUNCHER(void reduce_axis(ReduceKind k, const float* x, float* y, int64_t* argmax,
                                   int64_t outer, int64_t n, int64_t inner, cudaStream_t st));
Y8M_CUDA_LAUNCHER(void broadcast_axis(const float* dy, float* dx, int64_t outer, int64_t n,
                                      int64_t inner, float scale, cudaStream_t st));
Y8M_CUDA_LAUNCHER(void max_backward(const float* dy, const int64_t* argmax, float* dx,
                                    int64_t outer, int64_t n, int64_t inner, cudaStream_t st));
Y8M_CUDA_LAUNCHER(void softmax_forward(const float* x, float* y, int64_t rows, int64_t n,
                                       cudaStream_t st));
Y8M_CUDA_LAUNCHER(void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows,
                                        int64_t n, cudaStream_t st));
Y8M_CUDA_LAUNCHER(void l2_normalize_forward(const float* x, float* y, int64_t outer, int64_t n,
                                            int64_t inner, cudaStream_t st));
Y8M_CUDA_LAUNCHER(void l2_normalize_backward(const float* x, const float* dy, float* dx,
                                             int64_t outer, int64_t n, int64_t inner,
                                             cudaStream_t st));
}  // namespace cuda

}  // namespace y8m::ops
