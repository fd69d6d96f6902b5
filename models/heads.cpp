#include "models/heads.h"

#include "ops/elementwise/elementwise.h"
#include "ops/fused/gated_moe.h"
#include "ops/matmul/matmul.h"

#include <algorithm>
#include <cmath>

namespace y8m::models {

// ---- LogisticHead

LogisticHead::LogisticHead(Scope& owner, Initializer& init, int64_t input_size, int64_t num_classes,
                           double l2, const std::string& scope)
    : l2_(l2) {
  Y8M_CHECK(input_size > 0 && num_classes > 0,
            "LogisticModel: input size {} and number of classes {} must be positive", input_size,
            num_classes);
  fc_ = owner.add_module(scope, std::make_shared<Linear>(init, input_size, num_classes, true));
}

Tensor LogisticHead::forward(const Tensor& x) {
  Y8M_CHECK(x.dim() == 2, "LogisticModel: input must be [B, D], got {}", x.str());
  return ops::sigmoid(fc_->forward(x));
}

Tensor LogisticHead::regularization_loss() const { return l2_loss(fc_->weights(), l2_); }

// ---- MoeHead

MoeHead::MoeHead(Scope& owner, Initializer& init, int64_t input_size, int64_t num_classes,
                 const MoeOptions& opts)
    : opts_(opts), num_classes_(num_classes) {
  const int64_t m = opts.num_mixtures, v = num_classes;
  Y8M_CHECK(input_size > 0 && v > 0,
            "MoeModel: input size {} and number of classes {} must be positive", input_size, v);
  Y8M_CHECK(m >= 1, "MoeModel: --moe_num_mixtures must be >= 1, got {}", m);
  Y8M_CHECK(opts.low_rank_gating == -1 || opts.low_rank_gating > 0,
            "MoeModel: --moe_low_rank_gating must be -1 (off) or positive, got {}",
            opts.low_rank_gating);
  if (opts.low_rank_gating == -1) {
    gates_ =
        owner.add_module("gates", std::make_shared<Linear>(init, input_size, v * (m + 1), false));
  } else {
    const int64_t r = opts.low_rank_gating;
    gates1_ = owner.add_module("gates1", std::make_shared<Linear>(init, input_size, r, false));
    gates2_ = owner.add_module("gates2", std::make_shared<Linear>(init, r, v * (m + 1), false));
  }
  experts_ = owner.add_module("experts", std::make_shared<Linear>(init, input_size, v * m, true));
  if (opts.prob_gating) {
    const bool from_prob = opts.prob_gating_input == "prob";
    const int64_t rows = from_prob ? v : input_size;
    Y8M_CHECK(!opts.remove_diag || std::min(rows, v) == v,
              "MoeModel: --gating_remove_diag with --moe_prob_gating_input={} needs the input size "
              "({}) >= the number of classes ({}): the diagonal of gating_prob_weights [{}, {}] "
              "must match the probabilities",
              opts.prob_gating_input, input_size, v, rows, v);
    prob_weights_ = owner.add_parameter(
        "gating_prob_weights", init.normal({rows, v}, 1.0 / std::sqrt(static_cast<double>(v))));
    prob_bn_ = owner.add_module("gating_prob_bn", std::make_shared<BatchNorm>(init, v));
  }
}

Tensor MoeHead::forward(const Tensor& x) {
  const int64_t in = (gates_ ? gates_ : gates1_)->in_features();
  Y8M_CHECK(x.dim() == 2 && x.size(1) == in, "MoeModel: input must be [B, {}], got {}", in,
            x.str());
  const Tensor g = gates_ ? gates_->forward(x) : gates2_->forward(gates1_->forward(x));
  const Tensor e = experts_->forward(x);
  Tensor p = ops::gated_moe(g, e, opts_.num_mixtures);
  if (!opts_.prob_gating) return p;
  Tensor u = ops::matmul(opts_.prob_gating_input == "prob" ? p : x, prob_weights_);
  if (opts_.remove_diag) u = ops::sub(u, ops::mul(diag_(prob_weights_), p));
  return ops::mul(p, ops::sigmoid(prob_bn_->forward(u)));
}

Tensor MoeHead::regularization_loss() const {
  Tensor r = gates_ ? l2_loss(gates_->weights(), opts_.l2)
                    : ops::add(l2_loss(gates1_->weights(), opts_.l2),
                               l2_loss(gates2_->weights(), opts_.l2));
  return ops::add(r, l2_loss(experts_->weights(), opts_.l2));
}

MoeOptions moe_options(const ModelConfig& c) {
  MoeOptions o;
  o.num_mixtures = c.moe_num_mixtures;
  o.l2 = c.moe_l2;
  o.low_rank_gating = c.moe_low_rank_gating;
  o.prob_gating = c.moe_prob_gating;
  o.prob_gating_input = c.moe_prob_gating_input;
  o.remove_diag = c.gating_remove_diag;
  return o;
}

// ---- make_head

std::unique_ptr<Head> make_head(const std::string& name, Scope& owner, Initializer& init,
                                int64_t input_size, int64_t num_classes, const MoeOptions& moe) {
  if (name == "MoeModel") {
    return std::make_unique<MoeHead>(owner, init, input_size, num_classes, moe);
  }
  if (name == "LogisticModel") {
    return std::make_unique<LogisticHead>(owner, init, input_size, num_classes);
  }
  Y8M_FAIL("--video_level_classifier_model: unknown head '{}' (known: MoeModel, LogisticModel)",
           name);
}

}  // namespace y8m::models
