// Op entry of batch_norm: checks, statistics, the in-place moving-average update, the autograd
// node.
#include "ops/nn/batch_norm.h"

#include "ops/graph/trace.h"
#include "ops/nn/nn_kernels.h"
#include "ops/op_common.h"

namespace y8m::ops {

namespace {

constexpr const char* kOp = "batch_norm";

// Batch mean and inverse std of a training step (also updating the moving statistics when asked).
struct Saved {
  Tensor mean;    // [C]: batch mean (training) or moving mean (inference)
  Tensor invstd;  // [C]: 1 / sqrt(var + eps) of the same statistics
};

void check_channel_vector(const Tensor& t, const Tensor& x, int64_t c, const char* what) {
  Y8M_CHECK(t.defined(), "{}: undefined {}", kOp, what);
  check_compatible(t, x, kOp);
  Y8M_CHECK(t.dim() == 1 && t.size(0) == c,
            "{}: {} must have shape [{}] (the channels of x {}), got {}", kOp, what, c, x.str(),
            t.str());
}

Saved training_stats(const Tensor& x, int64_t n, int64_t c, Tensor& moving_mean,
                     Tensor& moving_variance, const BatchNormOptions& opts) {
  Saved s{Tensor::empty({c}, x.dtype(), x.device()), Tensor::empty({c}, x.dtype(), x.device())};
  // TF's fused kernel (2-D input) reports the unbiased variance to the moving average.
  const double var_factor =
      x.dim() == 2 && n > 1 ? static_cast<double>(n) / static_cast<double>(n - 1) : 1.0;
  const double momentum = 1.0 - opts.decay;
  auto moving_update = [&](auto t) {
    using T = decltype(t);
    BnMovingUpdate<T> upd;
    if (opts.update_moving)
      upd = {moving_mean.data<T>(), moving_variance.data<T>(), static_cast<T>(momentum),
             static_cast<T>(var_factor)};
    return upd;
  };
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::batch_norm_stats<T>(x.data<T>(), n, c, opts.epsilon, s.mean.data<T>(),
                                 s.invstd.data<T>(), moving_update(t));
      },
      [&](cudaStream_t st) {
        Tensor partials =
            Tensor::empty({cuda::batch_norm_partials_size(n, c)}, DType::f32, x.device());
        cuda::batch_norm_stats(x.data<float>(), n, c, static_cast<float>(opts.epsilon),
                               s.mean.data<float>(), s.invstd.data<float>(), moving_update(0.f),
                               partials.data<float>(), st);
      });
  return s;
}

Saved inference_stats(const Tensor& x, const Tensor& moving_mean, const Tensor& moving_variance,
                      int64_t c, const BatchNormOptions& opts) {
  // The mean is copied so that a later in-place update cannot change what backward sees.
  Saved s{moving_mean.clone(), Tensor::empty({c}, x.dtype(), x.device())};
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::batch_norm_invstd<T>(moving_variance.data<T>(), c, opts.epsilon, s.invstd.data<T>());
      },
      [&](cudaStream_t st) {
        cuda::batch_norm_invstd(moving_variance.data<float>(), c, static_cast<float>(opts.epsilon),
                                s.invstd.data<float>(), st);
      });
  return s;
}

Tensor apply_raw(const Tensor& x, int64_t n, int64_t c, const Saved& s, const Tensor& gamma,
                 const Tensor& beta) {
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::batch_norm_apply<T>(x.data<T>(), n, c, s.mean.data<T>(), s.invstd.data<T>(),
                                 gamma.data<T>(), beta.data<T>(), y.data<T>());
      },
      [&](cudaStream_t st) {
        cuda::batch_norm_apply(x.data<float>(), n, c, s.mean.data<float>(), s.invstd.data<float>(),
                               gamma.data<float>(), beta.data<float>(), y.data<float>(), st);
      });
  return y;
}

// Gradients of x, gamma and beta (undefined where not needed).
std::vector<Tensor> backward_raw(const Tensor& x, const Tensor& dy, int64_t n, int64_t c,
                                 const Saved& s, const Tensor& gamma, bool training,
                                 const Node& node) {
  Tensor dgamma = Tensor::empty({c}, x.dtype(), x.device());
  Tensor dbeta = Tensor::empty({c}, x.dtype(), x.device());
  Tensor dx;
  const bool want_dx = node.needs_input_grad(0);
  if (want_dx) dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        cpu::batch_norm_backward_reduce<T>(x.data<T>(), dy.data<T>(), n, c, s.mean.data<T>(),
                                           s.invstd.data<T>(), dgamma.data<T>(), dbeta.data<T>());
        if (want_dx)
          cpu::batch_norm_backward_dx<T>(x.data<T>(), dy.data<T>(), n, c, s.mean.data<T>(),
                                         s.invstd.data<T>(), gamma.data<T>(), dgamma.data<T>(),
                                         dbeta.data<T>(), training, dx.data<T>());
      },
      [&](cudaStream_t st) {
        Tensor partials =
            Tensor::empty({2 * cuda::batch_norm_partials_size(n, c)}, DType::f32, x.device());
        cuda::batch_norm_backward_reduce(
            x.data<float>(), dy.data<float>(), n, c, s.mean.data<float>(), s.invstd.data<float>(),
            dgamma.data<float>(), dbeta.data<float>(), partials.data<float>(), st);
        if (want_dx)
          cuda::batch_norm_backward_dx(x.data<float>(), dy.data<float>(), n, c,
                                       s.mean.data<float>(), s.invstd.data<float>(),
                                       gamma.data<float>(), dgamma.data<float>(),
                                       dbeta.data<float>(), training, dx.data<float>(), st);
      });
  return {dx, node.needs_input_grad(1) ? dgamma : Tensor(),
          node.needs_input_grad(2) ? dbeta : Tensor()};
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& moving_mean,
                  Tensor& moving_variance, const BatchNormOptions& opts) {
  check_float(x, kOp);
  Y8M_CHECK(x.dim() >= 2, "{}: x must have at least 2 dimensions [..., C], got {}", kOp, x.str());
  const int64_t c = x.size(-1);
  int64_t n = 1;
  for (int64_t d = 0; d + 1 < x.dim(); ++d) n *= x.size(d);
  check_channel_vector(gamma, x, c, "gamma");
  check_channel_vector(beta, x, c, "beta");
  check_channel_vector(moving_mean, x, c, "moving_mean");
  check_channel_vector(moving_variance, x, c, "moving_variance");
  Y8M_CHECK(opts.epsilon > 0, "{}: epsilon must be positive, got {}", kOp, opts.epsilon);
  Y8M_CHECK(opts.decay >= 0 && opts.decay <= 1, "{}: decay must be in [0, 1], got {}", kOp,
            opts.decay);
  Y8M_CHECK(!opts.training || n > 0,
            "{}: training needs at least one row to take statistics, got {}", kOp, x.str());

  const Saved s = opts.training ? training_stats(x, n, c, moving_mean, moving_variance, opts)
                                : inference_stats(x, moving_mean, moving_variance, c, opts);
  Tensor y = apply_raw(x, n, c, s, gamma, beta);
  if (autograd::any_requires_grad({x, gamma, beta})) {
    const bool training = opts.training;
    autograd::record(kOp, {x, gamma, beta}, {y},
                     [x, gamma, s, n, c, training](const std::vector<Tensor>& g, const Node& node) {
                       return backward_raw(x, g[0], n, c, s, gamma, training, node);
                     });
  }
  Y8M_TRACE_OP(kOp, {{"epsilon", opts.epsilon}, {"training", opts.training}},
               {x, gamma, beta, moving_mean, moving_variance}, {y});
  return y;
}

}  // namespace y8m::ops
