#include "pipeline/losses.h"

#include "engine/error.h"
#include "ops/ops.h"

namespace y8m::pipeline {

void check_label_loss_name(const std::string& name) {
  Y8M_CHECK(name == "CrossEntropyLoss" || name == "HingeLoss" || name == "SoftmaxLoss",
            "--label_loss: unknown loss '{}' (CrossEntropyLoss, HingeLoss, SoftmaxLoss)", name);
}

Tensor label_loss(const std::string& name, const Tensor& p, const Tensor& y) {
  check_label_loss_name(name);
  const Tensor target = y.dtype() == p.dtype() ? y : y.to(p.dtype());
  if (name == "CrossEntropyLoss") return ops::sigmoid_cross_entropy(p, target, 1e-5);
  if (name == "HingeLoss") {
    // max(0, 1 - (2y - 1) p) summed over classes, averaged over the batch.
    Tensor sign = ops::add_scalar(ops::mul_scalar(target, 2.0), -1.0);
    Tensor margin = ops::relu(ops::add_scalar(ops::mul_scalar(ops::mul(sign, p), -1.0), 1.0));
    return ops::mean(ops::sum(margin, 1), 0);
  }
  // SoftmaxLoss: labels normalized per video (floored at 1e-7), cross-entropy against softmax(p).
  Tensor norm = ops::sum(target, 1, true);
  const Tensor floor = Tensor::full(norm.shape(), 1e-7, norm.dtype(), norm.device());
  Tensor denom = ops::add(ops::relu(ops::sub(norm, floor)), floor);  // max(norm, 1e-7)
  Tensor weights = ops::div(target, denom);
  Tensor logp = ops::log(ops::softmax(p));
  return ops::mul_scalar(ops::mean(ops::sum(ops::mul(weights, logp), 1), 0), -1.0);
}

Tensor mixed_cross_entropy_loss(const Tensor& p, const Tensor& t, const Tensor& y, double lambda) {
  Y8M_CHECK(lambda >= 0 && lambda <= 1, "--loss_lambda must be in [0, 1], got {}", lambda);
  Y8M_CHECK(t.shape() == y.shape(),
            "MixedCrossEntropyLoss: teacher predictions {} and labels {} differ in shape", t.str(),
            y.str());
  const Tensor tt = t.dtype() == p.dtype() ? t : t.to(p.dtype());
  const Tensor yy = y.dtype() == p.dtype() ? y : y.to(p.dtype());
  // lambda t + (1 - lambda) y: BCE is affine in the target (see the header).
  const Tensor target = ops::add(ops::mul_scalar(tt, lambda), ops::mul_scalar(yy, 1.0 - lambda));
  return ops::sigmoid_cross_entropy(p, target, 1e-5);
}

}  // namespace y8m::pipeline
