// Op entries of the shape family: checks, allocation, dispatch and autograd nodes. concat, split
// and slice view their tensors as [outer, axis, inner] and move contiguous blocks of axis*inner
// elements. The data-movement ops (reshape, concat, split, slice, gather_rows forward) accept every
// dtype; transpose and every backward need a floating dtype.
#include "ops/shape/shape.h"

#include "ops/graph/trace.h"
#include "ops/op_common.h"
#include "ops/shape/shape_kernels.h"

#include <algorithm>
#include <climits>

namespace y8m::ops {

namespace {

// A shape as [outer, len, inner] around `axis`.
struct AxisView {
  int64_t outer = 1, len = 0, inner = 1;
};

AxisView axis_view(const Shape& s, int64_t axis) {
  AxisView v;
  for (int64_t d = 0; d < axis; ++d) v.outer *= s[static_cast<size_t>(d)];
  v.len = s[static_cast<size_t>(axis)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) v.inner *= s[d];
  return v;
}

// Copies `rows` blocks of `count` elements from src (row stride src_ld, first element src_off) to
// dst (row stride dst_ld, first element dst_off). Strides and offsets in elements.
void copy_blocks(const Tensor& src, int64_t src_ld, int64_t src_off, const Tensor& dst,
                 int64_t dst_ld, int64_t dst_off, int64_t rows, int64_t count) {
  if (rows == 0 || count == 0) return;
  const int64_t eb = static_cast<int64_t>(engine::dtype_size(src.dtype()));
  const char* s = static_cast<const char*>(src.data_ptr()) + src_off * eb;
  char* d = static_cast<char*>(dst.data_ptr()) + dst_off * eb;
  if (src.device().is_cpu()) {
    cpu::copy_rows(s, src_ld * eb, d, dst_ld * eb, rows, count * eb);
  } else {
    cuda::copy_rows(s, src_ld * eb, d, dst_ld * eb, rows, count * eb, stream_of(src));
  }
}

Tensor concat_raw(const std::vector<Tensor>& xs, int64_t axis) {
  Shape shape = xs[0].shape();
  int64_t total = 0;
  for (const Tensor& x : xs) total += x.size(axis);
  shape[static_cast<size_t>(axis)] = total;
  Tensor out = Tensor::empty(shape, xs[0].dtype(), xs[0].device());
  const AxisView v = axis_view(shape, axis);
  int64_t off = 0;
  for (const Tensor& x : xs) {
    const int64_t len = x.size(axis);
    copy_blocks(x, len * v.inner, 0, out, v.len * v.inner, off * v.inner, v.outer, len * v.inner);
    off += len;
  }
  return out;
}

Tensor slice_raw(const Tensor& x, int64_t axis, int64_t begin, int64_t end) {
  Shape shape = x.shape();
  shape[static_cast<size_t>(axis)] = end - begin;
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  const AxisView v = axis_view(x.shape(), axis);
  const int64_t n = (end - begin) * v.inner;
  copy_blocks(x, v.len * v.inner, begin * v.inner, out, n, 0, v.outer, n);
  return out;
}

// Gradient of slice: zeros with dy written at [begin, begin + dy.size(axis)) along axis.
Tensor slice_backward_raw(const Tensor& dy, const Shape& x_shape, int64_t axis, int64_t begin) {
  Tensor dx = Tensor::zeros(x_shape, dy.dtype(), dy.device());
  const AxisView v = axis_view(x_shape, axis);
  const int64_t n = dy.size(axis) * v.inner;
  copy_blocks(dy, n, 0, dx, v.len * v.inner, begin * v.inner, v.outer, n);
  return dx;
}

std::vector<Tensor> split_raw(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  std::vector<Tensor> outs;
  int64_t off = 0;
  for (int64_t s : sizes) {
    outs.push_back(slice_raw(x, axis, off, off + s));
    off += s;
  }
  return outs;
}

Tensor transpose_raw(const Tensor& x) {
  Shape shape = x.shape();
  const size_t r = shape.size();
  std::swap(shape[r - 2], shape[r - 1]);
  Tensor y = Tensor::empty(shape, x.dtype(), x.device());
  const int64_t m = x.size(-2), n = x.size(-1);
  int64_t batch = 1;
  for (size_t d = 0; d + 2 < r; ++d) batch *= shape[d];
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::transpose<T>(x.data<T>(), y.data<T>(), batch, m, n);
      },
      [&](cudaStream_t st) { cuda::transpose(x.data<float>(), y.data<float>(), batch, m, n, st); });
  return y;
}

// Checks dtype, rank and device; on the CPU also that every index lies in [0, N). A CUDA index
// is not copied back to be checked (that would synchronize every forward): it is checked where it
// is built (check_gather_index).
void check_gather(const Tensor& x, const Tensor& index) {
  Y8M_CHECK(x.defined() && index.defined(), "gather_rows: undefined input tensor");
  Y8M_CHECK(x.dim() >= 1, "gather_rows: x needs at least one dimension, got {}", x.str());
  Y8M_CHECK(index.dtype() == DType::i32 || index.dtype() == DType::i64,
            "gather_rows: index must be i32 or i64, got {}", index.str());
  check_dim(index, 1, "gather_rows", "index");
  Y8M_CHECK(x.device() == index.device(), "gather_rows: device mismatch: x {} vs index {}", x.str(),
            index.str());
  if (x.device().is_cuda()) {
    Y8M_CHECK(x.size(0) < INT_MAX && index.size(0) <= INT_MAX,
              "gather_rows: more than 2^31 rows or indices: x {}, index {}", x.str(), index.str());
    return;
  }
  check_gather_index(index, x.size(0), x.str());
}

Tensor gather_raw(const Tensor& x, const Tensor& index) {
  Shape shape = x.shape();
  shape[0] = index.size(0);
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  const int64_t row_elems = x.size(0) == 0 ? 0 : x.numel() / x.size(0);
  // With N = 0 rows the (validated) index is empty, so nothing is read.
  const int64_t row_bytes = row_elems * static_cast<int64_t>(engine::dtype_size(x.dtype()));
  const int64_t m = index.size(0);
  if (m == 0 || row_bytes == 0) return out;
  const bool i64 = index.dtype() == DType::i64;
  if (x.device().is_cpu()) {
    if (i64) {
      cpu::gather_rows<int64_t>(x.data_ptr(), index.data<int64_t>(), out.data_ptr(), m, row_bytes);
    } else {
      cpu::gather_rows<int32_t>(x.data_ptr(), index.data<int32_t>(), out.data_ptr(), m, row_bytes);
    }
  } else {
    cuda::gather_rows(x.data_ptr(), index.data_ptr(), i64, out.data_ptr(), m, x.size(0), row_bytes,
                      stream_of(x));
  }
  return out;
}

Tensor gather_backward_raw(const Tensor& index, const Tensor& dy, const Shape& x_shape) {
  Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device());
  const int64_t n = x_shape[0];
  const int64_t d = n == 0 ? 0 : dx.numel() / n;
  if (dx.numel() == 0) return dx;
  const int64_t m = index.size(0);
  const bool i64 = index.dtype() == DType::i64;
  dispatch(
      dy,
      [&](auto t) {
        using T = decltype(t);
        if (i64) {
          cpu::gather_rows_backward<T, int64_t>(index.data<int64_t>(), dy.data<T>(), dx.data<T>(),
                                                m, n, d);
        } else {
          cpu::gather_rows_backward<T, int32_t>(index.data<int32_t>(), dy.data<T>(), dx.data<T>(),
                                                m, n, d);
        }
      },
      // stream_of (in dispatch) selects the device before CUB sizes its temp storage.
      [&](cudaStream_t st) {
        const size_t ws_bytes = cuda::gather_rows_backward_workspace(m, n);
        Tensor ws = Tensor::empty({static_cast<int64_t>(std::max<size_t>(ws_bytes, 1))}, DType::u8,
                                  dy.device());
        cuda::gather_rows_backward(index.data_ptr(), i64, dy.data<float>(), dx.data<float>(), m, n,
                                   d, ws.data_ptr(), ws_bytes, st);
      });
  return dx;
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  Y8M_CHECK(x.defined(), "reshape: undefined input tensor");
  Tensor y = x.reshape(shape);
  if (autograd::any_requires_grad({x})) {
    autograd::record("reshape", {x}, {y},
                     [s = x.shape()](const std::vector<Tensor>& g, const Node&) {
                       return std::vector<Tensor>{g[0].reshape(s)};
                     });
  }
  Y8M_TRACE_OP("reshape", {{"shape", y.shape()}}, {x}, {y});
  return y;
}

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  Y8M_CHECK(!xs.empty(), "concat: needs at least one tensor");
  for (size_t i = 0; i < xs.size(); ++i)
    Y8M_CHECK(xs[i].defined(), "concat: input {} is undefined", i);
  const int64_t ax = normalize_axis(axis, xs[0].dim(), "concat");
  for (size_t i = 1; i < xs.size(); ++i) {
    check_compatible(xs[0], xs[i], "concat");
    bool match = xs[i].dim() == xs[0].dim();
    for (int64_t d = 0; match && d < xs[0].dim(); ++d)
      match = d == ax || xs[i].size(d) == xs[0].size(d);
    Y8M_CHECK(match, "concat: input {} {} does not match input 0 {} outside axis {}", i,
              xs[i].str(), xs[0].str(), axis);
  }
  Tensor out = concat_raw(xs, ax);
  if (autograd::any_requires_grad(xs)) {
    std::vector<int64_t> sizes;
    for (const Tensor& x : xs) sizes.push_back(x.size(ax));
    autograd::record("concat", xs, {out},
                     [sizes, ax](const std::vector<Tensor>& g, const Node& node) {
                       std::vector<Tensor> dxs(sizes.size());
                       int64_t off = 0;
                       for (size_t i = 0; i < sizes.size(); ++i) {
                         if (node.needs_input_grad(i))
                           dxs[i] = slice_raw(g[0], ax, off, off + sizes[i]);
                         off += sizes[i];
                       }
                       return dxs;
                     });
  }
  Y8M_TRACE_OP("concat", {{"axis", axis}}, xs, {out});
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  Y8M_CHECK(x.defined(), "split: undefined input tensor");
  const int64_t ax = normalize_axis(axis, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    Y8M_CHECK(s >= 0, "split: negative size {} in {}", s, engine::shape_str(sizes));
    total += s;
  }
  Y8M_CHECK(total == x.size(ax), "split: sizes {} sum to {}, but axis {} of {} has length {}",
            engine::shape_str(sizes), total, axis, x.str(), x.size(ax));
  std::vector<Tensor> outs = split_raw(x, sizes, ax);
  if (!outs.empty() && autograd::any_requires_grad({x})) {
    // One node for all pieces; the engine zero-fills the gradients of unused pieces.
    autograd::record("split", {x}, outs, [ax](const std::vector<Tensor>& g, const Node&) {
      return std::vector<Tensor>{concat_raw(g, ax)};
    });
  }
  Y8M_TRACE_OP("split", {{"sizes", sizes}, {"axis", axis}}, {x}, outs);
  return outs;
}

Tensor slice(const Tensor& x, int64_t axis, int64_t begin, int64_t end) {
  Y8M_CHECK(x.defined(), "slice: undefined input tensor");
  const int64_t ax = normalize_axis(axis, x.dim(), "slice");
  Y8M_CHECK(0 <= begin && begin <= end && end <= x.size(ax),
            "slice: range [{}, {}) outside axis {} of {} (length {})", begin, end, axis, x.str(),
            x.size(ax));
  Tensor y = slice_raw(x, ax, begin, end);
  if (autograd::any_requires_grad({x})) {
    autograd::record("slice", {x}, {y},
                     [s = x.shape(), ax, begin](const std::vector<Tensor>& g, const Node&) {
                       return std::vector<Tensor>{slice_backward_raw(g[0], s, ax, begin)};
                     });
  }
  Y8M_TRACE_OP("slice", {{"axis", axis}, {"begin", begin}, {"end", end}}, {x}, {y});
  return y;
}

Tensor transpose(const Tensor& x) {
  check_float(x, "transpose");
  Y8M_CHECK(x.dim() >= 2, "transpose: needs at least 2 dimensions, got {}", x.str());
  Tensor y = transpose_raw(x);
  if (autograd::any_requires_grad({x})) {
    autograd::record("transpose", {x}, {y}, [](const std::vector<Tensor>& g, const Node&) {
      return std::vector<Tensor>{transpose_raw(g[0])};
    });
  }
  Y8M_TRACE_OP("transpose", {}, {x}, {y});
  return y;
}

void check_gather_index(const Tensor& index, int64_t rows, const std::string& x_str) {
  Y8M_CHECK(index.defined() && index.device().is_cpu(),
            "gather_rows: the index check needs a host index, got {}",
            index.defined() ? index.str() : std::string("undefined"));
  Y8M_CHECK(index.dtype() == DType::i32 || index.dtype() == DType::i64,
            "gather_rows: index must be i32 or i64, got {}", index.str());
  const int64_t m = index.numel();
  auto check_all = [&](const auto* p) {
    for (int64_t i = 0; i < m; ++i)
      Y8M_CHECK(p[i] >= 0 && p[i] < rows,
                "gather_rows: index {} at position {} is out of range [0, {}) for x {}",
                static_cast<int64_t>(p[i]), i, rows, x_str);
  };
  if (index.dtype() == DType::i64) {
    check_all(index.data<int64_t>());
  } else {
    check_all(index.data<int32_t>());
  }
}

Tensor gather_rows(const Tensor& x, const Tensor& index) {
  check_gather(x, index);
  Tensor out = gather_raw(x, index);
  if (autograd::any_requires_grad({x})) {
    autograd::record("gather_rows", {x}, {out},
                     [index, s = x.shape()](const std::vector<Tensor>& g, const Node&) {
                       return std::vector<Tensor>{gather_backward_raw(index, g[0], s)};
                     });
  }
  Y8M_TRACE_OP("gather_rows", {}, {x, index}, {out});
  return out;
}

}  // namespace y8m::ops
