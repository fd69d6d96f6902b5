// Fused gated mixture of experts (SPEC §2.3, MoeModel), from the gate and expert GEMM outputs to
// the class probabilities, with M experts plus one "dummy" expert per class:
//
//   for every (b, c):  pi = softmax(gates[b, c*(M+1) : c*(M+1) + M + 1])      (class-major layout)
//                      e  = sigmoid(experts[b, c*M : c*M + M])
//                      p[b, c] = sum_{m < M} pi[m] * e[m]
//
// Shapes: gates [B, V*(M+1)] (x·Wg), experts [B, V*M] (x·We + be), out [B, V]. f32 on any device,
// f64 on the CPU. Saved for backward: the inputs (the softmax and sigmoids are recomputed, which
// costs less memory traffic than storing them). Gradients (overwrite) for both logit blocks:
//   d gates[m']  = pi[m'] * (g_m' - p) * dp      with g_m = e_m for m < M and g_M = 0
//   d experts[m] = pi[m] * e[m] * (1 - e[m]) * dp
// Output probability gating (moe_prob_gating) is composed by the model from batch_norm and sigmoid.
//
// gated_moe_composite is the same built from primitive ops: the test oracle, and what gated_moe
// itself runs when Y8M_DISABLE_FUSION=1 (so a traced graph then holds the primitive ops).
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"

namespace y8m::ops {

Tensor gated_moe(const Tensor& gates, const Tensor& experts, int64_t num_mixtures);
Tensor gated_moe_composite(const Tensor& gates, const Tensor& experts, int64_t num_mixtures);

}  // namespace y8m::ops
