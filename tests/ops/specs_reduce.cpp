// Test specs of the reduce family (ops/reduce). sum/mean/max/l2_normalize take their axis (and
// keepdim) from a second, integer input {axis, keepdim}: one spec then covers every axis, and the
// harness leaves integer inputs out of gradients.
#include "ops/reduce/reduce.h"
#include "tests/ops/op_harness.h"

namespace y8m::testing {

namespace {

// {axis, keepdim} as the config input of a case.
Tensor axis_cfg(int64_t axis, bool keepdim = false) {
  return ints({axis, keepdim ? 1 : 0}, {2}, DType::i64);
}

std::vector<int64_t> read_cfg(const Tensor& cfg) {
  return cfg.to(Device::cpu()).to_vector<int64_t>();
}

using AxisFn = Tensor (*)(const Tensor&, int64_t, bool);

// Gradcheck shapes: sizes 1 and 31/33, every axis position, with and without keepdim.
std::vector<OpCase> axis_grad_cases(double lo, double hi) {
  return {
      {"[1, 1] axis=0", {uniform({1, 1}, 101, lo, hi), axis_cfg(0)}, {0}},
      {"[3, 33] axis=1 keepdim", {uniform({3, 33}, 102, lo, hi), axis_cfg(1, true)}, {0}},
      {"[3, 33] axis=0", {uniform({3, 33}, 103, lo, hi), axis_cfg(0)}, {0}},
      {"[2, 31, 3] axis=1", {uniform({2, 31, 3}, 104, lo, hi), axis_cfg(1)}, {0}},
      {"[2, 31, 3] axis=-1 keepdim", {uniform({2, 31, 3}, 105, lo, hi), axis_cfg(-1, true)}, {0}},
      {"[32] axis=0 (to 0-d)", {uniform({32}, 106, lo, hi), axis_cfg(0)}, {0}}};
}

// Real sizes: 300 frames x 1152 features pooled over frames (a middle-axis kernel), 3862 class rows
// (a long-row kernel), a short-row case, size-1 axes and zero rows.
std::vector<OpCase> axis_parity_cases() {
  return {{"[300, 1152] axis=0", {uniform({300, 1152}, 201), axis_cfg(0)}, {0}},
          {"[64, 3862] axis=-1", {uniform({64, 3862}, 202), axis_cfg(-1)}, {0}},
          {"[16, 300, 8] axis=1 keepdim", {uniform({16, 300, 8}, 203), axis_cfg(1, true)}, {0}},
          {"[1, 1152] axis=-1 keepdim", {uniform({1, 1152}, 204), axis_cfg(-1, true)}, {0}},
          {"[48, 256] axis=1", {uniform({48, 256}, 205), axis_cfg(1)}, {0}},
          {"[5, 1] axis=-1", {uniform({5, 1}, 206), axis_cfg(-1)}, {0}},
          {"[1, 7] axis=0", {uniform({1, 7}, 207), axis_cfg(0)}, {0}},
          {"[0, 1152] axis=1", {uniform({0, 1152}, 208), axis_cfg(1)}, {0}}};
}

OpSpec axis_spec(const std::string& name, AxisFn f) {
  OpSpec s;
  s.op = name;
  s.run = [f](const std::vector<Tensor>& in) {
    const auto cfg = read_cfg(in[1]);
    return f(in[0], cfg[0], cfg[1] != 0);
  };
  s.grad_cases = [] { return axis_grad_cases(-1, 1); };
  s.parity_cases = axis_parity_cases;
  // STYLE.md: reductions, norms, softmax.
  s.atol = 1e-5;
  s.rtol = 1e-5;
  return s;
}

// Inputs with ties (small integers): the gradient must reach the same (first) maximum everywhere.
std::vector<OpCase> max_parity_cases() {
  auto v = axis_parity_cases();
  v.push_back(
      {"[32, 1152] small ints axis=-1 (ties)", {small_ints({32, 1152}, 209), axis_cfg(-1)}, {0}});
  v.push_back(
      {"[300, 64] small ints axis=0 (ties)", {small_ints({300, 64}, 210), axis_cfg(0)}, {0}});
  return v;
}

// Large logits in f32-exact values (integers around 1000): without the max subtraction exp
// overflows.
Tensor large_logits(const Shape& shape, uint64_t seed) {
  Tensor t = small_ints(shape, seed, -20, 20);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] += 1000.0;
  return t;
}

OpSpec softmax_spec() {
  OpSpec s;
  s.op = "softmax";
  s.run = [](const std::vector<Tensor>& in) { return ops::softmax(in[0]); };
  s.grad_cases = [] {
    return std::vector<OpCase>{{"[1, 1]", {uniform({1, 1}, 301, -3, 3)}, {}},
                               {"[3, 33]", {uniform({3, 33}, 302, -3, 3)}, {}},
                               {"[2, 3, 31]", {uniform({2, 3, 31}, 303, -3, 3)}, {}},
                               {"[32]", {uniform({32}, 304, -3, 3)}, {}}};
  };
  s.parity_cases = [] {
    return std::vector<OpCase>{{"[64, 3862]", {uniform({64, 3862}, 311, -4, 4)}, {}},
                               {"[48, 256]", {uniform({48, 256}, 312, -4, 4)}, {}},
                               {"[1, 3862]", {uniform({1, 3862}, 313, -4, 4)}, {}},
                               {"[4, 300, 33]", {uniform({4, 300, 33}, 314, -4, 4)}, {}},
                               {"[300, 1]", {uniform({300, 1}, 315, -4, 4)}, {}},
                               {"[16, 1152] around 1000", {large_logits({16, 1152}, 316)}, {}},
                               {"[0, 3862]", {uniform({0, 3862}, 317)}, {}}};
  };
  s.atol = 1e-5;
  s.rtol = 1e-5;
  return s;
}

// A [8, 1152] batch whose row 3 is all zeros (clamped norm: y = 0, dx = dy / sqrt(1e-12)).
Tensor with_zero_row(uint64_t seed) {
  Tensor t = uniform({8, 1152}, seed);
  double* p = t.data<double>();
  for (int64_t i = 3 * 1152; i < 4 * 1152; ++i) p[i] = 0.0;
  return t;
}

OpSpec l2_normalize_spec() {
  OpSpec s = axis_spec("l2_normalize", nullptr);
  s.run = [](const std::vector<Tensor>& in) {
    return ops::l2_normalize(in[0], read_cfg(in[1])[0]);
  };
  s.grad_cases = [] {
    return std::vector<OpCase>{
        {"[1, 1] axis=-1", {uniform({1, 1}, 401, 0.5, 1), axis_cfg(-1)}, {0}},
        {"[3, 33] axis=-1", {uniform({3, 33}, 402), axis_cfg(-1)}, {0}},
        {"[3, 33] axis=0", {uniform({3, 33}, 403), axis_cfg(0)}, {0}},
        {"[2, 31, 3] axis=1", {uniform({2, 31, 3}, 404), axis_cfg(1)}, {0}},
        {"[4, 32] axis=1 (small norms)", {uniform({4, 32}, 405, -1e-3, 1e-3), axis_cfg(1)}, {0}}};
  };
  s.parity_cases = [] {
    return std::vector<OpCase>{
        {"[300, 1152] axis=-1", {uniform({300, 1152}, 411), axis_cfg(-1)}, {0}},
        {"[300, 1152] axis=0", {uniform({300, 1152}, 412), axis_cfg(0)}, {0}},
        {"[64, 3862] axis=1", {uniform({64, 3862}, 413), axis_cfg(1)}, {0}},
        {"[16, 300, 8] axis=1", {uniform({16, 300, 8}, 414), axis_cfg(1)}, {0}},
        {"[8, 1152] zero row", {with_zero_row(415), axis_cfg(-1)}, {0}},
        {"[1, 1152] axis=-1", {uniform({1, 1152}, 416), axis_cfg(-1)}, {0}},
        {"[5, 1] axis=-1", {uniform({5, 1}, 417), axis_cfg(-1)}, {0}},
        {"[0, 1152] axis=-1", {uniform({0, 1152}, 418), axis_cfg(-1)}, {0}}};
  };
  return s;
}

}  // namespace

std::vector<OpSpec> reduce_specs() {
  std::vector<OpSpec> v;
  v.push_back(axis_spec("sum", ops::sum));
  v.push_back(axis_spec("mean", ops::mean));
  OpSpec mx = axis_spec("max", ops::max);
  mx.parity_cases = max_parity_cases;  // gradcheck inputs are uniform: no ties, no kinks
  v.push_back(mx);
  v.push_back(softmax_spec());
  v.push_back(l2_normalize_spec());
  return v;
}

}  // namespace y8m::testing
