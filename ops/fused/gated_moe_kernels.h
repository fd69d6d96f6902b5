// Kernels of the fused gated mixture of experts (gated_moe.h): the per-(b, c) formulas shared by
// the CPU and CUDA kernels, and the kernel/launcher declarations (raw pointers and sizes only).
//
// A "row" is one (b, c) pair: M+1 contiguous gate logits g (class-major layout) and M contiguous
// expert logits e. Rows are independent, so every kernel is a loop over B*V rows with no reduction
// across threads (deterministic, no atomics). kM > 0 fixes M at compile time (MoeRowTerms keeps
// the row's exponentials and sigmoids in registers); kM == 0 is the general path for any M >= 1.
// Both paths run the same formula functions.
#pragma once
#include "ops/ops_layer.h"

#include "ops/cuda_launcher.h"

#include "engine/philox.h"  // Y8M_HD

#include <cmath>
#include <cstdint>
#include <type_traits>

namespace y8m::ops {

template <class T>
Y8M_HD T moe_sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));  // as the sigmoid op (elementwise_math.h)
}

// Max of a row's M+1 gate logits (the softmax shift: exp never sees a positive argument).
template <class T>
Y8M_HD T moe_row_max(const T* g, int64_t m) {
  T mx = g[m];  // the dummy expert's logit
  for (int64_t j = 0; j < m; ++j) mx = g[j] > mx ? g[j] : mx;
  return mx;
}

// The unnormalized softmax weights w_j = exp(g_j - max) (j <= M) and the sigmoids s_j (j < M) of
// one row. kM > 0: each is computed once into local arrays (registers: the loops have constant trip
// counts and unroll), which also loads the whole row before the backward's first store.
template <class T, int kM>
struct MoeRowTerms {
  T w[kM + 1], s[kM];
  Y8M_HD MoeRowTerms(const T* g, const T* e, int64_t /*m*/, T mx) {
    for (int j = 0; j < kM; ++j) {
      w[j] = std::exp(g[j] - mx);
      s[j] = moe_sigmoid(e[j]);
    }
    w[kM] = std::exp(g[kM] - mx);
  }
  Y8M_HD T weight(int64_t j) const { return w[j]; }
  Y8M_HD T sig(int64_t j) const { return s[j]; }
};

// kM == 0 (any M): no arrays of runtime size, so each access recomputes from the row in memory.
template <class T>
struct MoeRowTerms<T, 0> {
  const T* g;
  const T* e;
  T mx;
  Y8M_HD MoeRowTerms(const T* g_, const T* e_, int64_t /*m*/, T mx_) : g(g_), e(e_), mx(mx_) {}
  Y8M_HD T weight(int64_t j) const { return std::exp(g[j] - mx); }
  Y8M_HD T sig(int64_t j) const { return moe_sigmoid(e[j]); }
};

// p = sum_{j<M} w_j s_j / sum_{j<=M} w_j; also returns 1 / sum_{j<=M} w_j.
template <class T, class Terms>
Y8M_HD T moe_mix(const Terms& t, int64_t m, T* inv_den_out) {
  T den = t.weight(m);
  T num = T(0);
  for (int64_t j = 0; j < m; ++j) {
    const T w = t.weight(j);
    den += w;
    num += w * t.sig(j);
  }
  const T inv_den = T(1) / den;
  *inv_den_out = inv_den;
  return num * inv_den;
}

// Forward of one row (gates g[0..M], experts e[0..M-1]): p = sum_{j<M} softmax(g)_j sigmoid(e_j).
template <class T, int kM>
Y8M_HD T moe_forward_at(const T* g, const T* e, int64_t m_runtime) {
  const int64_t m = kM > 0 ? kM : m_runtime;
  const MoeRowTerms<T, kM> t(g, e, m, moe_row_max(g, m));
  T inv_den;
  return moe_mix(t, m, &inv_den);
}

// Backward of one row from dp = dL/dp[b, c]; writes (overwrites) dg[0..M] and de[0..M-1], either of
// which may be null (gradient not wanted). With pi_j = w_j / sum w:
//   dg_j = pi_j (s_j - p) dp for j < M,  dg_M = -pi_M p dp,  de_j = pi_j s_j (1 - s_j) dp.
template <class T, int kM>
Y8M_HD void moe_backward_at(const T* g, const T* e, T dp, int64_t m_runtime, T* dg, T* de) {
  const int64_t m = kM > 0 ? kM : m_runtime;
  const MoeRowTerms<T, kM> t(g, e, m, moe_row_max(g, m));
  T inv_den;
  const T p = moe_mix(t, m, &inv_den);
  const T scale = inv_den * dp;
  for (int64_t j = 0; j < m; ++j) {
    const T pi_dp = t.weight(j) * scale;
    const T s = t.sig(j);
    if (dg) dg[j] = pi_dp * (s - p);
    if (de) de[j] = pi_dp * (s * (T(1) - s));
  }
  if (dg) dg[m] = -(t.weight(m) * scale) * p;
}

// Calls f(std::integral_constant<int, kM>) with kM = m for the specialized sizes (the configs use
// M = 2), else kM = 0 (general path).
template <class F>
void moe_dispatch_mixtures(int64_t m, F&& f) {
  switch (m) {
    case 1:
      f(std::integral_constant<int, 1>{});
      break;
    case 2:
      f(std::integral_constant<int, 2>{});
      break;
    case 3:
      f(std::integral_constant<int, 3>{});
      break;
    case 4:
      f(std::integral_constant<int, 4>{});
      break;
    default:
      f(std::integral_constant<int, 0>{});
      break;
  }
}

// rows = B*V; gates [rows, m+1], experts [rows, m], out/dout [rows]. In the backward, dgates or
// dexperts may be null (not wanted); the others are overwritten.
namespace cpu {
template <class T>
void gated_moe_forward(const T* gates, const T* experts, T* out, int64_t rows, int64_t m);
template <class T>
void gated_moe_backward(const T* gates, const T* experts, const T* dout, T* dgates, T* dexperts,
                        int64_t rows, int64_t m);
}  // namespace cpu

namespace cuda {
Y8M_CUDA_LAUNCHER(void gated_moe_forward(const float* gates, const float* experts, float* out,
                                         int64_t rows, int64_t m, cudaStream_t st));
Y8M_CUDA_LAUNCHER(void gated_moe_backward(const float* gates, const float* experts,
                                          const float* dout, float* dgates, float* dexperts,
                                          int64_t rows, int64_t m, cudaStream_t st));
}  // namespace cuda

}  // namespace y8m::ops
