// Fused NetVLAD aggregation (SPEC §3.1, the VLAD block), from the batch-normalized assignment
// logits to the intra- and globally L2-normalized descriptor:
//
//   A[r, k]    = softmax_k(logits[r, k])                       r = b*S + s, rows of one video are contiguous
//   asum[b, k] = sum_s A[b*S + s, k]
//   agg[b,f,k] = sum_s A[b*S + s, k] * z[b*S + s, f]  -  asum[b, k] * C[f, k]     (no C term: LightVLAD)
//   agg[b,:,k] = agg[b,:,k] / sqrt(max(sum_f agg[b,f,k]^2, 1e-12))              (intra-normalization)
//   out[b, f*K + k] = agg[b,f,k] / sqrt(max(sum_{f,k} agg[b,f,k]^2, 1e-12))     (global normalization)
//
// Shapes: logits [B*S, K], z [B*S, F], centers C [F, K] (cluster_weights2 without its leading 1; an
// undefined Tensor for LightVLAD), out [B, F*K]. f32 on any device, f64 on the CPU.
// Saved for backward: A, the intra norms [B, K] and global norms [B] (and the normalized
// aggregate). Gradients (overwrite): logits, z, and C when defined. The aggregation A^T·Z is a
// batched GEMM (cuBLAS on CUDA); the softmax, residual, both normalizations and their backward are
// fused kernels around it.
//
// vlad_composite computes the same from primitive ops (softmax, matmul, mul, sub, l2_normalize,
// ...): it is the test oracle, and what vlad itself runs when Y8M_DISABLE_FUSION=1 (so a traced
// graph then holds the primitive ops).
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"

namespace y8m::ops {

Tensor vlad(const Tensor& logits, const Tensor& z, const Tensor& centers, int64_t batch);
Tensor vlad_composite(const Tensor& logits, const Tensor& z, const Tensor& centers, int64_t batch);

}  // namespace y8m::ops
