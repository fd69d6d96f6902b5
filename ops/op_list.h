// The one list of every op (STYLE.md): an X-macro, no self-registering statics. Each entry is
//   X(name, differentiable, has_cuda, inputs, attributes)
// The name is stable: it is written into archives (DESIGN.md §3). The schema strings are what a
// graph node of the op holds (ops/graph/op_schema.h parses them; the tracer checks every recorded
// node against them, the executor every loaded one):
//   inputs      "a, b": input names in order; "bias?" may be absent; "xs..." is one or more inputs
//               (the op's only input); a trailing "-> ys[sizes]" gives one output per entry of the
//               ints attribute `sizes` (otherwise the op has one output).
//   attributes  "name: type, ...", type one of int, float, string, bool, ints, floats; all required.
// tests/ops fail when an op listed here has no test spec, tests/graph when it has no run function
// (ops/graph/op_table.cpp).
#pragma once

// The element-wise unary ops (ops/elementwise): U(X, name, lo, hi, forward, backward), where
// forward is y = f(x) and backward is dx from x, y and dy, in the scalar type T (the CPU and CUDA
// kernels both expand these formulas, ops/elementwise/elementwise_math.h). [lo, hi] is the input
// range of their gradient checks and parity tests, away from kinks and singularities. A row here is
// the whole op: its public function, kernels, graph entry and tests follow from it.
#define Y8M_UNARY_OPS(U, X)                                                                       \
  /* max(x, 0); gradient 0 at x = 0 (TF) */                                                       \
  U(X, relu, -2, 2, x > T(0) ? x : T(0), x > T(0) ? dy : T(0))                                    \
  /* min(max(x, 0), 6); gradient where 0 < x < 6 (TF) */                                          \
  U(X, relu6, -2, 8, x > T(0) ? (x < T(6) ? x : T(6)) : T(0), (x > T(0) && x < T(6)) ? dy : T(0)) \
  U(X, sigmoid, -6, 6, T(1) / (T(1) + std::exp(-x)), dy * (y * (T(1) - y)))                       \
  U(X, tanh, -3, 3, std::tanh(x), dy*(T(1) - y * y))                                              \
  U(X, exp, -3, 3, std::exp(x), dy* y)                                                            \
  U(X, log, 0.1, 5, std::log(x), dy / x)                                                          \
  U(X, sqrt, 0.1, 5, std::sqrt(x), dy / (T(2) * y))                                               \
  U(X, square, -3, 3, x* x, dy*(T(2) * x))

// A unary row as an op row.
#define Y8M_UNARY_OP_ROW(X, name, lo, hi, forward, backward) X(name, true, true, "x", "")

#define Y8M_OP_LIST(X)                                                                            \
  /* ops/matmul */                                                                                \
  X(matmul, true, true, "a, b", "trans_a: bool, trans_b: bool")                                   \
  /* ops/elementwise */                                                                           \
  X(add, true, true, "a, b", "")                                                                  \
  X(sub, true, true, "a, b", "")                                                                  \
  X(mul, true, true, "a, b", "")                                                                  \
  X(div, true, true, "a, b", "")                                                                  \
  X(add_scalar, true, true, "x", "scalar: float")                                                 \
  X(mul_scalar, true, true, "x", "scalar: float")                                                 \
  Y8M_UNARY_OPS(Y8M_UNARY_OP_ROW, X)                                                              \
  /* ops/reduce */                                                                                \
  X(sum, true, true, "x", "axis: int, keepdim: bool")                                             \
  X(mean, true, true, "x", "axis: int, keepdim: bool")                                            \
  X(max, true, true, "x", "axis: int, keepdim: bool")                                             \
  X(softmax, true, true, "x", "")                                                                 \
  X(l2_normalize, true, true, "x", "axis: int")                                                   \
  /* ops/shape */                                                                                 \
  X(reshape, true, true, "x", "shape: ints")                                                      \
  X(concat, true, true, "xs...", "axis: int")                                                     \
  X(split, true, true, "x -> ys[sizes]", "sizes: ints, axis: int")                                \
  X(slice, true, true, "x", "axis: int, begin: int, end: int")                                    \
  X(transpose, true, true, "x", "")                                                               \
  X(gather_rows, true, true, "x, index", "")                                                      \
  /* ops/nn */                                                                                    \
  X(batch_norm, true, true, "x, gamma, beta, moving_mean, moving_variance",                       \
    "epsilon: float, training: bool")                                                             \
  X(sigmoid_cross_entropy, true, true, "p, y", "epsilon: float")                                  \
  X(prepare_frames, false, true, "frames, num_frames", "")                                        \
  /* ops/fused */                                                                                 \
  X(vlad, true, true, "logits, z, centers?", "samples: int")                                      \
  X(gated_moe, true, true, "gates, experts", "num_mixtures: int")                                 \
  X(dequant_matmul, true, true, "x, wq, codebook, bias?", "")                                     \
  X(dequantize, false, true, "codebook, indices", "")                                             \
  /* ops/rnn */                                                                                   \
  X(lstm, true, true, "x, num_frames, kernel, bias", "reverse: bool, output: string")             \
  X(gru, true, true, "x, num_frames, gates_kernel, gates_bias, candidate_kernel, candidate_bias", \
    "reverse: bool, output: string")                                                              \
  /* ops/sampling */                                                                              \
  X(sample_frames, false, true, "num_frames", "max_frames: int, num_samples: int, mode: string")  \
  X(frame_counts, false, true, "num_frames", "max_frames: int, min_count: int, dtype: string")

namespace y8m::ops {

struct OpInfo {
  const char* name;
  bool differentiable;
  bool has_cuda;
  const char* inputs;  // the schema strings above
  const char* attributes;
};

// Every op of Y8M_OP_LIST, in list order.
inline constexpr OpInfo kOpList[] = {
#define Y8M_OP_INFO(name, diff, cuda, inputs, attrs) OpInfo{#name, diff, cuda, inputs, attrs},
    Y8M_OP_LIST(Y8M_OP_INFO)
#undef Y8M_OP_INFO
};

}  // namespace y8m::ops
