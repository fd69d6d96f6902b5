// Element-wise ops (SPEC §2.2): binary arithmetic with NumPy broadcasting, scalar arithmetic, and
// the unary activations. All take f32 (any device) or f64 (CPU). Backward: gradients of broadcast
// inputs are summed back to the input's shape (sum_to).
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"

namespace y8m::ops {

// Broadcast binary ops: shapes align from the right; a dimension of 1 stretches.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

Tensor add_scalar(const Tensor& x, double s);  // x + s
Tensor mul_scalar(const Tensor& x, double s);  // x * s

Tensor relu(const Tensor& x);     // max(x, 0); gradient 0 at x = 0 (TF)
Tensor relu6(const Tensor& x);    // min(max(x, 0), 6); gradient where 0 < x < 6 (TF)
Tensor sigmoid(const Tensor& x);  // 1 / (1 + exp(-x))
Tensor tanh(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor square(const Tensor& x);

// The broadcast result shape of a and b; throws naming `op` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Sums x over the dimensions that broadcasting stretched, giving `shape` (the adjoint of
// broadcasting). Not recorded by autograd; used by backward functions.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace y8m::ops
