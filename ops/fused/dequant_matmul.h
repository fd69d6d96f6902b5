// Matmul with quantized weights (SPEC §11, DESIGN.md §3 "Dequant matmul"): the consumer of a weight
// that quantize.py replaced by uint8 indices and a per-tensor 256-entry codebook.
//
//   W[k, n] = codebook[Wq[k, n]]                      (exact table lookup, as TF's gather)
//   Y[b, n] = sum_k X[b, k] * W[k, n]  (+ bias[n])     (y = x·W, W stored [in, out])
//
// Shapes: X [B, K] (f32 on any device, f64 on the CPU for gradient checks), Wq u8 [K, N] row-major,
// codebook f32 [256], bias [N] of X's dtype or an undefined Tensor. Output [B, N] of X's dtype. All
// on one device. W is never materialized whole: the fused op dequantizes on the fly.
//
// Kernels (contract in dequant_matmul_kernels.h): on CUDA, batches of up to 64 rows stream Wq once
// per 16 rows with the codebook in shared memory (memory-bound: each weight byte is read once from
// DRAM per pass), with a deterministic two-pass split-K reduction; larger batches dequantize Wq in
// row chunks into a scratch buffer and run cuBLAS sgemm on each (compute-bound there, as the f32
// GEMM). The CPU dequantizes row chunks and runs OpenBLAS. No floating-point atomics anywhere: the
// result is the same on every run.
//
// Backward (weights of quantized archives are frozen): dX = dY·Wᵀ (fresh tensor) and
// dbias = sum_b dY[b, :]; the codebook and the indices get no gradient (the node returns none, even
// when the codebook tensor requires grad). Saved: the inputs only.
//
// dequant_matmul_composite is the same built from dequantize + matmul + add: the test oracle, and
// what models use under Y8M_DISABLE_FUSION=1 (it materializes W in f32).
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"

namespace y8m::ops {

// out[i] = codebook[indices[i]]: f32, the shape and device of `indices` (u8, any shape); codebook
// f32 [256] on the same device. Bit-exact (a copy of the codebook entry). No autograd. Its own op
// (`dequantize` in ops/op_list.h): graphs of quantized archives read `W = dequantize(W_space,
// W_quants)` wherever a weight has a consumer other than a plain matmul (pipeline/quantize.h).
Tensor dequantize(const Tensor& codebook, const Tensor& indices);

Tensor dequant_matmul(const Tensor& x, const Tensor& wq, const Tensor& codebook,
                      const Tensor& bias = Tensor());
Tensor dequant_matmul_composite(const Tensor& x, const Tensor& wq, const Tensor& codebook,
                                const Tensor& bias = Tensor());

}  // namespace y8m::ops
