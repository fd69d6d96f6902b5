// Op entry of matmul: checks, the batched/broadcast geometry, dispatch to BLAS/cuBLAS, and
// backward.
#include "ops/matmul/matmul.h"

#include "ops/elementwise/elementwise.h"
#include "ops/graph/trace.h"
#include "ops/matmul/matmul_kernels.h"
#include "ops/op_common.h"

#include <climits>

namespace y8m::ops {

namespace {

constexpr const char* kName = "matmul";

void check_inputs(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  check_float(a, kName);
  check_float(b, kName);
  check_compatible(a, b, kName);
  Y8M_CHECK(a.dim() == 2 || a.dim() == 3, "matmul: A must be 2-D or 3-D, got {}", a.str());
  Y8M_CHECK(b.dim() == 2 || b.dim() == 3, "matmul: B must be 2-D or 3-D, got {}", b.str());
  if (a.dim() == 3 && b.dim() == 3)
    Y8M_CHECK(a.size(0) == b.size(0), "matmul: batch sizes differ: A {} vs B {}", a.str(), b.str());
  const int64_t ka = ta ? a.size(-2) : a.size(-1);
  const int64_t kb = tb ? b.size(-1) : b.size(-2);
  Y8M_CHECK(
      ka == kb,
      "matmul: inner dimensions differ: A {} (trans_a={}) has K={}, B {} (trans_b={}) has K={}",
      a.str(), ta, ka, b.str(), tb, kb);
  // BLAS and cuBLAS take int sizes.
  for (const Tensor* t : {&a, &b})
    for (int64_t d : t->shape())
      Y8M_CHECK(d <= INT_MAX, "matmul: dimension {} of {} exceeds the BLAS int range", d, t->str());
}

// C = op(A)·op(B) with batching and broadcasting, no autograd (also used by backward).
Tensor gemm_raw(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  // A 3-D A (not transposed) times a shared 2-D B is one GEMM over [Bt*M, K] rows.
  if (a.dim() == 3 && b.dim() == 2 && !ta) {
    const int64_t bt = a.size(0), m = a.size(1);
    Y8M_CHECK(bt * m <= INT_MAX, "matmul: {} rows of {} exceed the BLAS int range", bt * m,
              a.str());
    Tensor c = gemm_raw(a.reshape({bt * m, a.size(2)}), b, false, tb);
    return c.reshape({bt, m, c.size(1)});
  }
  GemmShape g;
  g.trans_a = ta;
  g.trans_b = tb;
  g.batch = a.dim() == 3 ? a.size(0) : (b.dim() == 3 ? b.size(0) : 1);
  g.m = ta ? a.size(-1) : a.size(-2);
  g.k = ta ? a.size(-2) : a.size(-1);
  g.n = tb ? b.size(-2) : b.size(-1);
  g.lda = a.size(-1);
  g.ldb = b.size(-1);
  g.ldc = g.n;
  g.stride_a = a.dim() == 3 ? a.size(1) * a.size(2) : 0;
  g.stride_b = b.dim() == 3 ? b.size(1) * b.size(2) : 0;
  g.stride_c = g.m * g.n;
  const bool batched = a.dim() == 3 || b.dim() == 3;
  Tensor c =
      Tensor::empty(batched ? Shape{g.batch, g.m, g.n} : Shape{g.m, g.n}, a.dtype(), a.device());
  gemm_into(g, a, b, c);
  return c;
}

// Gradients of C = op(A)·op(B):
//   d op(A) = dC·op(B)ᵀ, so dA = dC·op(B)ᵀ, or op(B)·dCᵀ when A was transposed;
//   d op(B) = op(A)ᵀ·dC, so dB = op(A)ᵀ·dC, or dCᵀ·op(A) when B was transposed;
// a 2-D operand broadcast over the batch gets the sum over the batch.
void matmul_grads(const Tensor& a, const Tensor& b, bool ta, bool tb, const Tensor& dc, bool need_a,
                  bool need_b, Tensor* da, Tensor* db) {
  if (a.dim() == 3 && b.dim() == 2 && !ta) {
    // Same fold as the forward: the batch sum of dB becomes one GEMM over Bt*M rows.
    const Tensor a2 = a.reshape({a.size(0) * a.size(1), a.size(2)});
    matmul_grads(a2, b, false, tb, dc.reshape({a2.size(0), dc.size(2)}), need_a, need_b, da, db);
    if (da->defined()) *da = da->reshape(a.shape());
    return;
  }
  if (need_a) {
    *da = ta ? gemm_raw(b, dc, tb, true) : gemm_raw(dc, b, false, !tb);
    if (da->dim() != a.dim()) *da = sum_to(*da, a.shape());
  }
  if (need_b) {
    *db = tb ? gemm_raw(dc, a, true, ta) : gemm_raw(a, dc, !ta, false);
    if (db->dim() != b.dim()) *db = sum_to(*db, b.shape());
  }
}

}  // namespace

void gemm_into(const GemmShape& g, const Tensor& a, const Tensor& b, Tensor& c) {
  dispatch(
      a,
      [&](auto t) {
        using T = decltype(t);
        cpu::gemm<T>(g, a.data<T>(), b.data<T>(), c.data<T>());
      },
      [&](cudaStream_t) {
        cuda::gemm(g, a.data<float>(), b.data<float>(), c.data<float>(), a.device().index);
      });
}

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  check_inputs(a, b, trans_a, trans_b);
  Tensor c = gemm_raw(a, b, trans_a, trans_b);
  if (autograd::any_requires_grad({a, b})) {
    autograd::record(kName, {a, b}, {c},
                     [a, b, trans_a, trans_b](const std::vector<Tensor>& g, const Node& node) {
                       Tensor da, db;
                       matmul_grads(a, b, trans_a, trans_b, g[0], node.needs_input_grad(0),
                                    node.needs_input_grad(1), &da, &db);
                       return std::vector<Tensor>{da, db};
                     });
  }
  Y8M_TRACE_OP(kName, {{"trans_a", trans_a}, {"trans_b", trans_b}}, {a, b}, {c});
  return c;
}

}  // namespace y8m::ops
