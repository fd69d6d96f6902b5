// Video-level classifier heads (SPEC §2.3, video_level_models.py): they map a pooled
// feature x [B, Din] to class probabilities p [B, V]. Heads register their variables into
// the scope of the model that uses them (the original creates them in the model's own
// variable scope: "gates/weights", "gating_prob_weights", ...), so a head is a component
// constructed with an owner Scope.
//
// regularization_loss() is the sum of the head's slim L2 terms (SPEC §6.3), a scalar to be
// scaled by --regularization_penalty and added to the label loss.
#pragma once
#include "models/models_layer.h"

#include "models/config.h"
#include "models/layers.h"

#include <memory>
#include <string>

namespace y8m::models {

class Head {
 public:
  virtual ~Head() = default;
  // x [B, Din] -> probabilities [B, V].
  virtual Tensor forward(const Tensor& x) = 0;
  virtual Tensor regularization_loss() const = 0;
};

// LogisticModel: p = sigmoid(x·W + b), W [Din, V] Xavier uniform, b [V] zeros, regularizer
// l2·||W||²/2 with l2 = 1e-8 (a fixed argument in the original; --moe_l2 does not apply).
// Variables: "<scope>/weights", "<scope>/biases"; the slim default scope is "fully_connected".
class LogisticHead : public Head {
 public:
  LogisticHead(Scope& owner, Initializer& init, int64_t input_size, int64_t num_classes,
               double l2 = 1e-8, const std::string& scope = "fully_connected");
  Tensor forward(const Tensor& x) override;
  Tensor regularization_loss() const override;

 private:
  std::shared_ptr<Linear> fc_;
  double l2_;
};

// The MoeModel flags (SPEC §5, video_level_models) plus --gating_remove_diag, which the
// head reads too.
struct MoeOptions {
  int64_t num_mixtures = 2;      // --moe_num_mixtures (M)
  double l2 = 1e-8;              // --moe_l2, on the gate and expert weights
  int64_t low_rank_gating = -1;  // --moe_low_rank_gating (r > 0: Wg = [Din,r]·[r,V(M+1)])
  bool prob_gating = false;      // --moe_prob_gating (output context gating)
  std::string prob_gating_input = "prob";  // --moe_prob_gating_input: "prob", else the head input
  bool remove_diag = false;                // --gating_remove_diag
};

// MoeModel (SPEC §2.3):
//   G = x·Wg                 "gates/weights" [Din, V(M+1)], no bias, L2 λ
//       (low rank: G = (x·Wg1)·Wg2 with "gates1/weights" [Din, r] and
//        "gates2/weights" [r, V(M+1)], both L2 λ)
//   E = x·We + be            "experts/weights" [Din, VM] (L2 λ), "experts/biases" [VM]
//   p = gated_moe(G, E, M)   (ops/fused/gated_moe.h; the composite when Y8M_DISABLE_FUSION=1)
//   with prob gating:
//     u = p·Wpg (input "prob", Wpg [V, V])  or  x·Wpg (any other input value, Wpg [Din, V])
//         "gating_prob_weights" ~ N(0, 1/sqrt(V)), not regularized
//     u -= diag(Wpg) ⊙ p     (remove_diag; the diagonal of a [Din, V] matrix has
//                             min(Din, V) entries, which must be V, as the original's
//                             broadcast requires)
//     p = p ⊙ sigmoid(BN_{gating_prob_bn}(u))
// Gate and expert weights are Xavier uniform, expert biases zero. Creation order: gates (or gates1,
// gates2), experts, gating_prob_weights, gating_prob_bn.
class MoeHead : public Head {
 public:
  MoeHead(Scope& owner, Initializer& init, int64_t input_size, int64_t num_classes,
          const MoeOptions& opts);
  Tensor forward(const Tensor& x) override;
  Tensor regularization_loss() const override;

 private:
  MoeOptions opts_;
  int64_t num_classes_;
  std::shared_ptr<Linear> gates_, gates1_, gates2_, experts_;
  Tensor prob_weights_;
  std::shared_ptr<BatchNorm> prob_bn_;
  DiagPart diag_;
};

// The MoE flags of a model config.
MoeOptions moe_options(const ModelConfig& c);

// Builds the head named by --video_level_classifier_model: "MoeModel" or "LogisticModel".
std::unique_ptr<Head> make_head(const std::string& name, Scope& owner, Initializer& init,
                                int64_t input_size, int64_t num_classes, const MoeOptions& moe);

}  // namespace y8m::models
