// CPU kernels of sigmoid_cross_entropy: per-row sums in double, rows in order.
#include "engine/parallel.h"
#include "ops/nn/nn_kernels.h"

#include <cmath>
#include <vector>

namespace y8m::ops::cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;  // elements per task
}

template <class T>
void sigmoid_cross_entropy_forward(const T* p, const T* y, int64_t b, int64_t c, T eps, T* loss) {
  std::vector<double> rows(static_cast<size_t>(b));
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(c, 1));
  engine::parallel_for(0, b, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      double s = 0.0;
      for (int64_t j = r * c; j < (r + 1) * c; ++j) {
        // The element in T, as TensorFlow computes it; the sums in double.
        const T e = -(y[j] * std::log(p[j] + eps) + (T(1) - y[j]) * std::log(T(1) - p[j] + eps));
        s += static_cast<double>(e);
      }
      rows[static_cast<size_t>(r)] = s;
    }
  });
  double total = 0.0;
  for (double s : rows) total += s;
  *loss = static_cast<T>(total / static_cast<double>(b));
}

template <class T>
void sigmoid_cross_entropy_backward(const T* p, const T* y, const T* g, int64_t b, int64_t c, T eps,
                                    T* dp) {
  const T s = -*g * (T(1) / static_cast<T>(b));  // as the CUDA kernel
  engine::parallel_for(0, b * c, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      dp[i] = s * (y[i] / (p[i] + eps) - (T(1) - y[i]) / (T(1) - p[i] + eps));
  });
}

#define Y8M_INSTANTIATE(T)                                                                        \
  template void sigmoid_cross_entropy_forward<T>(const T*, const T*, int64_t, int64_t, T, T*);    \
  template void sigmoid_cross_entropy_backward<T>(const T*, const T*, const T*, int64_t, int64_t, \
                                                  T, T*);
Y8M_INSTANTIATE(float)
Y8M_INSTANTIATE(double)
#undef Y8M_INSTANTIATE

}  // namespace y8m::ops::cpu
