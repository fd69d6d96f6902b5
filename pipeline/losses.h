// Label losses of SPEC §6.2 (`--label_loss`). p are probabilities [B, V], y multi-hot (or soft) [B, V];
// each returns a scalar. Gradients flow to p only.
//   CrossEntropyLoss  mean_b sum_c -[y log(p + 1e-5) + (1 - y) log(1 - p + 1e-5)]   (fused op)
//   HingeLoss         mean_b sum_c max(0, 1 - (2y - 1) p)
//   SoftmaxLoss       mean_b [-sum_c (y_c / max(sum y, 1e-7)) log softmax(p)_c]    (softmax of probabilities)
#pragma once

#include "engine/tensor.h"

#include <string>

namespace y8m::pipeline {

Tensor label_loss(const std::string& name, const Tensor& p, const Tensor& y);
// Throws for a name that is not one of the three, listing them.
void check_label_loss_name(const std::string& name);

}  // namespace y8m::pipeline
