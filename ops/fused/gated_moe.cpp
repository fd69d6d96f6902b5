// Op entries of the fused gated mixture of experts (SPEC §2.3): checks, allocation, dispatch,
// autograd node; and the composite oracle built from primitive ops.
#include "ops/fused/gated_moe.h"

#include "ops/elementwise/elementwise.h"
#include "ops/fused/gated_moe_kernels.h"
#include "ops/graph/trace.h"
#include "ops/op_common.h"
#include "ops/reduce/reduce.h"
#include "ops/shape/shape.h"

namespace y8m::ops {

namespace {

constexpr const char* kOp = "gated_moe";

// Shared by the fused op and the composite: the message names the op.
void check_moe_inputs(const Tensor& gates, const Tensor& experts, int64_t m, const char* op) {
  Y8M_CHECK(m >= 1, "{}: num_mixtures must be >= 1, got {}", op, m);
  check_float(gates, op);
  check_float(experts, op);
  check_compatible(gates, experts, op);
  check_dim(gates, 2, op, "gates");
  check_dim(experts, 2, op, "experts");
  Y8M_CHECK(gates.size(0) == experts.size(0), "{}: gates {} and experts {} differ in batch size",
            op, gates.str(), experts.str());
  Y8M_CHECK(experts.size(1) % m == 0, "{}: experts {} must be [B, V*M] with M = {}", op,
            experts.str(), m);
  const int64_t v = experts.size(1) / m;
  Y8M_CHECK(gates.size(1) == v * (m + 1),
            "{}: gates {} must be [B, V*(M+1)] = [B, {}] for experts {} and M = {}", op,
            gates.str(), v * (m + 1), experts.str(), m);
}

// Forward kernel into a fresh [B, V] tensor.
Tensor forward_raw(const Tensor& gates, const Tensor& experts, int64_t b, int64_t v, int64_t m) {
  Tensor out = Tensor::empty({b, v}, gates.dtype(), gates.device());
  const int64_t rows = b * v;
  dispatch(
      gates,
      [&](auto t) {
        using T = decltype(t);
        cpu::gated_moe_forward<T>(gates.data<T>(), experts.data<T>(), out.data<T>(), rows, m);
      },
      [&](cudaStream_t st) {
        cuda::gated_moe_forward(gates.data<float>(), experts.data<float>(), out.data<float>(), rows,
                                m, st);
      });
  return out;
}

// Both gradients from the saved inputs (the softmax and sigmoids are recomputed); undefined where
// the node does not need them. Fresh tensors: activation gradients overwrite.
std::vector<Tensor> backward_raw(const Tensor& gates, const Tensor& experts, const Tensor& dout,
                                 int64_t m, const Node& node) {
  const int64_t rows = dout.numel();
  Tensor dg, de;
  if (node.needs_input_grad(0)) dg = Tensor::empty(gates.shape(), gates.dtype(), gates.device());
  if (node.needs_input_grad(1)) de = Tensor::empty(experts.shape(), gates.dtype(), gates.device());
  dispatch(
      gates,
      [&](auto t) {
        using T = decltype(t);
        cpu::gated_moe_backward<T>(gates.data<T>(), experts.data<T>(), dout.data<T>(),
                                   dg.defined() ? dg.data<T>() : nullptr,
                                   de.defined() ? de.data<T>() : nullptr, rows, m);
      },
      [&](cudaStream_t st) {
        cuda::gated_moe_backward(gates.data<float>(), experts.data<float>(), dout.data<float>(),
                                 dg.defined() ? dg.data<float>() : nullptr,
                                 de.defined() ? de.data<float>() : nullptr, rows, m, st);
      });
  return {dg, de};
}

}  // namespace

Tensor gated_moe_composite(const Tensor& gates, const Tensor& experts, int64_t num_mixtures) {
  const int64_t m = num_mixtures;
  check_moe_inputs(gates, experts, m, "gated_moe_composite");
  const int64_t b = gates.size(0);
  const int64_t v = experts.size(1) / m;
  Tensor pi = softmax(reshape(gates, {b, v, m + 1}));  // [B, V, M+1]
  Tensor e = sigmoid(reshape(experts, {b, v, m}));     // [B, V, M]
  Tensor p = sum(mul(slice(pi, 2, 0, m), e), 2);       // drop the dummy expert, mix
  return p;                                            // [B, V]
}

Tensor gated_moe(const Tensor& gates, const Tensor& experts, int64_t num_mixtures) {
  if (fusion_disabled()) return gated_moe_composite(gates, experts, num_mixtures);
  const int64_t m = num_mixtures;
  check_moe_inputs(gates, experts, m, kOp);
  const int64_t b = gates.size(0);
  const int64_t v = experts.size(1) / m;
  Tensor out = forward_raw(gates, experts, b, v, m);
  if (autograd::any_requires_grad({gates, experts})) {
    // Saved: the inputs only (captured directly; the output is not needed).
    autograd::record(kOp, {gates, experts}, {out},
                     [gates, experts, m](const std::vector<Tensor>& g, const Node& node) {
                       return backward_raw(gates, experts, g[0], m, node);
                     });
  }
  Y8M_TRACE_OP(kOp, {{"num_mixtures", num_mixtures}}, {gates, experts}, {out});
  return out;
}

}  // namespace y8m::ops
