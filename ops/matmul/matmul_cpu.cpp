// CPU GEMM of the matmul family: OpenBLAS, row-major, one call per batch entry. OpenBLAS runs its
// own threads, so this must not be called from inside engine::parallel_for.
#include "ops/matmul/matmul_kernels.h"

#include <cblas.h>

#include <cstdlib>
#include <mutex>

// OpenBLAS entry points outside cblas.h, weak so that another BLAS still links (they are then
// null).
extern "C" {
void openblas_read_env(void) __attribute__((weak));
int blas_thread_shutdown_(void) __attribute__((weak));
int blas_thread_init(void) __attribute__((weak));
}

namespace y8m::ops::cpu {

void configure_blas() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (openblas_read_env == nullptr || blas_thread_shutdown_ == nullptr ||
        blas_thread_init == nullptr || std::getenv("OPENBLAS_THREAD_TIMEOUT") != nullptr)
      return;
    ::setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
    openblas_read_env();  // OpenBLAS read its environment when it was loaded: read it again
    blas_thread_shutdown_();
    blas_thread_init();
  });
}

namespace {

CBLAS_TRANSPOSE blas_op(bool t) { return t ? CblasTrans : CblasNoTrans; }

// cblas takes blasint sizes; the op entry has checked that every size fits.
void gemm_one(const GemmShape& g, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, blas_op(g.trans_a), blas_op(g.trans_b), static_cast<blasint>(g.m),
              static_cast<blasint>(g.n), static_cast<blasint>(g.k), 1.0f, a,
              static_cast<blasint>(g.lda), b, static_cast<blasint>(g.ldb), 0.0f, c,
              static_cast<blasint>(g.ldc));
}

void gemm_one(const GemmShape& g, const double* a, const double* b, double* c) {
  cblas_dgemm(CblasRowMajor, blas_op(g.trans_a), blas_op(g.trans_b), static_cast<blasint>(g.m),
              static_cast<blasint>(g.n), static_cast<blasint>(g.k), 1.0, a,
              static_cast<blasint>(g.lda), b, static_cast<blasint>(g.ldb), 0.0, c,
              static_cast<blasint>(g.ldc));
}

}  // namespace

template <class T>
void gemm(const GemmShape& g, const T* a, const T* b, T* c) {
  if (g.batch == 0 || g.m == 0 || g.n == 0) return;
  configure_blas();
  if (g.k ==
      0) {  // empty sum: C = 0 (BLAS would also accept it, but lda >= 1 rules get in the way)
    for (int64_t i = 0; i < g.batch; ++i)
      for (int64_t r = 0; r < g.m; ++r)
        for (int64_t j = 0; j < g.n; ++j) c[i * g.stride_c + r * g.ldc + j] = T(0);
    return;
  }
  for (int64_t i = 0; i < g.batch; ++i)
    gemm_one(g, a + i * g.stride_a, b + i * g.stride_b, c + i * g.stride_c);
}

template void gemm<float>(const GemmShape&, const float*, const float*, float*);
template void gemm<double>(const GemmShape&, const double*, const double*, double*);

}  // namespace y8m::ops::cpu
