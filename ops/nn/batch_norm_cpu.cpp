// CPU kernels of batch_norm. Column reductions cut the rows into fixed blocks of kRowBlock rows;
// each block accumulates whole rows (contiguous, vectorizable) into double partials, and the
// partials are added in block order, so the result does not depend on the thread count.
#include "engine/parallel.h"
#include "ops/nn/nn_kernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace y8m::ops::cpu {

namespace {

constexpr int64_t kRowBlock = 256;          // rows per partial sum
constexpr int64_t kElementGrain = 1 << 14;  // elements per element-wise task

// Column sums of kOut quantities: acc(r, a, b) adds row r's contributions to a[0..c) (and b[0..c)
// when kOut == 2). Writes the totals to out_a (and out_b).
template <int kOut, class Acc>
void column_sums(int64_t n, int64_t c, Acc acc, double* out_a, double* out_b = nullptr) {
  const int64_t blocks = (n + kRowBlock - 1) / kRowBlock;
  std::vector<double> part(static_cast<size_t>(blocks * c * kOut), 0.0);
  engine::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      double* a = part.data() + blk * c * kOut;
      for (int64_t r = blk * kRowBlock; r < std::min(n, (blk + 1) * kRowBlock); ++r)
        acc(r, a, a + c);
    }
  });
  std::fill(out_a, out_a + c, 0.0);
  if (kOut == 2) std::fill(out_b, out_b + c, 0.0);
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const double* a = part.data() + blk * c * kOut;
    for (int64_t j = 0; j < c; ++j) out_a[j] += a[j];
    if (kOut == 2)
      for (int64_t j = 0; j < c; ++j) out_b[j] += a[c + j];
  }
}

}  // namespace

template <class T>
void batch_norm_stats(const T* x, int64_t n, int64_t c, double eps, T* mean, T* invstd,
                      const BnMovingUpdate<T>& upd) {
  const double inv_n = 1.0 / static_cast<double>(n);
  std::vector<double> mean_d(static_cast<size_t>(c)), var_d(static_cast<size_t>(c));
  // Pass 1: mean. Pass 2: biased variance around the (double) mean.
  column_sums<1>(
      n, c,
      [&](int64_t r, double* a, double*) {
        for (int64_t j = 0; j < c; ++j) a[j] += static_cast<double>(x[r * c + j]);
      },
      mean_d.data());
  for (double& m : mean_d) m *= inv_n;
  column_sums<1>(
      n, c,
      [&](int64_t r, double* a, double*) {
        for (int64_t j = 0; j < c; ++j) {
          const double d = static_cast<double>(x[r * c + j]) - mean_d[static_cast<size_t>(j)];
          a[j] += d * d;
        }
      },
      var_d.data());
  for (int64_t j = 0; j < c; ++j) {
    const double var = var_d[static_cast<size_t>(j)] * inv_n;
    mean[j] = static_cast<T>(mean_d[static_cast<size_t>(j)]);
    invstd[j] = static_cast<T>(1.0 / std::sqrt(var + eps));
    if (upd.mean != nullptr) upd.mean[j] -= upd.momentum * (upd.mean[j] - mean[j]);
    if (upd.var != nullptr) {
      const T stat = static_cast<T>(var) * upd.var_factor;
      upd.var[j] -= upd.momentum * (upd.var[j] - stat);
    }
  }
}

template <class T>
void batch_norm_invstd(const T* var, int64_t c, double eps, T* invstd) {
  for (int64_t j = 0; j < c; ++j)
    invstd[j] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(var[j]) + eps));
}

template <class T>
void batch_norm_apply(const T* x, int64_t n, int64_t c, const T* mean, const T* invstd,
                      const T* gamma, const T* beta, T* y) {
  std::vector<T> scale(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; ++j) scale[static_cast<size_t>(j)] = invstd[j] * gamma[j];
  const int64_t grain = std::max<int64_t>(1, kElementGrain / std::max<int64_t>(c, 1));
  engine::parallel_for(0, n, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * c;
      T* yr = y + r * c;
      for (int64_t j = 0; j < c; ++j)
        yr[j] = (xr[j] - mean[j]) * scale[static_cast<size_t>(j)] + beta[j];
    }
  });
}

template <class T>
void batch_norm_backward_reduce(const T* x, const T* dy, int64_t n, int64_t c, const T* mean,
                                const T* invstd, T* dgamma, T* dbeta) {
  std::vector<double> g(static_cast<size_t>(c)), b(static_cast<size_t>(c));
  column_sums<2>(
      n, c,
      [&](int64_t r, double* sg, double* sb) {
        for (int64_t j = 0; j < c; ++j) {
          const double d = static_cast<double>(dy[r * c + j]);
          sg[j] += d * ((static_cast<double>(x[r * c + j]) - mean[j]) * invstd[j]);
          sb[j] += d;
        }
      },
      g.data(), b.data());
  for (int64_t j = 0; j < c; ++j) {
    dgamma[j] = static_cast<T>(g[static_cast<size_t>(j)]);
    dbeta[j] = static_cast<T>(b[static_cast<size_t>(j)]);
  }
}

template <class T>
void batch_norm_backward_dx(const T* x, const T* dy, int64_t n, int64_t c, const T* mean,
                            const T* invstd, const T* gamma, const T* dgamma, const T* dbeta,
                            bool training, T* dx) {
  // Per channel: k = gamma * invstd, and the means of dy and dy * xhat over the rows.
  std::vector<T> k(static_cast<size_t>(c)), mdb(k.size()), mdg(k.size());
  const T inv_n = static_cast<T>(1) / static_cast<T>(n);
  for (int64_t j = 0; j < c; ++j) {
    const size_t s = static_cast<size_t>(j);
    k[s] = gamma[j] * invstd[j];
    mdb[s] = training ? dbeta[j] * inv_n : T(0);
    mdg[s] = training ? dgamma[j] * inv_n : T(0);
  }
  const int64_t grain = std::max<int64_t>(1, kElementGrain / std::max<int64_t>(c, 1));
  engine::parallel_for(0, n, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t j = 0; j < c; ++j) {
        const size_t s = static_cast<size_t>(j);
        const int64_t i = r * c + j;
        if (training) {
          const T xhat = (x[i] - mean[j]) * invstd[j];
          dx[i] = k[s] * (dy[i] - mdb[s] - xhat * mdg[s]);
        } else {
          dx[i] = dy[i] * k[s];
        }
      }
    }
  });
}

#define Y8M_INSTANTIATE(T)                                                                    \
  template void batch_norm_stats<T>(const T*, int64_t, int64_t, double, T*, T*,               \
                                    const BnMovingUpdate<T>&);                                \
  template void batch_norm_invstd<T>(const T*, int64_t, double, T*);                          \
  template void batch_norm_apply<T>(const T*, int64_t, int64_t, const T*, const T*, const T*, \
                                    const T*, T*);                                            \
  template void batch_norm_backward_reduce<T>(const T*, const T*, int64_t, int64_t, const T*, \
                                              const T*, T*, T*);                              \
  template void batch_norm_backward_dx<T>(const T*, const T*, int64_t, int64_t, const T*,     \
                                          const T*, const T*, const T*, const T*, bool, T*);
Y8M_INSTANTIATE(float)
Y8M_INSTANTIATE(double)
#undef Y8M_INSTANTIATE

}  // namespace y8m::ops::cpu
