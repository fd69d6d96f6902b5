// Test specs of the sampling family (ops/sampling): sample_frames and frame_counts. Both are exact
// (integer results computed on the host), not differentiable; the sizes, mode and min_count travel
// as a trailing i64 "params" input. A fresh generator with a fixed state is made per run, so the
// CPU and CUDA runs draw the same uniforms. Semantics against a reference:
// tests/ops/sample_frames_test.cpp.
#include "ops/sampling/frame_sampling.h"
#include "tests/ops/op_harness.h"

namespace y8m::testing {

namespace {

Tensor params(const std::vector<int64_t>& v) {
  return ints(v, {static_cast<int64_t>(v.size())}, DType::i64);
}

// num_frames i32 [B] and params {T, S, mode} (mode: 0 random, 1 sample_all, 2 random_sequence,
// 3 shuffle).
OpCase sample_case(const std::string& label, const std::vector<int64_t>& n, int64_t t, int64_t s,
                   ops::SampleMode mode) {
  return {label + " " + ops::sample_mode_name(mode),
          {ints(n, {static_cast<int64_t>(n.size())}), params({t, s, static_cast<int64_t>(mode)})},
          {}};
}

OpSpec sample_frames_spec() {
  OpSpec s;
  s.op = "sample_frames";
  s.run = [](const std::vector<Tensor>& in) {
    const std::vector<int64_t> p = in[1].to_vector<int64_t>();
    engine::Generator gen(11, 5);
    return ops::sample_frames(in[0].to(Device::cpu()), p[0], p[1],
                              static_cast<ops::SampleMode>(p[2]), gen, in[0].device());
  };
  s.grad_cases = [] { return std::vector<OpCase>{}; };  // not differentiable
  s.parity_cases = [] {
    using M = ops::SampleMode;
    return std::vector<OpCase>{
        sample_case("B 3, T 300, S 300, n {300, 17, 0}", {300, 17, 0}, 300, 300, M::random),
        sample_case("B 3, T 300, S 300, n {300, 17, 0}", {300, 17, 0}, 300, 300, M::sample_all),
        sample_case("B 4, T 300, S 30, n {300, 17, 0, 31}", {300, 17, 0, 31}, 300, 30,
                    M::random_sequence),
        sample_case("B 3, T 300, S 300, n {300, 17, 0}", {300, 17, 0}, 300, 300, M::shuffle),
        sample_case("B 1, T 300, S 30, n {1}", {1}, 300, 30, M::random),
        sample_case("B 2, T 5, S 33, n {9, -1} (clipped)", {9, -1}, 5, 33, M::random),
        sample_case("B 0, T 300, S 30", {}, 300, 30, M::random)};
  };
  s.atol = 0;
  s.rtol = 0;
  s.f32_vs_f64_atol = 0;
  s.f32_vs_f64_rtol = 0;
  return s;
}

OpSpec frame_counts_spec() {
  OpSpec s;
  s.op = "frame_counts";
  s.run = [](const std::vector<Tensor>& in) {
    const std::vector<int64_t> p = in[1].to_vector<int64_t>();
    return ops::frame_counts(in[0].to(Device::cpu()), p[0], p[1], DType::f32, in[0].device());
  };
  s.grad_cases = [] { return std::vector<OpCase>{}; };  // not differentiable
  s.parity_cases = [] {
    return std::vector<OpCase>{
        {"T 300, min 1, n {300, 17, 0, 400, -3}",
         {ints({300, 17, 0, 400, -3}, {5}), params({300, 1})},
         {}},
        {"T 300, min 0, n {0, 1}", {ints({0, 1}, {2}), params({300, 0})}, {}},
        {"T 300, min 1, B 0", {ints({}, {0}), params({300, 1})}, {}}};
  };
  s.atol = 0;
  s.rtol = 0;
  s.f32_vs_f64_atol = 0;
  s.f32_vs_f64_rtol = 0;
  return s;
}

}  // namespace

std::vector<OpSpec> sampling_specs() { return {sample_frames_spec(), frame_counts_spec()}; }

}  // namespace y8m::testing
