// Optimizers (SPEC §6.1): Adam in TensorFlow's form with per-tensor gradient-norm clipping.
//
//   g      <- g * clip / max(||g||_2, clip)              for every tensor separately (if clip > 0)
//   b1p    <- b1p * beta1;  b2p <- b2p * beta2           (float, as TF's beta1_power/beta2_power)
//   alpha   = lr * sqrt(1 - b2p) / (1 - b1p)             (bias correction folded into the step
//   size) m      <- m + (g - m) * (1 - beta1) v      <- v + (g*g - v) * (1 - beta2) theta  <- theta
//   - (m * alpha) / (sqrt(v) + eps)
//
// On CUDA one step is three launches over all parameters together (per-chunk squared norms,
// per-tensor clip scales, the fused Adam update), whatever the number of tensors; the result is
// deterministic.
//
// Non-finite guard (AdamOptions::check_finite, on by default): the squared gradient norms that
// clipping needs are computed for every tensor first, and with the loss (when given) checked for
// Inf/NaN before anything is updated. A non-finite one makes the whole step a no-op (parameters,
// slots, beta powers and step count unchanged) and step() returns false. On CUDA this costs one
// 4-byte device-to-host copy and a stream synchronization per step (between the norms and the
// update); without clipping it adds one read of the gradients.
#pragma once
#include "autograd/autograd_layer.h"

#include "autograd/module.h"

#include <memory>
#include <string>

namespace y8m::autograd {

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double clip_norm = 0.0;    // per-tensor gradient clipping; <= 0 disables it
  bool check_finite = true;  // skip the whole step on a non-finite loss or gradient (above)
};

// What one step saw.
struct AdamStepResult {
  bool applied = true;       // false: a non-finite value was found and nothing changed
  bool loss_finite = true;   // the loss given to step() (true when none was given)
  std::string bad_gradient;  // the first parameter whose gradient norm is not finite ("" if none)
};

class Adam {
 public:
  // Parameters must be f32 (or f64 on the CPU) leaves on one device.
  Adam(NamedTensors params, AdamOptions opts = {});
  // One update at learning rate `lr`. Parameters without a gradient are left alone (as in TF), but
  // the step count advances. `loss` (a scalar on the parameters' device, optional) joins the
  // non-finite check.
  AdamStepResult step(double lr, const Tensor& loss = Tensor());
  int64_t step_count() const { return step_; }
  const AdamOptions& options() const { return opts_; }

  // Optimizer state for checkpoints: TF slot names "<param>/Adam" (m) and "<param>/Adam_1" (v),
  // plus "beta1_power", "beta2_power" (f32 scalars) and the step count.
  NamedTensors state() const;
  void load_state(const NamedTensors& state, int64_t step);

 private:
  NamedTensors params_;
  AdamOptions opts_;
  std::vector<Tensor> m_, v_;
  float beta1_power_, beta2_power_;
  int64_t step_ = 0;
};

// Standalone per-tensor clipping: g <- g * max_norm / max(||g||, max_norm). Returns the norm before
// clipping (synchronizes a CUDA device).
double clip_by_norm_(Tensor& g, double max_norm);

}  // namespace y8m::autograd
