// Test specs of the element-wise family (ops/elementwise).
#include "ops/elementwise/elementwise.h"
#include "tests/ops/op_harness.h"

namespace y8m::testing {

namespace {

using UnaryFn = Tensor (*)(const Tensor&);

// Inputs in [lo, hi], kept away from kinks and singularities (the ranges of the Y8M_UNARY_OPS rows,
// ops/op_list.h, for the unary ops).
OpSpec unary_spec(const std::string& name, UnaryFn f, double lo, double hi) {
  OpSpec s;
  s.op = name;
  s.run = [f](const std::vector<Tensor>& in) { return f(in[0]); };
  s.grad_cases = [lo, hi] {
    return std::vector<OpCase>{{"[1]", {uniform({1}, 11, lo, hi)}, {}},
                               {"[3, 33]", {uniform({3, 33}, 12, lo, hi)}, {}},
                               {"[2, 1, 31]", {uniform({2, 1, 31}, 13, lo, hi)}, {}}};
  };
  s.parity_cases = [lo, hi] {
    return std::vector<OpCase>{{"[32, 1152]", {uniform({32, 1152}, 21, lo, hi)}, {}},
                               {"[3, 3862]", {uniform({3, 3862}, 22, lo, hi)}, {}},
                               {"[0, 1152]", {uniform({0, 1152}, 23, lo, hi)}, {}}};
  };
  return s;
}

using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);

OpSpec binary_spec(const std::string& name, BinaryFn f, double blo, double bhi) {
  OpSpec s;
  s.op = name;
  s.run = [f](const std::vector<Tensor>& in) { return f(in[0], in[1]); };
  s.grad_cases = [blo, bhi] {
    return std::vector<OpCase>{
        {"[3, 5] . [3, 5]", {uniform({3, 5}, 31), uniform({3, 5}, 32, blo, bhi)}, {}},
        {"[4, 33] . [33] (row broadcast)", {uniform({4, 33}, 33), uniform({33}, 34, blo, bhi)}, {}},
        {"[2, 1, 3] . [4, 1] (both broadcast)",
         {uniform({2, 1, 3}, 35), uniform({4, 1}, 36, blo, bhi)},
         {}},
        {"[1] . [2, 3] (scalar-like)", {uniform({1}, 37), uniform({2, 3}, 38, blo, bhi)}, {}}};
  };
  s.parity_cases = [blo, bhi] {
    return std::vector<OpCase>{
        {"[64, 1152] . [1152]", {uniform({64, 1152}, 41), uniform({1152}, 42, blo, bhi)}, {}},
        {"[5, 3862] . [5, 3862]", {uniform({5, 3862}, 43), uniform({5, 3862}, 44, blo, bhi)}, {}},
        {"[300, 1] . [1, 33]", {uniform({300, 1}, 45), uniform({1, 33}, 46, blo, bhi)}, {}}};
  };
  s.rtol = 1e-6;
  return s;
}

}  // namespace

std::vector<OpSpec> elementwise_specs() {
  std::vector<OpSpec> v;
  v.push_back(binary_spec("add", ops::add, -1, 1));
  v.push_back(binary_spec("sub", ops::sub, -1, 1));
  v.push_back(binary_spec("mul", ops::mul, -1, 1));
  v.push_back(binary_spec("div", ops::div, 0.5, 2));  // divisor away from 0
  OpSpec as = unary_spec("add_scalar", nullptr, -2, 2);
  as.run = [](const std::vector<Tensor>& in) { return ops::add_scalar(in[0], 0.75); };
  v.push_back(as);
  OpSpec ms = unary_spec("mul_scalar", nullptr, -2, 2);
  ms.run = [](const std::vector<Tensor>& in) { return ops::mul_scalar(in[0], -1.5); };
  v.push_back(ms);
#define Y8M_UNARY_SPEC(X, name, lo, hi, forward, backward) \
  v.push_back(unary_spec(#name, ops::name, lo, hi));
  Y8M_UNARY_OPS(Y8M_UNARY_SPEC, _)
#undef Y8M_UNARY_SPEC
  // Transcendentals: CUDA's expf/tanhf/logf are within 2 ulp of glibc's.
  for (auto& s : v) {
    if (s.op == "sigmoid" || s.op == "tanh" || s.op == "exp" || s.op == "log") {
      s.atol = 1e-6;
      s.rtol = 2e-6;
    }
  }
  return v;
}

}  // namespace y8m::testing
