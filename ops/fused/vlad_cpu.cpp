// CPU kernels of the fused vlad op (contract in vlad_kernels.h).
//
// The per-(b, k) stages run as tasks of one video and a block of up to kCols clusters: every pass
// over f (or s) reads one contiguous stretch of kCols values per step, and each column's sums
// accumulate sequentially in f (or s), in double, which is the order of the reduce family's
// middle-axis kernels that the composite uses. Per-video sums over k run sequentially in k.
#include "engine/parallel.h"
#include "ops/fused/vlad_kernels.h"

#include <algorithm>
#include <vector>

namespace y8m::ops::cpu {

namespace {

constexpr int64_t kGrain = 1 << 14;  // elements of work per parallel chunk, at least
constexpr int64_t kCols = 64;        // clusters per task

// Calls fn(b, k0, k1) for every video b and cluster block [k0, k1), in parallel; `per_col` is the
// work of one column (for the grain).
template <class Fn>
void for_each_cluster_block(const VladSizes& d, int64_t per_col, const Fn& fn) {
  if (d.b == 0 || d.k == 0) return;
  const int64_t blocks = (d.k + kCols - 1) / kCols;
  const int64_t work = std::max<int64_t>(1, per_col * std::min(d.k, kCols));
  engine::parallel_for(0, d.b * blocks, std::max<int64_t>(1, kGrain / work),
                       [&](int64_t t0, int64_t t1) {
                         for (int64_t t = t0; t < t1; ++t) {
                           const int64_t k0 = (t % blocks) * kCols;
                           fn(t / blocks, k0, std::min(d.k, k0 + kCols));
                         }
                       });
}

}  // namespace

template <class T>
void vlad_intra_forward(const VladSizes& d, const T* a, const T* centers, T* agg, T* asum,
                        ReduceAcc* ssq_intra, ReduceAcc* ssq_y) {
  const int64_t K = d.k;
  for_each_cluster_block(d, d.s + 2 * d.f, [&](int64_t b, int64_t k0, int64_t k1) {
    const int64_t w = k1 - k0;
    T as[kCols] = {};
    if (centers != nullptr) {
      ReduceAcc acc[kCols] = {};
      for (int64_t s = 0; s < d.s; ++s) {
        const T* ar = a + (b * d.s + s) * K + k0;
        for (int64_t c = 0; c < w; ++c) acc[c] += static_cast<ReduceAcc>(ar[c]);
      }
      for (int64_t c = 0; c < w; ++c) as[c] = asum[b * K + k0 + c] = static_cast<T>(acc[c]);
    }
    T* g = agg + b * d.f * K + k0;
    // v = agg - asum*C (recomputed in the second pass instead of stored).
    auto resid = [&](int64_t f, int64_t c) {
      return centers == nullptr ? g[f * K + c]
                                : vlad_residual(g[f * K + c], as[c], centers[f * K + k0 + c]);
    };
    ReduceAcc s1[kCols] = {};
    for (int64_t f = 0; f < d.f; ++f)
      for (int64_t c = 0; c < w; ++c) {
        const ReduceAcc v = resid(f, c);
        s1[c] += v * v;
      }
    T inv[kCols];
    for (int64_t c = 0; c < w; ++c) inv[c] = l2_inv_norm<T>(s1[c]);
    ReduceAcc q[kCols] = {};
    for (int64_t f = 0; f < d.f; ++f)
      for (int64_t c = 0; c < w; ++c) {
        const T y = resid(f, c) * inv[c];
        g[f * K + c] = y;
        q[c] += static_cast<ReduceAcc>(y) * y;
      }
    for (int64_t c = 0; c < w; ++c) {
      ssq_intra[b * K + k0 + c] = s1[c];
      ssq_y[b * K + k0 + c] = q[c];
    }
  });
}

template <class T>
void vlad_global_forward(const VladSizes& d, const ReduceAcc* ssq_y, const T* y,
                         ReduceAcc* ssq_global, T* out) {
  std::vector<T> inv(static_cast<size_t>(d.b));
  for (int64_t b = 0; b < d.b; ++b) {
    ReduceAcc s = 0;
    for (int64_t k = 0; k < d.k; ++k) s += ssq_y[b * d.k + k];
    ssq_global[b] = s;
    inv[static_cast<size_t>(b)] = l2_inv_norm<T>(s);
  }
  const int64_t row = d.f * d.k, n = d.b * row;
  engine::parallel_for(0, n, kGrain, [&](int64_t e0, int64_t e1) {
    for (int64_t e = e0; e < e1; ++e) out[e] = y[e] * inv[static_cast<size_t>(e / row)];
  });
}

template <class T>
void vlad_norm_backward(const VladSizes& d, const T* dout, const T* y, const T* centers,
                        const ReduceAcc* ssq_intra, const ReduceAcc* ssq_global, T* dagg, T* dasum,
                        ReduceAcc* scratch) {
  const int64_t K = d.k, FK = d.f * d.k;
  // Global normalization backward needs p2[b] = sum_{f,k} dout * y: per-column sums, then per
  // video.
  ReduceAcc* pcol = scratch;
  ReduceAcc* p2 = scratch + d.b * K;
  for_each_cluster_block(d, d.f, [&](int64_t b, int64_t k0, int64_t k1) {
    const int64_t w = k1 - k0, base = b * FK + k0;
    ReduceAcc p[kCols] = {};
    for (int64_t f = 0; f < d.f; ++f)
      for (int64_t c = 0; c < w; ++c)
        p[c] += static_cast<ReduceAcc>(dout[base + f * K + c]) * y[base + f * K + c];
    for (int64_t c = 0; c < w; ++c) pcol[b * K + k0 + c] = p[c];
  });
  for (int64_t b = 0; b < d.b; ++b) {
    ReduceAcc s = 0;
    for (int64_t k = 0; k < K; ++k) s += pcol[b * K + k];
    p2[b] = s;
  }
  for_each_cluster_block(d, 2 * d.f, [&](int64_t b, int64_t k0, int64_t k1) {
    const int64_t w = k1 - k0, base = b * FK + k0;
    const T inv2 = l2_inv_norm<T>(ssq_global[b]);
    const T coef2 = l2_backward_coef<T>(ssq_global[b], p2[b]);
    // dy = gradient of y, the global normalization's input.
    auto dy_at = [&](int64_t e) { return vlad_l2_step(dout[e], y[e], coef2, inv2); };
    ReduceAcc p[kCols] = {}, q[kCols] = {};
    for (int64_t f = 0; f < d.f; ++f)
      for (int64_t c = 0; c < w; ++c) {
        const int64_t e = base + f * K + c;
        const ReduceAcc yv = y[e];
        p[c] += static_cast<ReduceAcc>(dy_at(e)) * yv;
        q[c] += yv * yv;
      }
    T inv1[kCols], coef1[kCols];
    for (int64_t c = 0; c < w; ++c) {
      const ReduceAcc s1 = ssq_intra[b * K + k0 + c];
      inv1[c] = l2_inv_norm<T>(s1);
      coef1[c] = vlad_intra_coef<T>(s1, p[c], q[c]);
    }
    ReduceAcc acc[kCols] = {};
    for (int64_t f = 0; f < d.f; ++f)
      for (int64_t c = 0; c < w; ++c) {
        const int64_t e = base + f * K + c;
        const T dv = vlad_l2_step(dy_at(e), y[e], coef1[c], inv1[c]);
        dagg[e] = dv;
        if (dasum != nullptr) acc[c] += static_cast<ReduceAcc>(centers[f * K + k0 + c]) * dv;
      }
    if (dasum != nullptr)
      for (int64_t c = 0; c < w; ++c) dasum[b * K + k0 + c] = static_cast<T>(-acc[c]);
  });
}

template <class T>
void vlad_centers_backward(const VladSizes& d, const T* asum, const T* dagg, T* dcenters) {
  const int64_t K = d.k, FK = d.f * d.k;
  if (FK == 0) return;
  engine::parallel_for(0, d.f, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, d.b * K)),
                       [&](int64_t f0, int64_t f1) {
                         std::vector<ReduceAcc> acc(static_cast<size_t>(K));
                         for (int64_t f = f0; f < f1; ++f) {
                           std::fill(acc.begin(), acc.end(), ReduceAcc(0));
                           for (int64_t b = 0; b < d.b; ++b) {
                             const T* g = dagg + b * FK + f * K;
                             const T* as = asum + b * K;
                             for (int64_t k = 0; k < K; ++k)
                               acc[static_cast<size_t>(k)] += static_cast<ReduceAcc>(as[k]) * g[k];
                           }
                           for (int64_t k = 0; k < K; ++k)
                             dcenters[f * K + k] = static_cast<T>(-acc[static_cast<size_t>(k)]);
                         }
                       });
}

template <class T>
void vlad_softmax_backward(const VladSizes& d, const T* a, const T* dasum, T* da) {
  const int64_t rows = d.b * d.s, K = d.k;
  if (rows == 0) return;
  engine::parallel_for(0, rows, std::max<int64_t>(1, kGrain / K), [&](int64_t r0, int64_t r1) {
    std::vector<T> u(static_cast<size_t>(K));
    for (int64_t r = r0; r < r1; ++r) {
      const T* ar = a + r * K;
      T* dr = da + r * K;
      const T* ds = dasum != nullptr ? dasum + (r / d.s) * K : nullptr;
      ReduceAcc dot = 0;
      for (int64_t k = 0; k < K; ++k) {
        const T v = ds != nullptr ? dr[k] + ds[k] : dr[k];
        u[static_cast<size_t>(k)] = v;
        dot += static_cast<ReduceAcc>(v) * ar[k];
      }
      const T dt = static_cast<T>(dot);
      for (int64_t k = 0; k < K; ++k) dr[k] = ar[k] * (u[static_cast<size_t>(k)] - dt);
    }
  });
}

#define Y8M_VLAD_INSTANTIATE(T)                                                                  \
  template void vlad_intra_forward<T>(const VladSizes&, const T*, const T*, T*, T*, ReduceAcc*,  \
                                      ReduceAcc*);                                               \
  template void vlad_global_forward<T>(const VladSizes&, const ReduceAcc*, const T*, ReduceAcc*, \
                                       T*);                                                      \
  template void vlad_norm_backward<T>(const VladSizes&, const T*, const T*, const T*,            \
                                      const ReduceAcc*, const ReduceAcc*, T*, T*, ReduceAcc*);   \
  template void vlad_centers_backward<T>(const VladSizes&, const T*, const T*, T*);              \
  template void vlad_softmax_backward<T>(const VladSizes&, const T*, const T*, T*);
Y8M_VLAD_INSTANTIATE(float)
Y8M_VLAD_INSTANTIATE(double)
#undef Y8M_VLAD_INSTANTIATE

}  // namespace y8m::ops::cpu
