// CUDA-only helpers for code built with Y8M_WITH_CUDA: checks for runtime and cuBLAS calls, the
// per-device compute/copy streams and cuBLAS handle. Include only from .cu files or from .cpp code
// inside `#ifdef Y8M_WITH_CUDA`.
#pragma once
#include "engine/engine_layer.h"

#ifndef Y8M_WITH_CUDA
#error "engine/cuda_context.h is only for CUDA builds"
#endif

#include "engine/error.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

namespace y8m::engine::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t err, const char* expr, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t st, const char* expr, const char* file,
                                     int line);
// Set Y8M_CUDA_SYNC_LAUNCHES=1 to synchronize after every launch and pin a fault to its kernel.
bool sync_after_launch();
void check_launch(const char* kernel, const char* file, int line);

cudaStream_t compute_stream(int device);
cudaStream_t copy_stream(int device);
// cuBLAS handle bound to the device's compute stream; math mode is pedantic fp32 unless TF32 is
// enabled.
cublasHandle_t cublas_handle(int device);
// Opt-in TF32 for cuBLAS GEMMs (DESIGN.md §6); off by default.
void set_tf32_enabled(bool on);
bool tf32_enabled();
// Makes `device` current on this thread (cheap when it already is).
void set_device(int device);

// Grid size for a grid-stride loop over n elements.
inline unsigned grid_for(long long n, int block, int max_blocks = 65535 * 8) {
  long long g = (n + block - 1) / block;
  if (g < 1) g = 1;
  if (g > max_blocks) g = max_blocks;
  return static_cast<unsigned>(g);
}

}  // namespace y8m::engine::cuda

#define Y8M_CUDA_CHECK(expr)                                                      \
  do {                                                                            \
    cudaError_t y8m_err_ = (expr);                                                \
    if (y8m_err_ != cudaSuccess)                                                  \
      ::y8m::engine::cuda::throw_cuda_error(y8m_err_, #expr, __FILE__, __LINE__); \
  } while (0)

#define Y8M_CUBLAS_CHECK(expr)                                                     \
  do {                                                                             \
    cublasStatus_t y8m_st_ = (expr);                                               \
    if (y8m_st_ != CUBLAS_STATUS_SUCCESS)                                          \
      ::y8m::engine::cuda::throw_cublas_error(y8m_st_, #expr, __FILE__, __LINE__); \
  } while (0)

// After a <<<>>> launch: Y8M_CUDA_LAUNCH_CHECK("relu_forward");
#define Y8M_CUDA_LAUNCH_CHECK(kernel) ::y8m::engine::cuda::check_launch(kernel, __FILE__, __LINE__)
