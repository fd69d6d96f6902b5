// Fused frame preparation (SPEC §1.6–1.7), the first op of every model:
//
//   x[b, t, f] = q[b, t, f] * (4 / 255) + (4 / 512 - 2)     for t < num_frames[b]   (dequantize)
//              = 0                                          for t >= num_frames[b]  (padding slots)
//   out[b, t, :] = x[b, t, :] / sqrt(max(sum_f x[b, t, f]^2, 1e-12))                (per-frame L2)
//
// frames u8 [B, T, F] (T = max_frames, F = 1152 for rgb + audio), num_frames i32 [B] (values
// clipped to [0, T]). Output f32 [B, T, F]. The dequantized value is computed as one float multiply
// and one add, each rounded (no FMA), exactly as TensorFlow's reader did. Not differentiable (the
// input is data).
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"

namespace y8m::ops {

Tensor prepare_frames(const Tensor& frames, const Tensor& num_frames);

// The dequantization constants of SPEC §1.6.
constexpr float kDequantScale = 4.0f / 255.0f;
constexpr float kDequantBias = 4.0f / 512.0f - 2.0f;

}  // namespace y8m::ops
