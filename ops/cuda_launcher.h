// Declarations of CUDA launchers that also compile without CUDA, as MLX's no_gpu backend does: in a
// CPU-only build every launcher declared with Y8M_CUDA_LAUNCHER is an inline stub that fails, so op
// entries call launchers without #ifdef blocks (a CUDA tensor cannot exist there, so no stub runs).
//   Y8M_CUDA_LAUNCHER(void f(const float* x, int64_t n, cudaStream_t st));
#pragma once
#include "ops/ops_layer.h"

#ifdef Y8M_WITH_CUDA
#include <cuda_runtime.h>
#define Y8M_CUDA_LAUNCHER(...) __VA_ARGS__
#else
struct CUstream_st;
using cudaStream_t = CUstream_st*;  // the CUDA runtime's own definition
namespace y8m::ops::detail {
[[noreturn]] void no_cuda_build();  // ops/op_common.cpp
}  // namespace y8m::ops::detail
#define Y8M_CUDA_LAUNCHER(...) \
  inline __VA_ARGS__ { ::y8m::ops::detail::no_cuda_build(); }
#endif
