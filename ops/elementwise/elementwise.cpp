// Op entries of the element-wise family: checks, allocation, dispatch, autograd nodes.
#include "ops/elementwise/elementwise.h"

#include "ops/elementwise/elementwise_kernels.h"
#include "ops/graph/trace.h"
#include "ops/op_common.h"

namespace y8m::ops {

namespace {

const char* unary_name(UnaryKind k) {
  switch (k) {
    case UnaryKind::add_scalar:
      return "add_scalar";
    case UnaryKind::mul_scalar:
      return "mul_scalar";
#define Y8M_UNARY_NAME_CASE(X, name, lo, hi, forward, backward) \
  case UnaryKind::name:                                         \
    return #name;
      Y8M_UNARY_OPS(Y8M_UNARY_NAME_CASE, _)
#undef Y8M_UNARY_NAME_CASE
  }
  return "unary";
}

const char* binary_name(BinaryKind k) {
  switch (k) {
    case BinaryKind::add:
      return "add";
    case BinaryKind::sub:
      return "sub";
    case BinaryKind::mul:
      return "mul";
    case BinaryKind::div:
      return "div";
  }
  return "binary";
}

// Raw kernels (no autograd), used by the forward entries and by backward closures.
Tensor unary_raw(UnaryKind k, const Tensor& x, double s) {
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  const int64_t n = x.numel();
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::unary_forward<T>(k, x.data<T>(), y.data<T>(), n, static_cast<T>(s));
      },
      [&](cudaStream_t st) {
        cuda::unary_forward(k, x.data<float>(), y.data<float>(), n, static_cast<float>(s), st);
      });
  return y;
}

Tensor unary_backward_raw(UnaryKind k, const Tensor& x, const Tensor& y, const Tensor& dy,
                          double s) {
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  const int64_t n = x.numel();
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::unary_backward<T>(k, x.data<T>(), y.data<T>(), dy.data<T>(), dx.data<T>(), n,
                               static_cast<T>(s));
      },
      [&](cudaStream_t st) {
        cuda::unary_backward(k, x.data<float>(), y.data<float>(), dy.data<float>(),
                             dx.data<float>(), n, static_cast<float>(s), st);
      });
  return dx;
}

Tensor unary(UnaryKind k, const Tensor& x, double s = 0.0) {
  const char* name = unary_name(k);
  check_float(x, name);
  Tensor y = unary_raw(k, x, s);
  if (autograd::any_requires_grad({x})) {
    autograd::record(name, {x}, {y},
                     [k, s, x, y = autograd::detach(y)](const std::vector<Tensor>& g, const Node&) {
                       return std::vector<Tensor>{unary_backward_raw(k, x, y, g[0], s)};
                     });
  }
  const bool scalar = k == UnaryKind::add_scalar || k == UnaryKind::mul_scalar;
  Y8M_TRACE_OP(name, scalar ? graph::Attrs{{"scalar", s}} : graph::Attrs{}, {x}, {y});
  return y;
}

BroadcastIndex make_broadcast(const Shape& out, const Shape& a, const Shape& b) {
  BroadcastIndex bi;
  bi.ndim = static_cast<int>(out.size());
  Y8M_CHECK(bi.ndim <= kMaxDims, "broadcast: at most {} dimensions, got {}", kMaxDims, bi.ndim);
  long long sa = 1, sb = 1;
  for (int d = bi.ndim - 1; d >= 0; --d) {
    const int da = d - (bi.ndim - static_cast<int>(a.size()));
    const int db = d - (bi.ndim - static_cast<int>(b.size()));
    const long long ea = da >= 0 ? a[static_cast<size_t>(da)] : 1;
    const long long eb = db >= 0 ? b[static_cast<size_t>(db)] : 1;
    bi.shape[d] = out[static_cast<size_t>(d)];
    bi.stride_a[d] = ea == 1 ? 0 : sa;
    bi.stride_b[d] = eb == 1 ? 0 : sb;
    sa *= ea;
    sb *= eb;
  }
  return bi;
}

Tensor binary_raw(BinaryKind k, const Tensor& a, const Tensor& b) {
  const char* name = binary_name(k);
  const Shape out_shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  const bool same = a.shape() == b.shape();
  const BroadcastIndex bi = make_broadcast(out_shape, a.shape(), b.shape());
  const int64_t n = out.numel();
  dispatch(
      a,
      [&](auto t) {
        using T = decltype(t);
        cpu::binary_forward<T>(k, a.data<T>(), b.data<T>(), out.data<T>(), n, bi, same);
      },
      [&](cudaStream_t st) {
        cuda::binary_forward(k, a.data<float>(), b.data<float>(), out.data<float>(), n, bi, same,
                             st);
      });
  return out;
}

Tensor binary(BinaryKind k, const Tensor& a, const Tensor& b) {
  const char* name = binary_name(k);
  check_float(a, name);
  check_float(b, name);
  check_compatible(a, b, name);
  Tensor out = binary_raw(k, a, b);
  if (autograd::any_requires_grad({a, b})) {
    autograd::record(
        name, {a, b}, {out}, [k, a, b](const std::vector<Tensor>& g, const Node& node) {
          const Tensor& dy = g[0];
          Tensor da, db;
          switch (k) {
            case BinaryKind::add:
              if (node.needs_input_grad(0)) da = sum_to(dy, a.shape());
              if (node.needs_input_grad(1)) db = sum_to(dy, b.shape());
              break;
            case BinaryKind::sub:
              if (node.needs_input_grad(0)) da = sum_to(dy, a.shape());
              if (node.needs_input_grad(1))
                db = sum_to(unary_raw(UnaryKind::mul_scalar, dy, -1.0), b.shape());
              break;
            case BinaryKind::mul:
              if (node.needs_input_grad(0))
                da = sum_to(binary_raw(BinaryKind::mul, dy, b), a.shape());
              if (node.needs_input_grad(1))
                db = sum_to(binary_raw(BinaryKind::mul, dy, a), b.shape());
              break;
            case BinaryKind::div:
              if (node.needs_input_grad(0))
                da = sum_to(binary_raw(BinaryKind::div, dy, b), a.shape());
              if (node.needs_input_grad(1)) {
                // d(a/b)/db = -a / b^2
                Tensor q = binary_raw(BinaryKind::div, binary_raw(BinaryKind::mul, dy, a),
                                      unary_raw(UnaryKind::square, b, 0.0));
                db = sum_to(unary_raw(UnaryKind::mul_scalar, q, -1.0), b.shape());
              }
              break;
          }
          return std::vector<Tensor>{da, db};
        });
  }
  Y8M_TRACE_OP(name, {}, {a, b}, {out});
  return out;
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t ea = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t eb = i < n - b.size() ? 1 : b[i - (n - b.size())];
    Y8M_CHECK(ea == eb || ea == 1 || eb == 1, "{}: shapes {} and {} do not broadcast", op,
              engine::shape_str(a), engine::shape_str(b));
    out[i] = ea == 1 ? eb : ea;
  }
  return out;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  Y8M_CHECK(broadcast_shapes(shape, x.shape(), "sum_to") == x.shape(),
            "sum_to: {} does not broadcast to {}", engine::shape_str(shape), x.str());
  SumToIndex si;
  si.ndim = static_cast<int>(x.dim());
  Y8M_CHECK(si.ndim <= kMaxDims, "sum_to: at most {} dimensions, got {}", kMaxDims, si.ndim);
  long long stride = 1;
  for (int d = si.ndim - 1; d >= 0; --d) {
    const int ds = d - (si.ndim - static_cast<int>(shape.size()));
    const long long eo = ds >= 0 ? shape[static_cast<size_t>(ds)] : 1;
    const long long ei = x.shape()[static_cast<size_t>(d)];
    const bool reduced = eo == 1 && ei != 1;
    si.out_shape[d] = reduced ? 1 : ei;
    si.red_shape[d] = reduced ? ei : 1;
    si.in_stride[d] = stride;
    si.n_reduced *= si.red_shape[d];
    stride *= ei;
  }
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  const int64_t n_out = out.numel();
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::sum_to<T>(x.data<T>(), out.data<T>(), n_out, si);
      },
      [&](cudaStream_t st) { cuda::sum_to(x.data<float>(), out.data<float>(), n_out, si, st); });
  return out;
}

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryKind::add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryKind::sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryKind::mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryKind::div, a, b); }
Tensor add_scalar(const Tensor& x, double s) { return unary(UnaryKind::add_scalar, x, s); }
Tensor mul_scalar(const Tensor& x, double s) { return unary(UnaryKind::mul_scalar, x, s); }
#define Y8M_UNARY_DEF(X, name, lo, hi, forward, backward) \
  Tensor name(const Tensor& x) { return unary(UnaryKind::name, x); }
Y8M_UNARY_OPS(Y8M_UNARY_DEF, _)
#undef Y8M_UNARY_DEF

}  // namespace y8m::ops
