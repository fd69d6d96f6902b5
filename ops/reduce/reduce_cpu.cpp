// CPU kernels of the reduce family.
//
// Along rows (reduced axis last): one task per row; sums use four interleaved partial sums
// (row_sum), a fixed order that frees the adds from one latency chain.
//
// Over a middle axis [outer, n, inner]: tasks of one outer index and a block of up to kCols inner
// columns walk j = 0..n-1, updating the column accumulators from one contiguous stretch of memory
// per j; each output is accumulated sequentially in j, as the CUDA strided kernels do.
//
// Sums accumulate in double (reduce_math.h).
#include "engine/parallel.h"
#include "ops/reduce/reduce_kernels.h"

#include <algorithm>
#include <cmath>

namespace y8m::ops::cpu {

namespace {

constexpr int64_t kGrain = 1 << 14;  // elements of work per parallel chunk, at least
constexpr int64_t kCols = 64;        // inner columns per task

// Calls fn(o, i0, i1) for every outer index o and column block [i0, i1) of [0, inner), in parallel.
template <class Fn>
void for_each_column_block(int64_t outer, int64_t n, int64_t inner, const Fn& fn) {
  if (outer == 0 || inner == 0) return;
  const int64_t blocks = (inner + kCols - 1) / kCols;
  const int64_t work = std::max<int64_t>(1, n * std::min(inner, kCols));
  engine::parallel_for(0, outer * blocks, std::max<int64_t>(1, kGrain / work),
                       [&](int64_t b, int64_t e) {
                         for (int64_t t = b; t < e; ++t) {
                           const int64_t o = t / blocks, i0 = (t % blocks) * kCols;
                           fn(o, i0, std::min(inner, i0 + kCols));
                         }
                       });
}

// Calls fn(r) for every row of [rows, n], in parallel.
template <class Fn>
void for_each_row(int64_t rows, int64_t n, const Fn& fn) {
  if (rows == 0 || n == 0) return;
  engine::parallel_for(0, rows, std::max<int64_t>(1, kGrain / n), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) fn(r);
  });
}

// Sum of term(j) for j in [0, n), in a fixed order: four interleaved partial sums, then a pairwise
// combination.
template <class F>
ReduceAcc row_sum(int64_t n, const F& term) {
  ReduceAcc a[4] = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    a[0] += term(j);
    a[1] += term(j + 1);
    a[2] += term(j + 2);
    a[3] += term(j + 3);
  }
  for (; j < n; ++j) a[j & 3] += term(j);
  return (a[0] + a[1]) + (a[2] + a[3]);
}

}  // namespace

template <class T>
void reduce_axis(ReduceKind k, const T* x, T* y, int64_t* argmax, int64_t outer, int64_t n,
                 int64_t inner) {
  if (inner == 1 && k != ReduceKind::max) {
    for_each_row(outer, n, [&](int64_t r) {
      const T* xr = x + r * n;
      y[r] = reduce_finish<T>(k, row_sum(n, [&](int64_t j) { return ReduceAcc(xr[j]); }), n);
    });
    if (n == 0)  // for_each_row skips empty rows; sum gives 0, mean NaN
      for (int64_t r = 0; r < outer; ++r) y[r] = reduce_finish<T>(k, 0, 0);
    return;
  }
  for_each_column_block(outer, n, inner, [&](int64_t o, int64_t i0, int64_t i1) {
    const int64_t w = i1 - i0;
    const T* xo = x + o * n * inner + i0;
    T* yo = y + o * inner + i0;
    if (k == ReduceKind::max) {
      // Scanning j upwards with max_arg_combine keeps the first maximal index.
      MaxArg<T> best[kCols];
      for (int64_t c = 0; c < w; ++c) best[c] = {xo[c], 0};
      for (int64_t j = 1; j < n; ++j)
        for (int64_t c = 0; c < w; ++c)
          best[c] = max_arg_combine(best[c], MaxArg<T>{xo[j * inner + c], j});
      for (int64_t c = 0; c < w; ++c) {
        yo[c] = best[c].v;
        if (argmax != nullptr) argmax[o * inner + i0 + c] = best[c].i;
      }
      return;
    }
    ReduceAcc acc[kCols] = {};
    for (int64_t j = 0; j < n; ++j)
      for (int64_t c = 0; c < w; ++c) acc[c] += static_cast<ReduceAcc>(xo[j * inner + c]);
    for (int64_t c = 0; c < w; ++c) yo[c] = reduce_finish<T>(k, acc[c], n);
  });
}

template <class T>
void broadcast_axis(const T* dy, T* dx, int64_t outer, int64_t n, int64_t inner, T scale) {
  for_each_column_block(outer, n, inner, [&](int64_t o, int64_t i0, int64_t i1) {
    const T* g = dy + o * inner;
    for (int64_t j = 0; j < n; ++j) {
      T* d = dx + (o * n + j) * inner;
      for (int64_t i = i0; i < i1; ++i) d[i] = g[i] * scale;
    }
  });
}

template <class T>
void max_backward(const T* dy, const int64_t* argmax, T* dx, int64_t outer, int64_t n,
                  int64_t inner) {
  for_each_column_block(outer, n, inner, [&](int64_t o, int64_t i0, int64_t i1) {
    const T* g = dy + o * inner;
    const int64_t* a = argmax + o * inner;
    for (int64_t j = 0; j < n; ++j) {
      T* d = dx + (o * n + j) * inner;
      for (int64_t i = i0; i < i1; ++i) d[i] = a[i] == j ? g[i] : T(0);
    }
  });
}

template <class T>
void softmax_forward(const T* x, T* y, int64_t rows, int64_t n) {
  for_each_row(rows, n, [&](int64_t r) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    T m = xr[0];
    for (int64_t j = 1; j < n; ++j) m = xr[j] > m ? xr[j] : m;
    for (int64_t j = 0; j < n; ++j) yr[j] = std::exp(xr[j] - m);
    const ReduceAcc s = row_sum(n, [&](int64_t j) { return ReduceAcc(yr[j]); });
    // The scale is rounded to T first so that the CUDA kernel, which multiplies in float, matches.
    const T inv = static_cast<T>(1.0 / s);
    for (int64_t j = 0; j < n; ++j) yr[j] *= inv;
  });
}

template <class T>
void softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t n) {
  for_each_row(rows, n, [&](int64_t r) {
    const T* yr = y + r * n;
    const T* gr = dy + r * n;
    T* dr = dx + r * n;
    const T d =
        static_cast<T>(row_sum(n, [&](int64_t j) { return ReduceAcc(gr[j]) * ReduceAcc(yr[j]); }));
    for (int64_t j = 0; j < n; ++j) dr[j] = yr[j] * (gr[j] - d);
  });
}

template <class T>
void l2_normalize_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  if (inner == 1) {
    for_each_row(outer, n, [&](int64_t r) {
      const T* xr = x + r * n;
      const T inv = l2_inv_norm<T>(row_sum(n, [&](int64_t j) { return ReduceAcc(xr[j]) * xr[j]; }));
      for (int64_t j = 0; j < n; ++j) y[r * n + j] = xr[j] * inv;
    });
    return;
  }
  for_each_column_block(outer, n, inner, [&](int64_t o, int64_t i0, int64_t i1) {
    const int64_t w = i1 - i0, base = o * n * inner + i0;
    ReduceAcc s[kCols] = {};
    for (int64_t j = 0; j < n; ++j)
      for (int64_t c = 0; c < w; ++c) {
        const ReduceAcc v = static_cast<ReduceAcc>(x[base + j * inner + c]);
        s[c] += v * v;
      }
    T inv[kCols];
    for (int64_t c = 0; c < w; ++c) inv[c] = l2_inv_norm<T>(s[c]);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t c = 0; c < w; ++c) y[base + j * inner + c] = x[base + j * inner + c] * inv[c];
  });
}

template <class T>
void l2_normalize_backward(const T* x, const T* dy, T* dx, int64_t outer, int64_t n,
                           int64_t inner) {
  if (inner == 1) {
    for_each_row(outer, n, [&](int64_t r) {
      const T* xr = x + r * n;
      const T* gr = dy + r * n;
      const ReduceAcc s = row_sum(n, [&](int64_t j) { return ReduceAcc(xr[j]) * xr[j]; });
      const ReduceAcc p = row_sum(n, [&](int64_t j) { return ReduceAcc(xr[j]) * gr[j]; });
      const T inv = l2_inv_norm<T>(s), coef = l2_backward_coef<T>(s, p);
      for (int64_t j = 0; j < n; ++j) dx[r * n + j] = (gr[j] - xr[j] * coef) * inv;
    });
    return;
  }
  for_each_column_block(outer, n, inner, [&](int64_t o, int64_t i0, int64_t i1) {
    const int64_t w = i1 - i0, base = o * n * inner + i0;
    ReduceAcc s[kCols] = {}, p[kCols] = {};
    for (int64_t j = 0; j < n; ++j)
      for (int64_t c = 0; c < w; ++c) {
        const ReduceAcc v = static_cast<ReduceAcc>(x[base + j * inner + c]);
        s[c] += v * v;
        p[c] += v * static_cast<ReduceAcc>(dy[base + j * inner + c]);
      }
    T inv[kCols], coef[kCols];
    for (int64_t c = 0; c < w; ++c) {
      inv[c] = l2_inv_norm<T>(s[c]);
      coef[c] = l2_backward_coef<T>(s[c], p[c]);
    }
    for (int64_t j = 0; j < n; ++j)
      for (int64_t c = 0; c < w; ++c) {
        const int64_t e = base + j * inner + c;
        dx[e] = (dy[e] - x[e] * coef[c]) * inv[c];
      }
  });
}

#define Y8M_INSTANTIATE(T)                                                                     \
  template void reduce_axis<T>(ReduceKind, const T*, T*, int64_t*, int64_t, int64_t, int64_t); \
  template void broadcast_axis<T>(const T*, T*, int64_t, int64_t, int64_t, T);                 \
  template void max_backward<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t);      \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t);                            \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t);                 \
  template void l2_normalize_forward<T>(const T*, T*, int64_t, int64_t, int64_t);              \
  template void l2_normalize_backward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t);
Y8M_INSTANTIATE(float)
Y8M_INSTANTIATE(double)
#undef Y8M_INSTANTIATE

}  // namespace y8m::ops::cpu
