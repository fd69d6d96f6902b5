// CPU kernels of the element-wise family: plain loops over the shared formulas, split across cores.
#include "engine/parallel.h"
#include "ops/elementwise/elementwise_kernels.h"

namespace y8m::ops::cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;
}

template <class T>
void unary_forward(UnaryKind k, const T* x, T* y, int64_t n, T s) {
  engine::parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = ops::unary_forward(k, x[i], s);
  });
}

template <class T>
void unary_backward(UnaryKind k, const T* x, const T* y, const T* dy, T* dx, int64_t n, T s) {
  engine::parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dx[i] = ops::unary_backward(k, x[i], y[i], dy[i], s);
  });
}

template <class T>
void binary_forward(BinaryKind k, const T* a, const T* b, T* out, int64_t n,
                    const BroadcastIndex& bi, bool same_shape) {
  engine::parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    if (same_shape) {
      for (int64_t i = lo; i < hi; ++i) out[i] = ops::binary_forward(k, a[i], b[i]);
      return;
    }
    for (int64_t i = lo; i < hi; ++i) {
      long long oa, ob;
      broadcast_offsets(bi, i, &oa, &ob);
      out[i] = ops::binary_forward(k, a[oa], b[ob]);
    }
  });
}

template <class T>
void sum_to(const T* x, T* out, int64_t n_out, const SumToIndex& si) {
  engine::parallel_for(0, n_out, 1, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) out[j] = sum_to_element(si, x, j);
  });
}

#define Y8M_INSTANTIATE(T)                                                                  \
  template void unary_forward<T>(UnaryKind, const T*, T*, int64_t, T);                      \
  template void unary_backward<T>(UnaryKind, const T*, const T*, const T*, T*, int64_t, T); \
  template void binary_forward<T>(BinaryKind, const T*, const T*, T*, int64_t,              \
                                  const BroadcastIndex&, bool);                             \
  template void sum_to<T>(const T*, T*, int64_t, const SumToIndex&);
Y8M_INSTANTIATE(float)
Y8M_INSTANTIATE(double)
#undef Y8M_INSTANTIATE

}  // namespace y8m::ops::cpu
