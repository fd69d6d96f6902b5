// Kernel declarations of the fused vlad op (ops/fused/vlad.h): CPU kernels (vlad_cpu.cpp, templated
// on float/double) and CUDA launchers (vlad_cuda.cu, f32 only), plus the per-element formulas both
// share. Raw pointers and sizes only; the op entry (vlad.cpp) owns the tensors, runs the softmax
// (reduce family kernels) and the GEMMs (matmul family kernels) between these stages.
//
// Layouts (d = VladSizes): A and the softmax gradient [B*S, K]; the aggregate `agg`, the
// intra-normalized aggregate `y` and its gradient `dagg` [B, F, K] (element (f, k) of video b at
// b*F*K + f*K + k, the output's layout); centers and their gradient [F, K]; per-(b, k) statistics
// [B, K]; per-video statistics [B]. Squared norms and other sums accumulate in double (ReduceAcc)
// and the statistics that backward reuses are stored in double.
//
// Forward (after agg[b] = Z_bᵀ·A_b):
//   vlad_intra_forward   asum, v = agg - asum*C, ssq_intra = sum_f v², y = v / norm (into agg),
//                        ssq_y = sum_f y²                                    per (b, k)
//   vlad_global_forward  ssq_global[b] = sum_k ssq_y[b, k], out = y / norm     per b
// Backward, from dout [B, F*K]:
//   vlad_norm_backward   dy = global l2 backward of dout, dagg = intra l2 backward of dy,
//                        dasum[b, k] = -sum_f C[f, k] * dagg[b, f, k]
//   vlad_centers_backward dC[f, k] = -sum_b asum[b, k] * dagg[b, f, k]    (b in increasing order)
//   (GEMMs: dz_b = A_b·dagg_bᵀ, dA_b = Z_b·dagg_b)
//   vlad_softmax_backward u = dA + dasum[b, :]; dlogits = A * (u - sum_k A*u)   (in place over dA)
#pragma once
#include "ops/ops_layer.h"

#include "ops/cuda_launcher.h"

#include "ops/reduce/reduce_math.h"

#include <cstdint>
#include <type_traits>

namespace y8m::ops {

// B videos of S frames, F features, K clusters.
struct VladSizes {
  int64_t b = 0, s = 0, f = 0, k = 0;
};

// a * b, kept out of FMA contraction on the device so that CUDA rounds like the CPU (which builds
// with -ffp-contract=off).
template <class T>
Y8M_HD T vlad_mul(T a, T b) {
#ifdef __CUDA_ARCH__
  if constexpr (std::is_same_v<T, float>) return __fmul_rn(a, b);
#endif
  return a * b;
}

// The residual agg - asum * C (the composite's sub(agg, mul(asum, C))).
template <class T>
Y8M_HD T vlad_residual(T agg, T asum, T c) {
  return agg - vlad_mul(asum, c);
}

// One step of l2_normalize's backward (reduce_math.h): (dy - x * coef) * inv.
template <class T>
Y8M_HD T vlad_l2_step(T dy, T x, T coef, T inv) {
  return (dy - vlad_mul(x, coef)) * inv;
}

// Coefficient of the intra-normalization backward written in terms of y = v / norm instead of v:
// v * (dy·v) / (v·v) = y * (dy·y) / (y·y), so coef = p / q with p = sum_f dy*y and q = sum_f y².
// Zero when the forward clamped (ssq_intra <= 1e-12: the norm was a constant).
template <class T>
Y8M_HD T vlad_intra_coef(ReduceAcc ssq_intra, ReduceAcc p, ReduceAcc q) {
  return ssq_intra > kL2NormEps && q > 0 ? static_cast<T>(p / q) : T(0);
}

namespace cpu {
// centers and asum are null for LightVLAD. agg holds Z_bᵀ·A_b on entry and y on return.
template <class T>
void vlad_intra_forward(const VladSizes& d, const T* a, const T* centers, T* agg, T* asum,
                        ReduceAcc* ssq_intra, ReduceAcc* ssq_y);
// out may alias y.
template <class T>
void vlad_global_forward(const VladSizes& d, const ReduceAcc* ssq_y, const T* y,
                         ReduceAcc* ssq_global, T* out);
// centers, asum and dasum are null when there are no centers or dasum is not wanted. scratch holds
// B*K + B accumulators.
template <class T>
void vlad_norm_backward(const VladSizes& d, const T* dout, const T* y, const T* centers,
                        const ReduceAcc* ssq_intra, const ReduceAcc* ssq_global, T* dagg, T* dasum,
                        ReduceAcc* scratch);
template <class T>
void vlad_centers_backward(const VladSizes& d, const T* asum, const T* dagg, T* dcenters);
// da: the GEMM result Z_b·dagg_b on entry, dlogits on return. dasum may be null (no centers).
template <class T>
void vlad_softmax_backward(const VladSizes& d, const T* a, const T* dasum, T* da);
}  // namespace cpu

namespace cuda {
Y8M_CUDA_LAUNCHER(void vlad_intra_forward(const VladSizes& d, const float* a, const float* centers,
                                          float* agg, float* asum, ReduceAcc* ssq_intra,
                                          ReduceAcc* ssq_y, cudaStream_t st));
Y8M_CUDA_LAUNCHER(void vlad_global_forward(const VladSizes& d, const ReduceAcc* ssq_y,
                                           const float* y, ReduceAcc* ssq_global, float* out,
                                           cudaStream_t st));
Y8M_CUDA_LAUNCHER(void vlad_norm_backward(const VladSizes& d, const float* dout, const float* y,
                                          const float* centers, const ReduceAcc* ssq_intra,
                                          const ReduceAcc* ssq_global, float* dagg, float* dasum,
                                          ReduceAcc* scratch, cudaStream_t st));
Y8M_CUDA_LAUNCHER(void vlad_centers_backward(const VladSizes& d, const float* asum,
                                             const float* dagg, float* dcenters, cudaStream_t st));
Y8M_CUDA_LAUNCHER(void vlad_softmax_backward(const VladSizes& d, const float* a, const float* dasum,
                                             float* da, cudaStream_t st));
}  // namespace cuda

}  // namespace y8m::ops
