// Kernel declarations of the element-wise family: CPU (elementwise_cpu.cpp) and CUDA launchers
// (elementwise_cuda.cu). Raw pointers and sizes only.
#pragma once
#include "ops/ops_layer.h"

#include "ops/cuda_launcher.h"

#include "ops/elementwise/elementwise_math.h"

#include <cstdint>

namespace y8m::ops {

namespace cpu {
template <class T>
void unary_forward(UnaryKind k, const T* x, T* y, int64_t n, T s);
template <class T>
void unary_backward(UnaryKind k, const T* x, const T* y, const T* dy, T* dx, int64_t n, T s);
template <class T>
void binary_forward(BinaryKind k, const T* a, const T* b, T* out, int64_t n,
                    const BroadcastIndex& bi, bool same_shape);
template <class T>
void sum_to(const T* x, T* out, int64_t n_out, const SumToIndex& si);
}  // namespace cpu

namespace cuda {
Y8M_CUDA_LAUNCHER(void unary_forward(UnaryKind k, const float* x, float* y, int64_t n, float s,
                                     cudaStream_t st));
Y8M_CUDA_LAUNCHER(void unary_backward(UnaryKind k, const float* x, const float* y, const float* dy,
                                      float* dx, int64_t n, float s, cudaStream_t st));
Y8M_CUDA_LAUNCHER(void binary_forward(BinaryKind k, const float* a, const float* b, float* out,
                                      int64_t n, const BroadcastIndex& bi, bool same_shape,
                                      cudaStream_t st));
Y8M_CUDA_LAUNCHER(void sum_to(const float* x, float* out, int64_t n_out, const SumToIndex& si,
                              cudaStream_t st));
}  // namespace cuda

}  // namespace y8m::ops
