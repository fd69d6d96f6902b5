// Test specs of the recurrent ops (ops/rnn/rnn.h). Each run concatenates every output kind of one
// direction, [B, T*H | H | H] (lstm: sequence, final_h, final_c; gru: sequence, final_h), so the
// gradient check covers them all; the direction comes from an integer input {reverse}. Cases mix
// lengths T, < T, 0 and > T (clipped), which exercises the carried state, the zero outputs past the
// length and the reverse-by-length indexing.
#include "ops/rnn/rnn.h"
#include "ops/shape/shape.h"
#include "tests/ops/op_harness.h"

namespace y8m::testing {

namespace {

std::string label(int64_t b, int64_t t, int64_t f, int64_t h, bool rev) {
  return "B=" + std::to_string(b) + " T=" + std::to_string(t) + " F=" + std::to_string(f) +
         " H=" + std::to_string(h) + (rev ? " reverse" : "");
}

// x, num_frames, kernel, bias, {reverse}: weights in +-0.5 keep the gates away from saturation.
OpCase lstm_case(int64_t b, int64_t t, int64_t f, int64_t h, std::vector<int64_t> lens, bool rev,
                 uint64_t seed) {
  return {label(b, t, f, h, rev),
          {uniform({b, t, f}, seed), ints(lens, {b}), uniform({f + h, 4 * h}, seed + 1, -0.5, 0.5),
           uniform({4 * h}, seed + 2, -0.5, 0.5), ints({rev ? 1 : 0}, {1}, DType::i64)},
          {0, 2, 3}};
}

OpCase gru_case(int64_t b, int64_t t, int64_t f, int64_t h, std::vector<int64_t> lens, bool rev,
                uint64_t seed) {
  return {label(b, t, f, h, rev),
          {uniform({b, t, f}, seed), ints(lens, {b}), uniform({f + h, 2 * h}, seed + 1, -0.5, 0.5),
           uniform({2 * h}, seed + 2, 0.5, 1.5), uniform({f + h, h}, seed + 3, -0.5, 0.5),
           uniform({h}, seed + 4, -0.5, 0.5), ints({rev ? 1 : 0}, {1}, DType::i64)},
          {0, 2, 3, 4, 5}};
}

Tensor flat_sequence(const Tensor& seq) {
  return ops::reshape(seq, {seq.size(0), seq.size(1) * seq.size(2)});
}

}  // namespace

std::vector<OpSpec> rnn_specs() {
  OpSpec l;
  l.op = "lstm";
  l.run = [](const std::vector<Tensor>& in) {
    const bool rev = in[4].to_vector<int64_t>()[0] != 0;
    return ops::concat({flat_sequence(ops::lstm(in[0], in[1], in[2], in[3], rev, "sequence")),
                        ops::lstm(in[0], in[1], in[2], in[3], rev, "final_h"),
                        ops::lstm(in[0], in[1], in[2], in[3], rev, "final_c")},
                       1);
  };
  l.grad_cases = [] {
    return std::vector<OpCase>{
        lstm_case(3, 4, 3, 2, {4, 2, 0}, false, 11), lstm_case(3, 4, 3, 2, {4, 2, 0}, true, 13),
        lstm_case(2, 3, 2, 3, {7, 1}, true, 15), lstm_case(1, 1, 1, 1, {1}, false, 17)};
  };
  // The RNN1 input width and frame count with a small H, and odd sizes around vector widths.
  l.parity_cases = [] {
    return std::vector<OpCase>{lstm_case(3, 300, 1152, 16, {300, 17, 0}, false, 31),
                               lstm_case(3, 300, 1152, 16, {300, 17, 0}, true, 33),
                               lstm_case(5, 33, 31, 33, {33, 32, 1, 0, 40}, true, 35),
                               lstm_case(0, 4, 3, 2, {}, false, 37)};
  };
  // Errors compound over up to 300 recurrent steps.
  l.atol = 1e-5;
  l.rtol = 1e-4;
  l.f32_vs_f64_atol = 1e-4;
  l.f32_vs_f64_rtol = 1e-3;

  OpSpec g = l;
  g.op = "gru";
  g.run = [](const std::vector<Tensor>& in) {
    const bool rev = in[6].to_vector<int64_t>()[0] != 0;
    return ops::concat(
        {flat_sequence(ops::gru(in[0], in[1], in[2], in[3], in[4], in[5], rev, "sequence")),
         ops::gru(in[0], in[1], in[2], in[3], in[4], in[5], rev, "final_h")},
        1);
  };
  g.grad_cases = [] {
    return std::vector<OpCase>{
        gru_case(3, 4, 3, 2, {4, 2, 0}, false, 41), gru_case(3, 4, 3, 2, {4, 2, 0}, true, 43),
        gru_case(2, 3, 2, 3, {7, 1}, true, 45), gru_case(1, 1, 1, 1, {1}, false, 47)};
  };
  g.parity_cases = [] {
    return std::vector<OpCase>{gru_case(3, 300, 1152, 16, {300, 17, 0}, false, 51),
                               gru_case(3, 300, 1152, 16, {300, 17, 0}, true, 53),
                               gru_case(5, 33, 31, 33, {33, 32, 1, 0, 40}, true, 55),
                               gru_case(0, 4, 3, 2, {}, false, 57)};
  };
  return {l, g};
}

}  // namespace y8m::testing
