// Test specs of the fused dequant_matmul op and the dequantize lookup (ops/fused/dequant_matmul.h,
// SPEC §11). dequant_matmul's inputs: X [B, K], Wq u8 [K, N], the codebook [256] and the bias [N]
// (or undefined); dequantize's: the codebook and u8 indices of any shape. The harness converts
// floating inputs to its dtype, so the codebook travels as f64 on the f64 runs: its values are
// f32-representable and `run` converts it back (exactly). Gradients: X and the bias only (the
// codebook is frozen).
#include "ops/fused/dequant_matmul.h"
#include "tests/ops/op_harness.h"

#include <random>

namespace y8m::testing {

namespace {

// Uniform random codebook indices (all 256 values occur at real sizes), fixed seed.
Tensor random_indices(const Shape& shape, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<uint8_t> v(static_cast<size_t>(engine::shape_numel(shape)));
  for (auto& q : v) q = static_cast<uint8_t>(gen() & 0xffu);
  return Tensor::from_vector(v, shape);
}

// quant_uniform's codebook: linspace(lo, hi, 256) rounded to f32, carried as f64.
Tensor linspace_codebook(double lo, double hi) {
  std::vector<float> v(256);
  for (int i = 0; i < 256; ++i)
    v[static_cast<size_t>(i)] = static_cast<float>(lo + (hi - lo) * i / 255.0);
  return Tensor::from_vector(v, {256}).to(DType::f64);
}

// Small-integer codebook (-3..3): with small-integer X every fp32 product and sum is exact.
Tensor int_codebook() {
  std::vector<double> v(256);
  for (int i = 0; i < 256; ++i) v[static_cast<size_t>(i)] = (i * 37 % 7) - 3;
  return Tensor::from_vector(v, {256});
}

OpCase dq_case(int64_t b, int64_t k, int64_t n, bool bias, bool ints, uint64_t seed,
               const std::string& extra = "") {
  std::string label = "[" + std::to_string(b) + ", " + std::to_string(k) + "] x [" +
                      std::to_string(k) + ", " + std::to_string(n) + "]" + (bias ? " + bias" : "") +
                      (ints ? " ints" : " random") + extra;
  Tensor x = ints ? small_ints({b, k}, seed) : uniform({b, k}, seed);
  Tensor cb = ints ? int_codebook() : linspace_codebook(-0.9, 1.1);
  Tensor bv = !bias ? Tensor() : (ints ? small_ints({n}, seed + 2) : uniform({n}, seed + 2));
  return OpCase{label,
                {x, random_indices({k, n}, seed + 1), cb, bv},
                bias ? std::vector<int>{0, 3} : std::vector<int>{0}};
}

}  // namespace

std::vector<OpSpec> dequant_matmul_specs() {
  OpSpec s;
  s.op = "dequant_matmul";
  s.run = [](const std::vector<Tensor>& in) {
    const Tensor cb = in[2].dtype() == DType::f32 ? in[2] : in[2].to(DType::f32);
    return ops::dequant_matmul(in[0], in[1], cb, in[3]);
  };
  // Small: the full Jacobian of X and the bias; K = 0 leaves only the bias.
  s.grad_cases = [] {
    return std::vector<OpCase>{
        dq_case(2, 5, 3, true, false, 11), dq_case(1, 33, 2, false, false, 13),
        dq_case(3, 4, 33, true, false, 15), dq_case(2, 0, 3, true, false, 17)};
  };
  // The shapes ([16 x 4096]·[4096 x 1024], the 1152 -> 256 projection at B = 200, a batch
  // of one), the classes (3862, not a multiple of 4: the CUDA byte-load kernels, three streaming
  // passes at B = 33), odd K and N, a long K (many split-K ranges on CUDA), zero rows and K = 0.
  // Integer cases are exact in fp32; random ones keep K small enough for the f32-vs-f64 tolerance.
  s.parity_cases = [] {
    return std::vector<OpCase>{dq_case(16, 4096, 1024, true, true, 31),
                               dq_case(1, 4096, 1024, true, true, 33, " (batch of one)"),
                               dq_case(1, 1152, 1024, true, false, 35, " (batch of one)"),
                               dq_case(200, 1152, 256, true, false, 37),
                               dq_case(33, 1152, 3862, false, true, 39),
                               dq_case(3, 1031, 257, false, false, 41),
                               dq_case(2, 32768, 256, true, true, 43),
                               dq_case(0, 1152, 256, true, false, 45, " (zero rows)"),
                               dq_case(4, 0, 8, true, false, 47, " (K = 0)")};
  };
  // GEMM tolerance (STYLE.md) with an absolute floor for cancellations, as matmul.
  s.atol = 1e-3;
  s.rtol = 1e-4;
  s.f32_vs_f64_atol = 1e-4;
  s.f32_vs_f64_rtol = 1e-4;

  // dequantize(codebook, indices): an exact lookup (no gradient), so every comparison is bit-exact.
  // The output is f32 whatever the harness dtype (the codebook is converted back to f32 exactly).
  OpSpec d;
  d.op = "dequantize";
  d.run = [](const std::vector<Tensor>& in) {
    const Tensor cb = in[0].dtype() == DType::f32 ? in[0] : in[0].to(DType::f32);
    return ops::dequantize(cb, in[1]);
  };
  d.grad_cases = [] { return std::vector<OpCase>{}; };
  // A weight matrix (1152 x 1024, every index), the classes (3862: not a multiple of 4), a batch
  // of one, odd sizes around vector widths, a 3-D tensor and an empty one.
  d.parity_cases = [] {
    const Tensor cb = linspace_codebook(-0.9, 1.1);
    std::vector<OpCase> v;
    for (const Shape& shape :
         std::vector<Shape>{{1152, 1024}, {1, 3862}, {31}, {32}, {33}, {2, 3, 5}, {0, 7}, {1}}) {
      v.push_back(OpCase{"indices " + engine::shape_str(shape),
                         {cb, random_indices(shape, 51 + static_cast<uint64_t>(v.size()))},
                         {}});
    }
    return v;
  };
  d.atol = d.rtol = d.f32_vs_f64_atol = d.f32_vs_f64_rtol = 0;
  return {s, d};
}

}  // namespace y8m::testing
