// CPU kernels of the recurrent ops: loops over the (b, j) points of one step (rnn_kernels.h),
// split across cores by batch rows. Points are independent: the result does not depend on the
// thread count.
#include "engine/parallel.h"
#include "ops/rnn/rnn_kernels.h"

namespace y8m::ops::cpu {

template <class T>
void rnn_step(RnnKernel kind, const RnnStep<T>& a) {
  const int64_t h = a.hidden;
  // A step point is a handful of exp/tanh: rows of a few hundred points per task.
  const int64_t grain = h >= 256 ? 1 : (256 + h - 1) / h;
  engine::parallel_for(0, a.batch, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b)
      for (int64_t j = 0; j < h; ++j) rnn_point(kind, a, b, j);
  });
}

template <class T>
void column_sum(const T* x, T* out, int64_t rows, int64_t cols) {
  for (int64_t c = 0; c < cols; ++c) out[c] = T(0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) out[c] += x[r * cols + c];
}

template <class T>
void add_into(T* y, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

#define Y8M_RNN_CPU(T)                                         \
  template void rnn_step<T>(RnnKernel, const RnnStep<T>&);     \
  template void column_sum<T>(const T*, T*, int64_t, int64_t); \
  template void add_into<T>(T*, const T*, int64_t);
Y8M_RNN_CPU(float)
Y8M_RNN_CPU(double)
#undef Y8M_RNN_CPU

}  // namespace y8m::ops::cpu
