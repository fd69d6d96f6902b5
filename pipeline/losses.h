// Label losses of SPEC §6.2 (`--label_loss`). p are probabilities [B, V], y multi-hot (or soft) [B,
// V]; each returns a scalar. Gradients flow to p only.
//   CrossEntropyLoss  mean_b sum_c -[y log(p + 1e-5) + (1 - y) log(1 - p + 1e-5)]   (fused op)
//   HingeLoss         mean_b sum_c max(0, 1 - (2y - 1) p)
//   SoftmaxLoss       mean_b [-sum_c (y_c / max(sum y, 1e-7)) log softmax(p)_c]    (softmax of probabilities)
// and the distillation loss of train_distill.py:
//   MixedCrossEntropyLoss  mean_b sum_c [lambda BCE(t, p) + (1 - lambda) BCE(y, p)],  t the teacher's
//                          probabilities, BCE(z, p) = -[z log(p + 1e-5) + (1 - z) log(1 - p + 1e-5)].
//   BCE is affine in its target z, and the two weights sum to 1, so this equals BCE against the
//   single target lambda t + (1 - lambda) y; it is computed that way (one fused cross-entropy op).
//   The value can differ from two separate BCE evaluations by f32 rounding only.
#pragma once

#include "engine/tensor.h"

#include <string>

namespace y8m::pipeline {

Tensor label_loss(const std::string& name, const Tensor& p, const Tensor& y);
// Throws for a name that is not one of the three, listing them.
void check_label_loss_name(const std::string& name);
// MixedCrossEntropyLoss with teacher probabilities `t` [B, V] (same shape as y); lambda in [0, 1].
Tensor mixed_cross_entropy_loss(const Tensor& p, const Tensor& t, const Tensor& y, double lambda);

}  // namespace y8m::pipeline
