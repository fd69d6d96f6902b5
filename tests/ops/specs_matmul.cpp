// Test specs of the matmul family (ops/matmul). The transpose flags travel as a third, integer
// input [trans_a, trans_b] (integer inputs are not differentiated and move to the device with the
// others).
#include "ops/matmul/matmul.h"
#include "tests/ops/op_harness.h"

namespace y8m::testing {

namespace {

Tensor flags(bool ta, bool tb) { return ints({ta, tb}, {2}); }

OpCase mm_case(const std::string& label, Tensor a, Tensor b, bool ta, bool tb) {
  return OpCase{label + (ta ? " ta" : "") + (tb ? " tb" : ""),
                {std::move(a), std::move(b), flags(ta, tb)},
                {}};
}

// Operand shapes for op(A) [.., m, k] and op(B) [.., k, n] under the flags.
Shape shape_a(int64_t batch, int64_t m, int64_t k, bool ta) {
  Shape s = ta ? Shape{k, m} : Shape{m, k};
  if (batch > 0) s.insert(s.begin(), batch);
  return s;
}
Shape shape_b(int64_t batch, int64_t k, int64_t n, bool tb) {
  Shape s = tb ? Shape{n, k} : Shape{k, n};
  if (batch > 0) s.insert(s.begin(), batch);
  return s;
}

std::vector<OpCase> grad_cases() {
  std::vector<OpCase> v;
  uint64_t seed = 100;
  // Stored shapes sa, sb; seeds drawn in a fixed order.
  auto add = [&](const std::string& label, const Shape& sa, const Shape& sb, bool ta, bool tb) {
    Tensor a = uniform(sa, seed++);
    Tensor b = uniform(sb, seed++);
    v.push_back(mm_case(label, a, b, ta, tb));
  };
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      add("[3, 4] x [4, 5]", shape_a(0, 3, 4, ta), shape_b(0, 4, 5, tb), ta, tb);
      // 3-D x 2-D (the folded path without ta, the batched one with ta).
      add("[2, 3, 4] x [4, 2]", shape_a(2, 3, 4, ta), shape_b(0, 4, 2, tb), ta, tb);
    }
  }
  add("[1, 33] x [33, 2]", {1, 33}, {33, 2}, false, false);
  add("[2, 3, 4] x [2, 4, 2]", {2, 3, 4}, {2, 4, 2}, false, false);
  add("[2, 4, 3] x [2, 2, 4]", {2, 4, 3}, {2, 2, 4}, true, true);
  add("[3, 4] x [2, 4, 2] (A broadcast)", {3, 4}, {2, 4, 2}, false, false);
  add("[4, 3] x [2, 2, 4] (A broadcast)", {4, 3}, {2, 2, 4}, true, true);
  return v;
}

std::vector<OpCase> parity_cases() {
  std::vector<OpCase> v;
  // Small integers: every fp32 product and sum is exact (STYLE.md GEMM row).
  v.push_back(mm_case("[64, 1152] x [1152, 256] ints", small_ints({64, 1152}, 1),
                      small_ints({1152, 256}, 2), false, false));
  v.push_back(mm_case("[33, 1152] x [1152, 3862] ints", small_ints({33, 1152}, 3),
                      small_ints({1152, 3862}, 4), false, false));
  v.push_back(mm_case("[1, 1152] x [1152, 3862] ints (batch of one)", small_ints({1, 1152}, 5),
                      small_ints({1152, 3862}, 6), false, false));
  v.push_back(mm_case("[2, 300, 64]^T x [2, 300, 1152] ints", small_ints({2, 300, 64}, 7),
                      small_ints({2, 300, 1152}, 8), true, false));
  v.push_back(mm_case("[2, 300, 1152] x [64, 1152]^T ints", small_ints({2, 300, 1152}, 9),
                      small_ints({64, 1152}, 10), false, true));
  v.push_back(mm_case("[8, 33] x [3, 33, 17] ints", small_ints({8, 33}, 11),
                      small_ints({3, 33, 17}, 12), false, false));
  v.push_back(mm_case("[0, 1152] x [1152, 8] (zero rows)", uniform({0, 1152}, 13),
                      uniform({1152, 8}, 14), false, false));
  // The random case.
  v.push_back(mm_case("[1152, 31]^T x [256, 1152]^T random", uniform({1152, 31}, 15),
                      uniform({256, 1152}, 16), true, true));
  return v;
}

}  // namespace

std::vector<OpSpec> matmul_specs() {
  OpSpec s;
  s.op = "matmul";
  s.run = [](const std::vector<Tensor>& in) {
    const std::vector<int64_t> f = in[2].to_vector<int64_t>();
    return ops::matmul(in[0], in[1], f[0] != 0, f[1] != 0);
  };
  s.grad_cases = grad_cases;
  s.parity_cases = parity_cases;
  // Forwards of the integer cases are exact (matmul_test.cpp checks that bit for bit); gradients
  // take a random upstream gradient, hence the GEMM tolerance with an absolute floor for
  // cancellations.
  s.atol = 1e-3;
  s.rtol = 1e-4;
  s.f32_vs_f64_atol = 1e-4;
  s.f32_vs_f64_rtol = 1e-4;
  return {s};
}

}  // namespace y8m::testing
