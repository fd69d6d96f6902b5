// CUDA GEMM of the matmul family: cuBLAS strided batched sgemm. cuBLAS calls are host code, so this
// is a .cpp, compiled only in CUDA builds (ops/CMakeLists.txt: *_cuda.cpp).
//
// cuBLAS is column-major. A row-major [r, c] matrix with leading dimension ld is, to cuBLAS, the
// column-major [c, r] matrix (its transpose) with the same ld. So the row-major C = op(A)·op(B) is
// computed as the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: operands swapped, the same transpose flags, and
// m/n exchanged.
#include "engine/cuda_context.h"
#include "ops/matmul/matmul_kernels.h"

namespace y8m::ops::cuda {

void gemm(const GemmShape& g, const float* a, const float* b, float* c, int device) {
  if (g.batch == 0 || g.m == 0 || g.n == 0) return;
  engine::cuda::set_device(device);
  cudaStream_t st = engine::cuda::compute_stream(device);
  if (g.k == 0) {  // empty sum: C = 0; C is contiguous over the batch (stride_c = m*n, ldc = n)
    Y8M_CUDA_CHECK(
        cudaMemsetAsync(c, 0, static_cast<size_t>(g.batch * g.m * g.n) * sizeof(float), st));
    return;
  }
  cublasHandle_t h = engine::cuda::cublas_handle(device);
  const float one = 1.0f, zero = 0.0f;
  const cublasOperation_t op_a = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int m = static_cast<int>(g.m), n = static_cast<int>(g.n), k = static_cast<int>(g.k);
  const int lda = static_cast<int>(g.lda), ldb = static_cast<int>(g.ldb),
            ldc = static_cast<int>(g.ldc);
  if (g.batch == 1) {
    Y8M_CUBLAS_CHECK(cublasSgemm(h, op_b, op_a, n, m, k, &one, b, ldb, a, lda, &zero, c, ldc));
    return;
  }
  // Batch counts are int in cuBLAS; the op entry checked the range.
  Y8M_CUBLAS_CHECK(cublasSgemmStridedBatched(h, op_b, op_a, n, m, k, &one, b, ldb, g.stride_b, a,
                                             lda, g.stride_a, &zero, c, ldc, g.stride_c,
                                             static_cast<int>(g.batch)));
}

}  // namespace y8m::ops::cuda
