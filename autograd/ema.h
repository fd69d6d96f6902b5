// Exponential moving average of model tensors (SPEC §7): TensorFlow's
// tf.train.ExponentialMovingAverage with a constant decay and no num_updates, hence no warm-up and
// no bias correction.
//
//   d       = 1 - 1/halflife                       (halflife 2000 -> d = 0.9995)
//   shadow <- shadow - (1 - d) * (shadow - var)     once per training step, after the optimizer step
//
// As in TF, the decay is a float32 constant and (1 - d) is computed in float32 from it, so the step
// factor for f32 tensors is 1.f - float(d) (not the exact 1/halflife); f64 tensors (CPU tests) use
// 1 - d in double. Each element is updated as delta = (shadow - var) * a; shadow = shadow - delta,
// without FMA contraction on CUDA, so CPU and CUDA agree bit for bit.
//
// The tracked tensors are the model's trainable parameters AND its buffers (BN moving
// mean/variance, which slim registers as model variables); Adam slots and the step are not
// averaged. Shadows start as copies of the variables. In checkpoints a shadow is named
// "<var>/ExponentialMovingAverage" (TF's name).
//
// On CUDA one update is one kernel launch over all tensors (a table of tensors and fixed-size
// chunks, as Adam's multi-tensor step), whatever the number of tensors.
#pragma once
#include "autograd/autograd_layer.h"

#include "autograd/module.h"

#include <string>

namespace y8m::autograd {

// The suffix TF gives shadow variables: "<var>/ExponentialMovingAverage".
inline const std::string kEmaSuffix = "/ExponentialMovingAverage";

class ExponentialMovingAverage {
 public:
  // d = 1 - 1/halflife; halflife must be >= 1 (d in [0, 1)). Throws naming --ema_halflife
  // otherwise.
  static double decay_for_halflife(double halflife);

  // Tracks `vars` (f32 on any device, or f64 on the CPU; all on one device). Shadows start as
  // copies. The tensors are held by handle: updates read the variables' current values.
  ExponentialMovingAverage(NamedTensors vars, double decay);

  // shadow <- shadow - (1 - d) * (shadow - var) for every tracked tensor.
  void update();
  // shadow <- var for every tracked tensor (warm start after the variables were loaded).
  void reset_shadows();
  // var <- shadow for every tracked tensor (evaluate the averaged weights in process).
  void copy_shadows_to_variables();

  double decay() const { return decay_; }
  int64_t num_updates() const { return updates_; }
  const NamedTensors& variables() const { return vars_; }
  // The shadow of variable i (a handle: writing it changes the average).
  const Tensor& shadow(size_t i) const { return shadows_[i]; }

  // Checkpoint form: "<var>/ExponentialMovingAverage" -> shadow (handles, not copies).
  NamedTensors state() const;
  // Restores every shadow from `state` (names as state() writes them; extra entries are ignored).
  // Throws naming the first shadow that is missing or has the wrong shape.
  void load_state(const NamedTensors& state);

 private:
  NamedTensors vars_;
  std::vector<Tensor> shadows_;
  double decay_;
  int64_t updates_ = 0;
};

}  // namespace y8m::autograd
