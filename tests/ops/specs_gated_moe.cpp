// Test specs of the fused gated_moe op (ops/fused/gated_moe.h). The number of mixtures M comes from
// a third, integer input {M}; the harness leaves it out of gradients. M = 1..4 run the specialized
// kernels, M = 5 the general one; the configs use M = 2 (SPEC §2.3).
#include "ops/fused/gated_moe.h"
#include "tests/ops/op_harness.h"

namespace y8m::testing {

namespace {

// Inputs of one case: gates [B, V*(M+1)], experts [B, V*M] uniform in [lo, hi), and {M}.
OpCase moe_case(int64_t b, int64_t v, int64_t m, uint64_t seed, double lo = -3, double hi = 3,
                std::string extra = "") {
  std::string label =
      "B=" + std::to_string(b) + " V=" + std::to_string(v) + " M=" + std::to_string(m) + extra;
  return {label,
          {uniform({b, v * (m + 1)}, seed, lo, hi), uniform({b, v * m}, seed + 1, lo, hi),
           ints({m}, {1}, DType::i64)},
          {0, 1}};
}

// Logits of exactly +-50: the softmax splits between the +50 gates (others get e^-100), the
// sigmoids saturate (1 - s rounds to 0 in f32). Without the max shift, sums of e^50 terms are close
// to f32's range.
OpCase extreme_case(int64_t b, int64_t v, int64_t m, uint64_t seed) {
  OpCase c = moe_case(b, v, m, seed, -1, 1, " logits +-50");
  for (size_t k = 0; k < 2; ++k) {
    double* p = c.inputs[k].data<double>();
    for (int64_t i = 0; i < c.inputs[k].numel(); ++i) p[i] = p[i] < 0 ? -50.0 : 50.0;
  }
  return c;
}

}  // namespace

std::vector<OpSpec> gated_moe_specs() {
  OpSpec s;
  s.op = "gated_moe";
  s.run = [](const std::vector<Tensor>& in) {
    return ops::gated_moe(in[0], in[1], in[2].to_vector<int64_t>()[0]);
  };
  // Small: gradcheck cost is ~2 forwards per input element.
  s.grad_cases = [] {
    return std::vector<OpCase>{moe_case(2, 3, 1, 11), moe_case(2, 3, 2, 13),
                               moe_case(2, 3, 3, 15), moe_case(1, 1, 2, 17),
                               moe_case(2, 2, 5, 19), moe_case(1, 33, 2, 21, -6, 6)};
  };
  // The real head (3862 classes; the f64 reference of B=160 would only slow the suite), a batch of
  // one, saturated logits, the general-M kernel and zero rows.
  s.parity_cases = [] {
    return std::vector<OpCase>{moe_case(16, 3862, 2, 31),    moe_case(1, 3862, 2, 33),
                               extreme_case(4, 3862, 2, 35), moe_case(3, 33, 1, 37),
                               moe_case(2, 31, 4, 39),       moe_case(2, 3862, 5, 41),
                               moe_case(0, 3862, 2, 43)};
  };
  // A softmax and a short sum per element: the reduction tolerance (STYLE.md).
  s.atol = 1e-5;
  s.rtol = 1e-5;
  return {s};
}

}  // namespace y8m::testing
