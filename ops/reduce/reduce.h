// Reductions and normalizations (SPEC §2.2). f32 on any device, f64 on the CPU.
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"

namespace y8m::ops {

// Sum / mean / max over one axis (negative counts from the end). keepdim keeps the axis with
// size 1. max backward sends the gradient to the first maximal element along the axis. A reduction
// over an axis of size 0 gives 0 for sum, NaN for mean and is an error for max.
Tensor sum(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor mean(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor max(const Tensor& x, int64_t axis, bool keepdim = false);

// Softmax over the last axis, numerically stable (subtracts the row max).
Tensor softmax(const Tensor& x);

// x / sqrt(max(sum(x^2, axis), 1e-12)) (SPEC §2.2: tf.nn.l2_normalize). Zero vectors stay zero.
Tensor l2_normalize(const Tensor& x, int64_t axis = -1);

}  // namespace y8m::ops
