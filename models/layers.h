// Building blocks shared by the models (SPEC §2): parameter initializers, a Module whose
// registration is public (so a component can place variables at TF-compatible names), the slim
// fully-connected layer, slim batch normalization and the two context-gating variants.
//
// Variable names follow the original TF graph (SPEC §2.5, without the "tower/" prefix): a slim
// layer owns a scope ("gates/weights", "gating_prob_bn/beta"), while get_variable weights sit
// directly in the scope of the model ("hidden1_weights", "gating_weights_2"). Components whose
// variables are spread over the enclosing scope (ContextGating here, the heads in heads.h) are
// therefore not Modules themselves: they register their parameters and child layers into an owner
// Scope given at construction.
//
// Every layer creates its parameters through an Initializer, in a fixed creation order documented
// per class, so a model built twice from the same seed is bit-identical on any device (Philox,
// engine/rng.h).
#pragma once
#include "models/models_layer.h"

#include "autograd/module.h"
#include "engine/rng.h"
#include "engine/tensor.h"
#include "ops/nn/batch_norm.h"

#include <memory>
#include <string>

namespace y8m::models {

// Where and how parameters are created.
struct InitOptions {
  DType dtype = DType::f32;  // f32 for training; f64 (CPU) for gradient checks
  Device device = Device::cpu();
  // Test-only: random initializers return uninitialized memory (Tensor::empty) and draw nothing
  // from the generator, so a full-size model (1.2 GB for NetVLAD1) can be built to count its
  // parameters. Constant initializers (BN statistics, zero biases) still fill.
  bool skip_random_init = false;
  // Decay of every BatchNorm's moving averages (slim: 0.999). A y8m option (--batch_norm_decay) for
  // short runs, whose moving statistics would otherwise stay near their initial values.
  double batch_norm_decay = 0.999;
};

// Initializers of SPEC §2.2 / §6.5. Each random fill draws from the generator given at construction
// and advances it by the counters the fill consumes (engine::uniform_counters / normal_counters of
// the element count), so the values depend only on the seed and the order of creation.
class Initializer {
 public:
  explicit Initializer(engine::Generator& generator, InitOptions opts = {})
      : gen_(generator), opts_(opts) {}

  // Glorot/Xavier uniform for a [fan_in, fan_out] matrix, the slim fully_connected
  // default: U(-l, l) with l = sqrt(6 / (fan_in + fan_out)).
  Tensor xavier_uniform(int64_t fan_in, int64_t fan_out);
  // Untruncated normal N(mean, stddev) (tf.random_normal_initializer).
  Tensor normal(const Shape& shape, double stddev, double mean = 0.0);
  Tensor constant(const Shape& shape, double value);

  DType dtype() const { return opts_.dtype; }
  Device device() const { return opts_.device; }
  const InitOptions& options() const { return opts_; }
  engine::Generator& generator() { return gen_; }

 private:
  engine::Generator& gen_;
  InitOptions opts_;
};

// A Module whose registration functions are public: models and the components inside them register
// variables into it by name.
class Scope : public autograd::Module {
 public:
  Tensor add_parameter(const std::string& name, Tensor value) {
    return register_parameter(name, std::move(value));
  }
  Tensor add_buffer(const std::string& name, Tensor value) {
    return register_buffer(name, std::move(value));
  }
  template <class M>
  std::shared_ptr<M> add_module(const std::string& name, std::shared_ptr<M> m) {
    return register_module(name, std::move(m));
  }
};

// slim L2 regularizer term (SPEC §6.3): scale * sum(w^2) / 2 as a scalar (shape []) in w's dtype,
// on w's device, differentiable with respect to w.
Tensor l2_loss(const Tensor& w, double scale);

// slim.fully_connected without activation: y = x·W (+ b). Variables "weights" [in, out] (Xavier
// uniform) and, when `bias`, "biases" [out] (zeros). Creation order: weights, biases.
// x is [N, in] (or [..., in] with a 2-D weight broadcast over leading dimensions by matmul).
class Linear : public Scope {
 public:
  Linear(Initializer& init, int64_t in, int64_t out, bool bias = true);
  Tensor forward(const Tensor& x) const;
  const Tensor& weights() const { return weights_; }
  const Tensor& biases() const { return biases_; }  // undefined without bias
  int64_t in_features() const { return weights_.size(0); }
  int64_t out_features() const { return weights_.size(1); }

 private:
  Tensor weights_, biases_;
};

// slim.batch_norm(center=True, scale=True) (SPEC §2.1) over the last axis of [N, C] or
// [N, T, C] input. Parameters "beta" (0) and "gamma" (1); buffers "moving_mean" (0) and
// "moving_variance" (1). Uses batch statistics and updates the moving averages in place
// while is_training(), the moving statistics otherwise (ops/nn/batch_norm.h describes the
// Bessel correction of the 2-D update).
class BatchNorm : public Scope {
 public:
  // decay < 0: the initializer's InitOptions::batch_norm_decay.
  BatchNorm(Initializer& init, int64_t channels, double epsilon = 1e-3, double decay = -1.0);
  Tensor forward(const Tensor& x);
  int64_t channels() const { return gamma_.size(0); }

 private:
  Tensor beta_, gamma_, moving_mean_, moving_variance_;
  double epsilon_, decay_;
};

// The diagonal of a [R, C] matrix, as a differentiable [min(R, C)] vector (tf.matrix_diag_part),
// via a gather of the flattened matrix. The index is cached for the last device and shape seen.
class DiagPart {
 public:
  Tensor operator()(const Tensor& w) const;

 private:
  mutable Tensor index_;
  mutable int64_t rows_ = -1, cols_ = -1;
};

// Context gating of a hidden vector (SPEC §2.4), h' = h ⊙ sigmoid(g), with
//   CG-BN   (NetVLAD / NetFV): g = BN_{bn_name}(h·Wg [- diag(Wg) ⊙ h])
//   CG-bias (GRUbidirect):     g = h·Wg [- diag(Wg) ⊙ h] + bg
// Wg [H, H] ~ N(0, 1/sqrt(H)) and bg [H] ~ N(0, 1/sqrt(H)), no bias in the BN variant. The
// diagonal term is there with remove_diag (--gating_remove_diag); as in the original it is
// taken before the batch norm. Registers into `owner`: the weight `weights_name`, then the
// BN scope or the bias `bias_or_bn_name` (creation order: weights, then BN or bias).
class ContextGating {
 public:
  enum class Variant { batch_norm, bias };
  ContextGating(Scope& owner, Initializer& init, int64_t size, Variant variant, bool remove_diag,
                const std::string& weights_name = "gating_weights_2",
                const std::string& bias_or_bn_name = "gating_bn");
  Tensor forward(const Tensor& h) const;

 private:
  Variant variant_;
  bool remove_diag_;
  Tensor weights_, biases_;
  std::shared_ptr<BatchNorm> bn_;
  DiagPart diag_;
};

}  // namespace y8m::models
