// CPU kernels of the fused gated mixture of experts: loops over the (b, c) rows of the shared row
// formulas (gated_moe_kernels.h), split across cores. Each row is independent: no reduction order
// to fix, the result does not depend on the thread count.
#include "engine/parallel.h"
#include "ops/fused/gated_moe_kernels.h"

namespace y8m::ops::cpu {

namespace {
// Rows per task: a row is ~10 exp/divisions, so a few thousand rows amortize the dispatch.
constexpr int64_t kGrain = 4096;
}  // namespace

template <class T>
void gated_moe_forward(const T* gates, const T* experts, T* out, int64_t rows, int64_t m) {
  if (rows == 0) return;
  moe_dispatch_mixtures(m, [&](auto km) {
    constexpr int kM = decltype(km)::value;
    engine::parallel_for(0, rows, kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r)
        out[r] = moe_forward_at<T, kM>(gates + r * (m + 1), experts + r * m, m);
    });
  });
}

template <class T>
void gated_moe_backward(const T* gates, const T* experts, const T* dout, T* dgates, T* dexperts,
                        int64_t rows, int64_t m) {
  if (rows == 0 || (dgates == nullptr && dexperts == nullptr)) return;
  moe_dispatch_mixtures(m, [&](auto km) {
    constexpr int kM = decltype(km)::value;
    engine::parallel_for(0, rows, kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        moe_backward_at<T, kM>(gates + r * (m + 1), experts + r * m, dout[r], m,
                               dgates ? dgates + r * (m + 1) : nullptr,
                               dexperts ? dexperts + r * m : nullptr);
      }
    });
  });
}

#define Y8M_INSTANTIATE(T)                                                      \
  template void gated_moe_forward<T>(const T*, const T*, T*, int64_t, int64_t); \
  template void gated_moe_backward<T>(const T*, const T*, const T*, T*, T*, int64_t, int64_t);
Y8M_INSTANTIATE(float)
Y8M_INSTANTIATE(double)
#undef Y8M_INSTANTIATE

}  // namespace y8m::ops::cpu
