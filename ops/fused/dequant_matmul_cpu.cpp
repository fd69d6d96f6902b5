// CPU kernels of the dequant matmul: W is dequantized a chunk of rows at a time into the caller's
// scratch buffer (parallel over elements), and OpenBLAS multiplies each chunk. Chunks run in
// increasing row order, and each GEMM accumulates into Y, so the result does not depend on the
// thread count beyond what OpenBLAS itself does. The GEMMs run outside parallel_for (OpenBLAS runs
// its own threads).
#include "engine/parallel.h"
#include "ops/fused/dequant_matmul_kernels.h"
#include "ops/matmul/matmul_kernels.h"

#include <cblas.h>

#include <algorithm>

namespace y8m::ops::cpu {

namespace {

constexpr int64_t kGrain = int64_t(1) << 16;       // elements per dequantization task
constexpr int64_t kChunkElems = int64_t(1) << 20;  // dequantized elements per chunk

// Row-major C = op(A)·op(B) with alpha = 1; the op entry has checked that the sizes fit blasint.
void gemm(bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
          int64_t ldb, float beta, float* c, int64_t ldc) {
  configure_blas();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), 1.0f, a, static_cast<blasint>(lda),
              b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void gemm(bool tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b,
          int64_t ldb, double beta, double* c, int64_t ldc) {
  configure_blas();
  cblas_dgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), 1.0, a, static_cast<blasint>(lda),
              b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

}  // namespace

template <class T>
void dequantize(const float* lut, const uint8_t* idx, T* out, int64_t count) {
  engine::parallel_for(0, count, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = static_cast<T>(lut[idx[i]]);
  });
}

int64_t dequant_matmul_chunk_rows(const DequantMatmulSizes& d) {
  if (d.k == 0 || d.n == 0) return 0;
  return std::clamp<int64_t>(kChunkElems / d.n, 1, d.k);
}

template <class T>
void dequant_matmul_forward(const T* x, const uint8_t* wq, const float* lut, const T* bias, T* y,
                            const DequantMatmulSizes& d, T* scratch, int64_t chunk_rows) {
  if (d.b == 0 || d.n == 0) return;
  // Y starts as the bias (or zero); every chunk's GEMM adds to it (beta = 1).
  engine::parallel_for(0, d.b * d.n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] = bias != nullptr ? bias[i % d.n] : T(0);
  });
  for (int64_t k0 = 0; k0 < d.k; k0 += chunk_rows) {
    const int64_t kc = std::min(chunk_rows, d.k - k0);
    dequantize<T>(lut, wq + k0 * d.n, scratch, kc * d.n);
    // Y[B, N] += X[:, k0:k0+kc] · W[k0:k0+kc, :]
    gemm(false, d.b, d.n, kc, x + k0, d.k, scratch, d.n, T(1), y, d.n);
  }
}

template <class T>
void dequant_matmul_backward_x(const T* dy, const uint8_t* wq, const float* lut, T* dx,
                               const DequantMatmulSizes& d, T* scratch, int64_t chunk_rows) {
  if (d.b == 0 || d.k == 0) return;
  if (d.n == 0) {  // empty sum
    std::fill(dx, dx + d.b * d.k, T(0));
    return;
  }
  for (int64_t k0 = 0; k0 < d.k; k0 += chunk_rows) {
    const int64_t kc = std::min(chunk_rows, d.k - k0);
    dequantize<T>(lut, wq + k0 * d.n, scratch, kc * d.n);
    // dX[:, k0:k0+kc] = dY[B, N] · W[k0:k0+kc, :]ᵀ (columns of dX: leading dimension K)
    gemm(true, d.b, kc, d.n, dy, d.n, scratch, d.n, T(0), dx + k0, d.k);
  }
}

#define Y8M_INSTANTIATE(T)                                                                      \
  template void dequantize<T>(const float*, const uint8_t*, T*, int64_t);                       \
  template void dequant_matmul_forward<T>(const T*, const uint8_t*, const float*, const T*, T*, \
                                          const DequantMatmulSizes&, T*, int64_t);              \
  template void dequant_matmul_backward_x<T>(const T*, const uint8_t*, const float*, T*,        \
                                             const DequantMatmulSizes&, T*, int64_t);
Y8M_INSTANTIATE(float)
Y8M_INSTANTIATE(double)
#undef Y8M_INSTANTIATE

}  // namespace y8m::ops::cpu
