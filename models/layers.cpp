#include "models/layers.h"

#include "ops/elementwise/elementwise.h"
#include "ops/matmul/matmul.h"
#include "ops/reduce/reduce.h"
#include "ops/shape/shape.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace y8m::models {

// ---- Initializer

Tensor Initializer::xavier_uniform(int64_t fan_in, int64_t fan_out) {
  Y8M_CHECK(fan_in > 0 && fan_out > 0, "xavier_uniform: fan_in {} and fan_out {} must be positive",
            fan_in, fan_out);
  Tensor t = Tensor::empty({fan_in, fan_out}, opts_.dtype, opts_.device);
  if (opts_.skip_random_init) return t;
  const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  engine::fill_uniform(t, gen_, -limit, limit);
  return t;
}

Tensor Initializer::normal(const Shape& shape, double stddev, double mean) {
  Y8M_CHECK(stddev >= 0, "normal initializer: stddev must be >= 0, got {}", stddev);
  Tensor t = Tensor::empty(shape, opts_.dtype, opts_.device);
  if (opts_.skip_random_init) return t;
  engine::fill_normal(t, gen_, mean, stddev);
  return t;
}

Tensor Initializer::constant(const Shape& shape, double value) {
  return Tensor::full(shape, value, opts_.dtype, opts_.device);
}

// ---- l2_loss

Tensor l2_loss(const Tensor& w, double scale) {
  // tf.nn.l2_loss(w) = sum(w^2) / 2, then slim multiplies by the scale.
  Tensor s = ops::sum(ops::square(ops::reshape(w, {w.numel()})), 0);
  return ops::mul_scalar(ops::mul_scalar(s, 0.5), scale);
}

// ---- Linear

Linear::Linear(Initializer& init, int64_t in, int64_t out, bool bias) {
  weights_ = add_parameter("weights", init.xavier_uniform(in, out));
  if (bias) biases_ = add_parameter("biases", init.constant({out}, 0.0));
}

Tensor Linear::forward(const Tensor& x) const {
  Y8M_CHECK(x.dim() >= 1 && x.size(-1) == in_features(),
            "Linear: input {} does not end in the {} input features of weights {}", x.str(),
            in_features(), weights_.str());
  Tensor y = ops::matmul(x, weights_);
  return biases_.defined() ? ops::add(y, biases_) : y;
}

// ---- BatchNorm

BatchNorm::BatchNorm(Initializer& init, int64_t channels, double epsilon, double decay)
    : epsilon_(epsilon), decay_(decay < 0 ? init.options().batch_norm_decay : decay) {
  Y8M_CHECK(channels > 0, "BatchNorm: channels must be positive, got {}", channels);
  beta_ = add_parameter("beta", init.constant({channels}, 0.0));
  gamma_ = add_parameter("gamma", init.constant({channels}, 1.0));
  moving_mean_ = add_buffer("moving_mean", init.constant({channels}, 0.0));
  moving_variance_ = add_buffer("moving_variance", init.constant({channels}, 1.0));
}

Tensor BatchNorm::forward(const Tensor& x) {
  ops::BatchNormOptions o;
  o.training = is_training();
  o.epsilon = epsilon_;
  o.decay = decay_;
  o.update_moving = true;
  return ops::batch_norm(x, gamma_, beta_, moving_mean_, moving_variance_, o);
}

// ---- DiagPart

Tensor DiagPart::operator()(const Tensor& w) const {
  Y8M_CHECK(w.dim() == 2, "diag_part: needs a matrix, got {}", w.str());
  const int64_t r = w.size(0), c = w.size(1), n = std::min(r, c);
  if (!index_.defined() || index_.device() != w.device() || rows_ != r || cols_ != c) {
    rows_ = r;
    cols_ = c;
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i * c + i;
    index_ = Tensor::from_vector(idx, {n}).to(w.device());
  }
  return ops::reshape(ops::gather_rows(ops::reshape(w, {r * c, 1}), index_), {n});
}

// ---- ContextGating

ContextGating::ContextGating(Scope& owner, Initializer& init, int64_t size, Variant variant,
                             bool remove_diag, const std::string& weights_name,
                             const std::string& bias_or_bn_name)
    : variant_(variant), remove_diag_(remove_diag) {
  Y8M_CHECK(size > 0, "ContextGating: size must be positive, got {}", size);
  const double std = 1.0 / std::sqrt(static_cast<double>(size));
  weights_ = owner.add_parameter(weights_name, init.normal({size, size}, std));
  if (variant == Variant::batch_norm) {
    bn_ = owner.add_module(bias_or_bn_name, std::make_shared<BatchNorm>(init, size));
  } else {
    biases_ = owner.add_parameter(bias_or_bn_name, init.normal({size}, std));
  }
}

Tensor ContextGating::forward(const Tensor& h) const {
  Y8M_CHECK(h.dim() == 2 && h.size(1) == weights_.size(0),
            "ContextGating: input {} must be [B, {}] for gating weights {}", h.str(),
            weights_.size(0), weights_.str());
  Tensor g = ops::matmul(h, weights_);
  if (remove_diag_) g = ops::sub(g, ops::mul(diag_(weights_), h));
  g = variant_ == Variant::batch_norm ? bn_->forward(g) : ops::add(g, biases_);
  return ops::mul(h, ops::sigmoid(g));
}

}  // namespace y8m::models
