// Matrix multiply (SPEC notation y = x·W with W stored [in, out]).
//
//   C = op(A) · op(B),  op(X) = X or Xᵀ (transposing the last two dimensions)
//
// A is [M, K] (or [K, M] with trans_a) or batched [Bt, M, K]; B likewise [K, N] or [Bt, K, N]. A
// 2-D operand is broadcast over the batch of a 3-D one. Output [M, N] or [Bt, M, N]. f32 on any
// device, f64 on the CPU. CPU: OpenBLAS sgemm/dgemm. CUDA: cuBLAS (strided batched), fp32 math
// unless TF32 was enabled with engine::cuda::set_tf32_enabled (off by default). Backward: dA =
// dC·op(B)ᵀ (transposed back for trans_a), dB = op(A)ᵀ·dC, summed over the batch when B (or A) was
// broadcast.
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"

namespace y8m::ops {

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

struct GemmShape;  // ops/matmul/matmul_kernels.h
// The GEMM of `g` on tensors of one device and float dtype into c (no checks, no autograd): for
// fused ops that lay out their own batched products.
void gemm_into(const GemmShape& g, const Tensor& a, const Tensor& b, Tensor& c);

}  // namespace y8m::ops
