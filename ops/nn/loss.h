// Sigmoid cross-entropy on probabilities (SPEC §6.2, CrossEntropyLoss):
//
//   L = mean_b sum_c -[ y * log(p + eps) + (1 - y) * log(1 - p + eps) ],   eps = 1e-5
//
// p [B, C] probabilities, y [B, C] targets in [0, 1] (multi-hot labels, or teacher probabilities;
// the distillation loss λ·BCE(t, p) + (1 − λ)·BCE(y, p) equals BCE(λt + (1 − λ)y, p)). Returns a
// scalar (shape []). Gradient for p only (targets are data):
//   dL/dp = -[ y / (p + eps) - (1 - y) / (1 - p + eps) ] / B
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"

namespace y8m::ops {

Tensor sigmoid_cross_entropy(const Tensor& p, const Tensor& y, double epsilon = 1e-5);

}  // namespace y8m::ops
