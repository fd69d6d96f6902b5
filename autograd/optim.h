// Optimizers (SPEC §6.1): TensorFlow 1.x's tf.train optimizers in the exact form of their kernels
// (training_ops.cc), each after per-tensor gradient-norm clipping:
//
//   g      <- g * clip / max(||g||_2, clip)     for every tensor separately (if clip > 0)
//
//   GradientDescentOptimizer  theta <- theta - g * lr
//   MomentumOptimizer         a <- a * momentum + g;  theta <- theta - a * lr    (use_nesterov false)
//                             slot "<var>/Momentum" (a, zeros)
//   AdagradOptimizer          a <- a + g * g;  theta <- theta - g * lr * (1 / sqrt(a))
//                             slot "<var>/Adagrad" (a, initial_accumulator_value 0.1)
//   RMSPropOptimizer          ms <- ms + (g * g - ms) * (1 - decay)
//                             mom <- mom * momentum + g * lr / sqrt(ms + eps);  theta <- theta - mom
//                             decay 0.9, momentum 0, eps 1e-10 (centered false); slots
//                             "<var>/RMSProp" (ms, ones) and "<var>/RMSProp_1" (mom, zeros)
//   AdamOptimizer             b1p <- b1p * beta1;  b2p <- b2p * beta2  (float, TF's beta1_power...)
//                             alpha = lr * sqrt(1 - b2p) / (1 - b1p)
//                             m <- m + (g - m) * (1 - beta1);  v <- v + (g * g - v) * (1 - beta2)
//                             theta <- theta - (m * alpha) / (sqrt(v) + eps)
//                             beta1 0.9, beta2 0.999, eps 1e-8; slots "<var>/Adam" (m),
//                             "<var>/Adam_1" (v), plus "beta1_power" and "beta2_power"
//
// Every optimizer shares one step (Optimizer::step): on CUDA it is three launches over all
// parameters together (per-chunk squared norms, per-tensor clip scales and non-finite check, the
// fused update of the optimizer's rule), whatever the number of tensors; the result is
// deterministic.
//
// Non-finite guard (check_finite, on by default): the squared gradient norms that clipping needs
// are computed for every tensor first, and with the loss (when given) checked for Inf/NaN before
// anything is updated. A non-finite one makes the whole step a no-op (parameters, slots, beta
// powers and step count unchanged) and step() says so. On CUDA this costs one 8-byte device-to-host
// copy and a stream synchronization per step (between the norms and the update); without clipping
// it adds one read of the gradients.
#pragma once
#include "autograd/autograd_layer.h"

#include "autograd/module.h"
#include "autograd/update_rule.h"

#include <memory>
#include <string>
#include <vector>

namespace y8m::autograd {

// What one step saw.
struct StepResult {
  bool applied = true;       // false: a non-finite value was found and nothing changed
  bool loss_finite = true;   // the loss given to step() (true when none was given)
  std::string bad_gradient;  // the first parameter whose gradient norm is not finite ("" if none)
};
using AdamStepResult = StepResult;

// The hyperparameters of one step, as the kernels take them (double here, cast to the parameters'
// type there). lr is TF's learning-rate tensor (float), alpha Adam's bias-corrected step size.
struct UpdateCoeffs {
  double lr = 0;
  double alpha = 0;     // Adam
  double beta1 = 0;     // Adam
  double beta2 = 0;     // Adam; RMSProp's decay
  double momentum = 0;  // Momentum, RMSProp
  double eps = 0;       // Adam, RMSProp
};

// The base of every optimizer: parameters, up to two slots per parameter, the step count, the
// shared step with clipping and the non-finite guard, and the state for checkpoints.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update at learning rate `lr`. Parameters without a gradient are left alone (as in TF),
  // but the step count advances. `loss` (a scalar on the parameters' device, optional) joins the
  // non-finite check.
  StepResult step(double lr, const Tensor& loss = Tensor());
  int64_t step_count() const { return step_; }
  // The tf.train class name ("AdamOptimizer", ...).
  const std::string& name() const { return name_; }

  // Optimizer state for checkpoints: the TF slot names (above) and any extra scalars; the step
  // count travels separately.
  NamedTensors state() const;
  void load_state(const NamedTensors& state, int64_t step);

 protected:
  // `what` prefixes errors ("adam"); `slots` are the TF slot suffixes with their initial values.
  Optimizer(std::string name, std::string what, NamedTensors params, UpdateRule rule,
            std::vector<std::pair<std::string, double>> slots, double clip_norm, bool check_finite);
  // The coefficients of the next step (by default the learning rate alone); `commit` is called
  // only once it is known to be applied.
  virtual UpdateCoeffs coeffs(double lr) const {
    UpdateCoeffs c;
    c.lr = lr;
    return c;
  }
  virtual void commit(const UpdateCoeffs&) {}
  virtual void extra_state(NamedTensors*) const {}
  virtual void load_extra_state(const NamedTensors&) {}
  // The named tensor of `state` (an error naming it if missing).
  const Tensor& find_state(const NamedTensors& state, const std::string& name) const;

  std::string name_, what_;
  NamedTensors params_;
  UpdateRule rule_;
  std::vector<std::pair<std::string, double>> slot_specs_;
  std::vector<std::vector<Tensor>> slots_;  // [slot][parameter]
  double clip_norm_;
  bool check_finite_;
  int64_t step_ = 0;

 private:
  void update_cpu(const UpdateCoeffs& c, const std::vector<double>& sumsq);
  StepResult step_cuda(const UpdateCoeffs& c, const Tensor& loss);
};

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double clip_norm = 0.0;    // per-tensor gradient clipping; <= 0 disables it
  bool check_finite = true;  // skip the whole step on a non-finite loss or gradient (above)
};

// Parameters must be f32 (or f64 on the CPU) leaves on one device (for every optimizer).
class Adam : public Optimizer {
 public:
  Adam(NamedTensors params, AdamOptions opts = {});
  const AdamOptions& options() const { return opts_; }

 protected:
  UpdateCoeffs coeffs(double lr) const override;
  void commit(const UpdateCoeffs& c) override;
  void extra_state(NamedTensors* out) const override;
  void load_extra_state(const NamedTensors& state) override;

 private:
  AdamOptions opts_;
  float beta1_power_ = 1.f, beta2_power_ = 1.f;
};

// What the trainer's flags choose: the tf.train class name and its constructor's arguments beyond
// the learning rate (TF's defaults, except momentum, which MomentumOptimizer requires).
struct OptimizerConfig {
  std::string name = "AdamOptimizer";
  double momentum = 0.9;  // MomentumOptimizer only (RMSProp keeps TF's default 0)
  double clip_norm = 0.0;
  bool check_finite = true;
};

// The tf.train class names implemented, in the order errors list them.
const std::vector<std::string>& optimizer_names();
// Throws "<flag>: unknown optimizer '<name>'; implemented: ..." for a name not in the list.
void check_optimizer_name(const std::string& name, const std::string& flag = "--optimizer");
std::unique_ptr<Optimizer> make_optimizer(NamedTensors params, const OptimizerConfig& config);

// Standalone per-tensor clipping: g <- g * max_norm / max(||g||, max_norm). Returns the norm before
// clipping (synchronizes a CUDA device).
double clip_by_norm_(Tensor& g, double max_norm);

}  // namespace y8m::autograd
