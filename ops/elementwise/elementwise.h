// Element-wise ops (SPEC §2.2): binary arithmetic with NumPy broadcasting, scalar arithmetic, and
// the unary activations. All take f32 (any device) or f64 (CPU). Backward: gradients of broadcast
// inputs are summed back to the input's shape (sum_to).
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"
#include "ops/op_list.h"

namespace y8m::ops {

// Broadcast binary ops: shapes align from the right; a dimension of 1 stretches.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

Tensor add_scalar(const Tensor& x, double s);  // x + s
Tensor mul_scalar(const Tensor& x, double s);  // x * s

// The unary ops of Y8M_UNARY_OPS (ops/op_list.h), whose rows give their formulas: relu, relu6,
// sigmoid, tanh, exp, log, sqrt, square.
#define Y8M_UNARY_DECL(X, name, lo, hi, forward, backward) Tensor name(const Tensor& x);
Y8M_UNARY_OPS(Y8M_UNARY_DECL, _)
#undef Y8M_UNARY_DECL

// The broadcast result shape of a and b; throws naming `op` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Sums x over the dimensions that broadcasting stretched, giving `shape` (the adjoint of
// broadcasting). Not recorded by autograd; used by backward functions.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace y8m::ops
