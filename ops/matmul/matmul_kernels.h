// Kernel declarations of the matmul family: a strided batched GEMM on row-major matrices,
//   C[b] = op(A[b]) · op(B[b])   for b in [0, batch),
// with op(X) = X or Xᵀ. A stride of 0 broadcasts that operand over the batch. lda/ldb/ldc are the
// row-major leading dimensions of the stored (not transposed) matrices. Raw pointers and sizes
// only.
#pragma once
#include "ops/ops_layer.h"

#include "ops/cuda_launcher.h"

#include <cstdint>

namespace y8m::ops {

// Geometry of one batched GEMM call (C is [batch, m, n]; inner dimension k).
struct GemmShape {
  bool trans_a = false;
  bool trans_b = false;
  int64_t batch = 1;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;  // elements between batch entries
};

namespace cpu {
// Called before the first BLAS call (idempotent, thread-safe). OpenBLAS's idle worker threads spin
// on sched_yield for 2^28 cycles after every call before they sleep; on a 2-core machine that took
// ~20 % of the CPU from the reader and the element-wise ops (NetVLAD quickstart training: ~330
// examples/s, ~410 without). Unless OPENBLAS_THREAD_TIMEOUT is set, this sets OpenBLAS's shortest
// timeout (2^4 cycles) and restarts its thread pool; with another BLAS it does nothing.
void configure_blas();
// OpenBLAS sgemm/dgemm, one call per batch entry (never inside parallel_for: OpenBLAS threads
// itself).
template <class T>
void gemm(const GemmShape& g, const T* a, const T* b, T* c);
}  // namespace cpu

namespace cuda {
// cublasSgemmStridedBatched on the device's handle (bound to its compute stream); `device` selects
// it.
Y8M_CUDA_LAUNCHER(void gemm(const GemmShape& g, const float* a, const float* b, float* c,
                            int device));
}  // namespace cuda

}  // namespace y8m::ops
