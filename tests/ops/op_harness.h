// One harness for every op (in the spirit of ggml's test-backend-ops): each op family contributes
// OpSpecs; tests/ops/op_harness_test.cpp runs, for every spec,
//   - gradcheck (CPU, f64, full Jacobian) on its small cases, for differentiable ops;
//   - f32 vs f64 on the CPU over its parity cases (real sizes), so CI exercises the f32 kernels;
//   - CUDA vs CPU (forward and input gradients) over its parity cases, skipped without a GPU;
// and fails when an op of ops/op_list.h has no spec.
#pragma once

#include "engine/tensor.h"

#include <functional>
#include <string>
#include <vector>

namespace y8m::testing {

struct OpCase {
  std::string label;           // e.g. "[3, 33] axis=-1"
  std::vector<Tensor> inputs;  // f64 CPU tensors for floating inputs; integer dtypes for indices
  // Inputs to differentiate (gradcheck and gradient parity); empty = every floating input.
  std::vector<int> grad_inputs;
};

struct OpSpec {
  std::string op;  // as in ops/op_list.h
  // Applies the op. Must return one tensor; multi-output ops combine their outputs (e.g. concat).
  std::function<Tensor(const std::vector<Tensor>&)> run;
  std::function<std::vector<OpCase>()> grad_cases;    // small shapes (1, 31/32/33, ...)
  std::function<std::vector<OpCase>()> parity_cases;  // include real sizes (1152, 3862, 300)
  double atol = 1e-6;  // CUDA vs CPU and f32 vs f64 tolerance: |a-b| <= atol + rtol*|ref|
  double rtol = 1e-6;
  double f32_vs_f64_atol = 1e-5;  // f32 CPU kernel vs f64 CPU kernel
  double f32_vs_f64_rtol = 1e-4;
  double grad_atol = 1e-6;  // gradcheck tolerances (STYLE.md defaults)
  double grad_rtol = 1e-5;
};

// Uniform f64 CPU tensor in [lo, hi) from a fixed seed (Philox; same values every run).
Tensor uniform(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0);
// Small integers in [lo, hi] as f64: sums and products of these are exact in fp32 (GEMM tests).
Tensor small_ints(const Shape& shape, uint64_t seed, int lo = -3, int hi = 3);
// Integer CPU tensor from values.
Tensor ints(const std::vector<int64_t>& v, const Shape& shape, DType dtype = DType::i32);

// Families (tests/ops/specs_<family>.cpp).
std::vector<OpSpec> elementwise_specs();
std::vector<OpSpec> reduce_specs();
std::vector<OpSpec> shape_specs();
std::vector<OpSpec> matmul_specs();
std::vector<OpSpec> nn_specs();
std::vector<OpSpec> fused_specs();
std::vector<OpSpec> sampling_specs();
std::vector<OpSpec> rnn_specs();

std::vector<OpSpec> all_specs();

// Compares two tensors element-wise (converted to double); returns "" or a message naming the first
// mismatching element, both values and the number of mismatches.
std::string compare(const Tensor& got, const Tensor& want, double atol, double rtol);

}  // namespace y8m::testing
