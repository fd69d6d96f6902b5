// Op entries of the reduce family: checks, allocation, dispatch, autograd nodes.
#include "ops/reduce/reduce.h"

#include "ops/graph/trace.h"
#include "ops/op_common.h"
#include "ops/reduce/reduce_kernels.h"

namespace y8m::ops {

namespace {

// A contiguous tensor seen as [outer, n, inner] around the reduced axis.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};

// Checks dtype and axis (messages name the op and show the tensor) and splits the shape around it.
AxisSplit split_axis(const Tensor& x, int64_t axis, const char* op, int64_t* axis_out) {
  check_float(x, op);
  const int64_t d = x.dim();
  Y8M_CHECK(axis >= -d && axis < d, "{}: axis {} out of range for {}", op, axis, x.str());
  const int64_t a = axis < 0 ? axis + d : axis;
  AxisSplit s;
  for (int64_t i = 0; i < d; ++i) {
    const int64_t e = x.shape()[static_cast<size_t>(i)];
    if (i < a) s.outer *= e;
    if (i == a) s.n = e;
    if (i > a) s.inner *= e;
  }
  *axis_out = a;
  return s;
}

const char* reduce_name(ReduceKind k) {
  switch (k) {
    case ReduceKind::sum:
      return "sum";
    case ReduceKind::mean:
      return "mean";
    case ReduceKind::max:
      return "max";
  }
  return "reduce";
}

// The forward kernels (no autograd). argmax is filled when defined (max only).
Tensor reduce_raw(ReduceKind k, const Tensor& x, const AxisSplit& s, const Shape& out_shape,
                  const Tensor& argmax) {
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  int64_t* am = argmax.defined() ? argmax.data<int64_t>() : nullptr;
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::reduce_axis<T>(k, x.data<T>(), y.data<T>(), am, s.outer, s.n, s.inner);
      },
      [&](cudaStream_t st) {
        cuda::reduce_axis(k, x.data<float>(), y.data<float>(), am, s.outer, s.n, s.inner, st);
      });
  return y;
}

// Backward of sum (scale 1) and mean (scale 1/n): dy broadcast along the axis.
Tensor broadcast_axis_raw(const Tensor& dy, const Shape& x_shape, const AxisSplit& s,
                          double scale) {
  Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device());
  dispatch(
      dy,
      [&](auto t) {
        using T = decltype(t);
        cpu::broadcast_axis<T>(dy.data<T>(), dx.data<T>(), s.outer, s.n, s.inner,
                               static_cast<T>(scale));
      },
      [&](cudaStream_t st) {
        cuda::broadcast_axis(dy.data<float>(), dx.data<float>(), s.outer, s.n, s.inner,
                             static_cast<float>(scale), st);
      });
  return dx;
}

Tensor max_backward_raw(const Tensor& dy, const Tensor& argmax, const Shape& x_shape,
                        const AxisSplit& s) {
  Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device());
  const int64_t* am = argmax.data<int64_t>();
  dispatch(
      dy,
      [&](auto t) {
        using T = decltype(t);
        cpu::max_backward<T>(dy.data<T>(), am, dx.data<T>(), s.outer, s.n, s.inner);
      },
      [&](cudaStream_t st) {
        cuda::max_backward(dy.data<float>(), am, dx.data<float>(), s.outer, s.n, s.inner, st);
      });
  return dx;
}

Tensor reduce(ReduceKind k, const Tensor& x, int64_t axis, bool keepdim) {
  const char* name = reduce_name(k);
  int64_t a = 0;
  const AxisSplit s = split_axis(x, axis, name, &a);
  Y8M_CHECK(k != ReduceKind::max || s.n > 0 || s.outer * s.inner == 0,
            "max: cannot reduce over axis {} of size 0 in {}", axis, x.str());
  Shape out_shape = x.shape();
  if (keepdim) {
    out_shape[static_cast<size_t>(a)] = 1;
  } else {
    out_shape.erase(out_shape.begin() + a);
  }
  const bool record = autograd::any_requires_grad({x});
  // max saves the index of the first maximum of each output, for its backward.
  Tensor argmax;
  if (k == ReduceKind::max && record) argmax = Tensor::empty(out_shape, DType::i64, x.device());
  Tensor y = reduce_raw(k, x, s, out_shape, argmax);
  if (record) {
    autograd::record(
        name, {x}, {y},
        [k, s, x_shape = x.shape(), argmax](const std::vector<Tensor>& g, const Node&) {
          if (k == ReduceKind::max)
            return std::vector<Tensor>{max_backward_raw(g[0], argmax, x_shape, s)};
          const double scale = k == ReduceKind::mean ? 1.0 / static_cast<double>(s.n) : 1.0;
          return std::vector<Tensor>{broadcast_axis_raw(g[0], x_shape, s, scale)};
        });
  }
  Y8M_TRACE_OP(name, {{"axis", axis}, {"keepdim", keepdim}}, {x}, {y});
  return y;
}

Tensor softmax_backward_raw(const Tensor& y, const Tensor& dy, int64_t rows, int64_t n) {
  Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
  dispatch(
      y,
      [&](auto t) {
        using T = decltype(t);
        cpu::softmax_backward<T>(y.data<T>(), dy.data<T>(), dx.data<T>(), rows, n);
      },
      [&](cudaStream_t st) {
        cuda::softmax_backward(y.data<float>(), dy.data<float>(), dx.data<float>(), rows, n, st);
      });
  return dx;
}

Tensor l2_normalize_backward_raw(const Tensor& x, const Tensor& dy, const AxisSplit& s) {
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::l2_normalize_backward<T>(x.data<T>(), dy.data<T>(), dx.data<T>(), s.outer, s.n,
                                      s.inner);
      },
      [&](cudaStream_t st) {
        cuda::l2_normalize_backward(x.data<float>(), dy.data<float>(), dx.data<float>(), s.outer,
                                    s.n, s.inner, st);
      });
  return dx;
}

}  // namespace

Tensor sum(const Tensor& x, int64_t axis, bool keepdim) {
  return reduce(ReduceKind::sum, x, axis, keepdim);
}
Tensor mean(const Tensor& x, int64_t axis, bool keepdim) {
  return reduce(ReduceKind::mean, x, axis, keepdim);
}
Tensor max(const Tensor& x, int64_t axis, bool keepdim) {
  return reduce(ReduceKind::max, x, axis, keepdim);
}

Tensor softmax(const Tensor& x) {
  check_float(x, "softmax");
  Y8M_CHECK(x.dim() >= 1, "softmax: expected at least one dimension, got {}", x.str());
  const int64_t n = x.size(-1);
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::softmax_forward<T>(x.data<T>(), y.data<T>(), rows, n);
      },
      [&](cudaStream_t st) {
        cuda::softmax_forward(x.data<float>(), y.data<float>(), rows, n, st);
      });
  if (autograd::any_requires_grad({x})) {
    autograd::record("softmax", {x}, {y},
                     [rows, n, y = autograd::detach(y)](const std::vector<Tensor>& g, const Node&) {
                       return std::vector<Tensor>{softmax_backward_raw(y, g[0], rows, n)};
                     });
  }
  Y8M_TRACE_OP("softmax", {}, {x}, {y});
  return y;
}

Tensor l2_normalize(const Tensor& x, int64_t axis) {
  int64_t a = 0;
  const AxisSplit s = split_axis(x, axis, "l2_normalize", &a);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::l2_normalize_forward<T>(x.data<T>(), y.data<T>(), s.outer, s.n, s.inner);
      },
      [&](cudaStream_t st) {
        cuda::l2_normalize_forward(x.data<float>(), y.data<float>(), s.outer, s.n, s.inner, st);
      });
  // The backward recomputes sum(x^2) from x, so only the input is captured (no saved output).
  if (autograd::any_requires_grad({x})) {
    autograd::record("l2_normalize", {x}, {y}, [s, x](const std::vector<Tensor>& g, const Node&) {
      return std::vector<Tensor>{l2_normalize_backward_raw(x, g[0], s)};
    });
  }
  Y8M_TRACE_OP("l2_normalize", {{"axis", axis}}, {x}, {y});
  return y;
}

}  // namespace y8m::ops
