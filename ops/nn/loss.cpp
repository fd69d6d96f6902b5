// Op entry of sigmoid_cross_entropy: checks, dispatch, and an autograd node whose only input is p
// (targets are data: a y that requires grad gets no gradient from this op).
#include "ops/nn/loss.h"

#include "ops/graph/trace.h"
#include "ops/nn/nn_kernels.h"
#include "ops/op_common.h"

namespace y8m::ops {

namespace {

constexpr const char* kOp = "sigmoid_cross_entropy";

Tensor backward_raw(const Tensor& p, const Tensor& y, const Tensor& g, double eps) {
  const int64_t b = p.size(0), c = p.size(1);
  Tensor dp = Tensor::empty(p.shape(), p.dtype(), p.device());
  dispatch(
      p,
      [&](auto t) {
        using T = decltype(t);
        cpu::sigmoid_cross_entropy_backward<T>(p.data<T>(), y.data<T>(), g.data<T>(), b, c,
                                               static_cast<T>(eps), dp.data<T>());
      },
      [&](cudaStream_t st) {
        cuda::sigmoid_cross_entropy_backward(p.data<float>(), y.data<float>(), g.data<float>(), b,
                                             c, static_cast<float>(eps), dp.data<float>(), st);
      });
  return dp;
}

}  // namespace

Tensor sigmoid_cross_entropy(const Tensor& p, const Tensor& y, double epsilon) {
  check_float(p, kOp);
  check_float(y, kOp);
  check_compatible(p, y, kOp);
  check_dim(p, 2, kOp, "p");
  Y8M_CHECK(p.shape() == y.shape(), "{}: p and y must have the same shape [B, C], got {} and {}",
            kOp, p.str(), y.str());
  Y8M_CHECK(p.size(0) > 0, "{}: the batch is empty (the mean over it is undefined), got {}", kOp,
            p.str());
  Y8M_CHECK(epsilon >= 0, "{}: epsilon must be non-negative, got {}", kOp, epsilon);
  const int64_t b = p.size(0), c = p.size(1);
  Tensor loss = Tensor::empty({}, p.dtype(), p.device());
  dispatch(
      p,
      [&](auto t) {
        using T = decltype(t);
        cpu::sigmoid_cross_entropy_forward<T>(p.data<T>(), y.data<T>(), b, c,
                                              static_cast<T>(epsilon), loss.data<T>());
      },
      [&](cudaStream_t st) {
        Tensor row_sums = Tensor::empty({b}, DType::f32, p.device());
        cuda::sigmoid_cross_entropy_forward(p.data<float>(), y.data<float>(), b, c,
                                            static_cast<float>(epsilon), loss.data<float>(),
                                            row_sums.data<float>(), st);
      });
  if (autograd::any_requires_grad({p})) {
    autograd::record(
        kOp, {p}, {loss},
        [p, y = autograd::detach(y), epsilon](const std::vector<Tensor>& g, const Node&) {
          return std::vector<Tensor>{backward_raw(p, y, g[0], epsilon)};
        });
  }
  Y8M_TRACE_OP(kOp, {{"epsilon", epsilon}}, {p, y}, {loss});
  return loss;
}

}  // namespace y8m::ops
