// CPU kernels of the shape family: block copies, a cache-blocked transpose, row gather and its
// serial-order scatter-add.
#include "engine/parallel.h"
#include "ops/shape/shape_kernels.h"

#include <algorithm>
#include <cstring>

namespace y8m::ops::cpu {

namespace {
constexpr int64_t kCopyGrainBytes = 1 << 16;
constexpr int64_t kTile = 32;
}  // namespace

void copy_rows(const void* src, int64_t src_ld, void* dst, int64_t dst_ld, int64_t rows,
               int64_t row_bytes) {
  if (rows == 0 || row_bytes == 0) return;
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  const int64_t grain = std::max<int64_t>(1, kCopyGrainBytes / row_bytes);
  engine::parallel_for(0, rows, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r)
      std::memcpy(d + r * dst_ld, s + r * src_ld, static_cast<size_t>(row_bytes));
  });
}

template <class T>
void transpose(const T* x, T* y, int64_t batch, int64_t m, int64_t n) {
  // One work item per (batch entry, band of kTile rows of x); tiles keep both sides in cache.
  const int64_t bands = (m + kTile - 1) / kTile;
  engine::parallel_for(0, batch * bands, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t w = lo; w < hi; ++w) {
      const int64_t b = w / bands, r0 = (w % bands) * kTile, r1 = std::min(m, r0 + kTile);
      const T* xb = x + b * m * n;
      T* yb = y + b * m * n;
      for (int64_t c0 = 0; c0 < n; c0 += kTile) {
        const int64_t c1 = std::min(n, c0 + kTile);
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = c0; c < c1; ++c) yb[c * m + r] = xb[r * n + c];
      }
    }
  });
}

template <class I>
void gather_rows(const void* x, const I* index, void* out, int64_t m, int64_t row_bytes) {
  if (m == 0 || row_bytes == 0) return;
  const char* s = static_cast<const char*>(x);
  char* d = static_cast<char*>(out);
  const int64_t grain = std::max<int64_t>(1, kCopyGrainBytes / row_bytes);
  engine::parallel_for(0, m, grain, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r)
      std::memcpy(d + r * row_bytes, s + static_cast<int64_t>(index[r]) * row_bytes,
                  static_cast<size_t>(row_bytes));
  });
}

template <class T, class I>
void gather_rows_backward(const I* index, const T* dy, T* dx, int64_t m, int64_t n_rows,
                          int64_t d) {
  std::fill(dx, dx + n_rows * d, T(0));
  if (m == 0 || d == 0) return;
  // Columns are independent: split them across threads, keep the serial order over i inside each.
  const int64_t grain = std::max<int64_t>(64, (1 << 14) / std::max<int64_t>(1, m));
  engine::parallel_for(0, d, grain, [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < m; ++i) {
      T* row = dx + static_cast<int64_t>(index[i]) * d;
      const T* src = dy + i * d;
      for (int64_t c = c0; c < c1; ++c) row[c] += src[c];
    }
  });
}

template void transpose<float>(const float*, float*, int64_t, int64_t, int64_t);
template void transpose<double>(const double*, double*, int64_t, int64_t, int64_t);
template void gather_rows<int32_t>(const void*, const int32_t*, void*, int64_t, int64_t);
template void gather_rows<int64_t>(const void*, const int64_t*, void*, int64_t, int64_t);
#define Y8M_INSTANTIATE(T, I) \
  template void gather_rows_backward<T, I>(const I*, const T*, T*, int64_t, int64_t, int64_t);
Y8M_INSTANTIATE(float, int32_t)
Y8M_INSTANTIATE(float, int64_t)
Y8M_INSTANTIATE(double, int32_t)
Y8M_INSTANTIATE(double, int64_t)
#undef Y8M_INSTANTIATE

}  // namespace y8m::ops::cpu
