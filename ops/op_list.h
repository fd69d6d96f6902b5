// The one list of every op (STYLE.md): an X-macro, no self-registering statics. Each entry is
// X(name, differentiable, has_cuda). The name is stable: it is written into archives (DESIGN.md
// §3). tests/ops fail when an op listed here has no test spec.
#pragma once

#define Y8M_OP_LIST(X)                 \
  /* ops/matmul */                     \
  X(matmul, true, true)                \
  /* ops/elementwise */                \
  X(add, true, true)                   \
  X(sub, true, true)                   \
  X(mul, true, true)                   \
  X(div, true, true)                   \
  X(add_scalar, true, true)            \
  X(mul_scalar, true, true)            \
  X(relu, true, true)                  \
  X(relu6, true, true)                 \
  X(sigmoid, true, true)               \
  X(tanh, true, true)                  \
  X(exp, true, true)                   \
  X(log, true, true)                   \
  X(sqrt, true, true)                  \
  X(square, true, true)                \
  /* ops/reduce */                     \
  X(sum, true, true)                   \
  X(mean, true, true)                  \
  X(max, true, true)                   \
  X(softmax, true, true)               \
  X(l2_normalize, true, true)          \
  /* ops/shape */                      \
  X(reshape, true, true)               \
  X(concat, true, true)                \
  X(split, true, true)                 \
  X(slice, true, true)                 \
  X(transpose, true, true)             \
  X(gather_rows, true, true)           \
  /* ops/nn */                         \
  X(batch_norm, true, true)            \
  X(sigmoid_cross_entropy, true, true) \
  X(prepare_frames, false, true)       \
  /* ops/fused */                      \
  X(vlad, true, true)                  \
  X(gated_moe, true, true)             \
  X(dequant_matmul, true, true)        \
  X(dequantize, false, true)           \
  /* ops/sampling */                   \
  X(sample_frames, false, true)        \
  X(frame_counts, false, true)

namespace y8m::ops {

struct OpInfo {
  const char* name;
  bool differentiable;
  bool has_cuda;
};

// Every op of Y8M_OP_LIST, in list order.
inline constexpr OpInfo kOpList[] = {
#define Y8M_OP_INFO(name, diff, cuda) OpInfo{#name, diff, cuda},
    Y8M_OP_LIST(Y8M_OP_INFO)
#undef Y8M_OP_INFO
};

}  // namespace y8m::ops
