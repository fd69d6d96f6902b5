// Test specs of the nn family (ops/nn): batch_norm, sigmoid_cross_entropy, prepare_frames.
#include "ops/nn/batch_norm.h"
#include "ops/nn/frames.h"
#include "ops/nn/loss.h"
#include "tests/ops/op_harness.h"

namespace y8m::testing {

namespace {

// batch_norm inputs: x, gamma, beta, moving_mean, moving_variance, and an i32 [1] mode flag
// (1 = training, 0 = inference) so that one spec covers both modes. The moving statistics are not
// updated (update_moving = false): the harness reuses its inputs and gradcheck needs a pure
// function.
OpCase bn_case(const std::string& label, const Shape& x_shape, bool training, uint64_t seed) {
  const int64_t c = x_shape.back();
  return {
      label + (training ? " training" : " inference"),
      {uniform(x_shape, seed, -2.0, 3.0), uniform({c}, seed + 1, 0.5, 1.5), uniform({c}, seed + 2),
       uniform({c}, seed + 3), uniform({c}, seed + 4, 0.5, 2.0), ints({training ? 1 : 0}, {1})},
      {0, 1, 2}};
}

OpSpec batch_norm_spec() {
  OpSpec s;
  s.op = "batch_norm";
  s.run = [](const std::vector<Tensor>& in) {
    ops::BatchNormOptions opts;
    opts.training = in[5].to_vector<int32_t>()[0] != 0;
    opts.update_moving = false;
    Tensor mm = in[3], mv = in[4];
    return ops::batch_norm(in[0], in[1], in[2], mm, mv, opts);
  };
  s.grad_cases = [] {
    return std::vector<OpCase>{
        bn_case("[4, 3]", {4, 3}, true, 101),       bn_case("[1, 5] (one row)", {1, 5}, true, 102),
        bn_case("[2, 3, 4]", {2, 3, 4}, true, 103), bn_case("[33, 2]", {33, 2}, true, 104),
        bn_case("[3, 5]", {3, 5}, false, 105),      bn_case("[2, 1, 31]", {2, 1, 31}, false, 106)};
  };
  s.parity_cases = [] {
    return std::vector<OpCase>{bn_case("[300, 1152]", {300, 1152}, true, 111),
                               bn_case("[160, 1024]", {160, 1024}, true, 112),
                               bn_case("[1, 1152] (one row)", {1, 1152}, true, 113),
                               bn_case("[4, 300, 33]", {4, 300, 33}, true, 114),
                               bn_case("[32, 1152]", {32, 1152}, false, 115),
                               bn_case("[0, 1152] (no rows)", {0, 1152}, false, 116)};
  };
  // Column reductions: the reduction tolerance of STYLE.md.
  s.atol = 1e-5;
  s.rtol = 1e-5;
  return s;
}

// Probabilities kept inside (0.02, 0.98); targets multi-hot (0/1) or soft (teacher probabilities).
OpCase bce_case(const std::string& label, const Shape& shape, bool soft, uint64_t seed) {
  Tensor y = soft ? uniform(shape, seed + 1, 0.0, 1.0) : small_ints(shape, seed + 1, 0, 1);
  return {
      label + (soft ? " soft targets" : " multi-hot"), {uniform(shape, seed, 0.02, 0.98), y}, {0}};
}

OpSpec sigmoid_cross_entropy_spec() {
  OpSpec s;
  s.op = "sigmoid_cross_entropy";
  s.run = [](const std::vector<Tensor>& in) { return ops::sigmoid_cross_entropy(in[0], in[1]); };
  s.grad_cases = [] {
    return std::vector<OpCase>{bce_case("[1, 1]", {1, 1}, false, 201),
                               bce_case("[3, 5]", {3, 5}, false, 202),
                               bce_case("[2, 33]", {2, 33}, true, 203)};
  };
  s.parity_cases = [] {
    return std::vector<OpCase>{bce_case("[160, 3862]", {160, 3862}, false, 211),
                               bce_case("[1, 3862]", {1, 3862}, false, 212),
                               bce_case("[5, 3862]", {5, 3862}, true, 213),
                               bce_case("[4, 0] (no classes)", {4, 0}, false, 214)};
  };
  s.atol = 1e-5;
  s.rtol = 1e-5;
  return s;
}

Tensor random_bytes(const Shape& shape, uint64_t seed) {
  return small_ints(shape, seed, 0, 255).to(DType::u8);
}

OpCase frames_case(const std::string& label, const Shape& shape,
                   const std::vector<int64_t>& num_frames, uint64_t seed) {
  return {label,
          {random_bytes(shape, seed), ints(num_frames, {static_cast<int64_t>(num_frames.size())})},
          {}};
}

OpSpec prepare_frames_spec() {
  OpSpec s;
  s.op = "prepare_frames";
  s.run = [](const std::vector<Tensor>& in) { return ops::prepare_frames(in[0], in[1]); };
  s.grad_cases = [] { return std::vector<OpCase>{}; };  // not differentiable
  s.parity_cases = [] {
    return std::vector<OpCase>{
        frames_case("[3, 300, 1152] num_frames {300, 17, 0}", {3, 300, 1152}, {300, 17, 0}, 301),
        frames_case("[1, 300, 1152] num_frames {300}", {1, 300, 1152}, {300}, 302),
        frames_case("[2, 5, 33] num_frames {9, -1} (clipped)", {2, 5, 33}, {9, -1}, 303),
        frames_case("[0, 300, 1152]", {0, 300, 1152}, {}, 304)};
  };
  return s;
}

}  // namespace

std::vector<OpSpec> nn_specs() {
  return {batch_norm_spec(), sigmoid_cross_entropy_spec(), prepare_frames_spec()};
}

}  // namespace y8m::testing
