// Op entries of the fused NetVLAD aggregation (ops/fused/vlad.h): checks, the composite oracle, and
// the fused op: softmax (reduce family kernel), the batched aggregation GEMM (matmul family
// kernel), the fused normalization stages (vlad_kernels.h), and its backward.
#include "ops/fused/vlad.h"

#include "ops/elementwise/elementwise.h"
#include "ops/fused/vlad_kernels.h"
#include "ops/graph/trace.h"
#include "ops/matmul/matmul.h"
#include "ops/matmul/matmul_kernels.h"
#include "ops/op_common.h"
#include "ops/reduce/reduce.h"
#include "ops/reduce/reduce_kernels.h"
#include "ops/shape/shape.h"

#include <climits>

namespace y8m::ops {

namespace {

constexpr const char* kOp = "vlad";

// Checks shapes, dtypes and devices of the inputs (messages name `op`) and returns the sizes.
VladSizes check_vlad(const Tensor& logits, const Tensor& z, const Tensor& centers, int64_t batch,
                     const char* op) {
  check_float(logits, op);
  check_float(z, op);
  check_compatible(logits, z, op);
  check_dim(logits, 2, op, "logits");
  check_dim(z, 2, op, "z");
  Y8M_CHECK(logits.size(0) == z.size(0), "{}: logits {} and z {} differ in rows", op, logits.str(),
            z.str());
  Y8M_CHECK(batch >= 1, "{}: batch must be positive, got {}", op, batch);
  Y8M_CHECK(logits.size(0) % batch == 0, "{}: rows of logits {} not divisible by batch {}", op,
            logits.str(), batch);
  VladSizes d;
  d.b = batch;
  d.s = logits.size(0) / batch;
  d.f = z.size(1);
  d.k = logits.size(1);
  Y8M_CHECK(d.k >= 1, "{}: need at least one cluster, got logits {}", op, logits.str());
  // The GEMMs take int sizes (BLAS, cuBLAS).
  Y8M_CHECK(d.s <= INT_MAX && d.f <= INT_MAX && d.k <= INT_MAX,
            "{}: sizes of logits {} / z {} exceed the BLAS int range", op, logits.str(), z.str());
  if (centers.defined()) {
    check_float(centers, op);
    check_compatible(logits, centers, op);
    check_dim(centers, 2, op, "centers");
    Y8M_CHECK(centers.size(0) == d.f && centers.size(1) == d.k,
              "{}: centers {} must be [F={}, K={}] for z {} and logits {}", op, centers.str(), d.f,
              d.k, z.str(), logits.str());
  }
  return d;
}

// What backward needs (STYLE.md "Fused ops"). asum is undefined for LightVLAD.
struct Saved {
  Tensor a;           // [B*S, K] soft assignment
  Tensor y;           // [B, F, K] intra-normalized aggregate (the global normalization's input)
  Tensor asum;        // [B, K] column sums of A (with centers only)
  Tensor ssq_intra;   // [B, K] f64: sum_f (agg - asum*C)^2 (the intra norms, squared)
  Tensor ssq_global;  // [B] f64: sum_{f,k} y^2 (the global norms, squared)
};

// c[i] = op(a[i])·op(b[i]) for i < g.batch; an empty inner dimension gives zeros.
void batched_gemm(const GemmShape& g, const Tensor& a, const Tensor& b, Tensor& c) {
  if (g.batch == 0 || g.m == 0 || g.n == 0) return;
  if (g.k == 0) {
    c.fill(0.0);
    return;
  }
  gemm_into(g, a, b, c);
}

// Strided batched geometry over B videos: C_b[m, n] = op(A_b)·op(B_b), all row-major and packed.
GemmShape video_gemm(const VladSizes& d, bool ta, bool tb, int64_t m, int64_t n, int64_t k) {
  GemmShape g;
  g.trans_a = ta;
  g.trans_b = tb;
  g.batch = d.b;
  g.m = m;
  g.n = n;
  g.k = k;
  g.lda = ta ? m : k;
  g.ldb = tb ? k : n;
  g.ldc = n;
  g.stride_a = m * k;
  g.stride_b = k * n;
  g.stride_c = m * n;
  return g;
}

// The fused forward. `keep` asks for the saved tensors (else the output overwrites y in place).
Tensor forward_raw(const Tensor& logits, const Tensor& z, const Tensor& centers, const VladSizes& d,
                   bool keep, Saved* sv) {
  const Device dev = logits.device();
  const DType dt = logits.dtype();
  const bool has_c = centers.defined();
  Saved s;
  s.a = Tensor::empty({d.b * d.s, d.k}, dt, dev);
  s.y = Tensor::empty({d.b, d.f, d.k}, dt, dev);
  if (has_c) s.asum = Tensor::empty({d.b, d.k}, dt, dev);
  s.ssq_intra = Tensor::empty({d.b, d.k}, DType::f64, dev);
  s.ssq_global = Tensor::empty({d.b}, DType::f64, dev);
  Tensor ssq_y = Tensor::empty({d.b, d.k}, DType::f64, dev);
  Tensor out = keep ? Tensor::empty({d.b, d.f * d.k}, dt, dev) : s.y.reshape({d.b, d.f * d.k});
  const int64_t rows = d.b * d.s;
  auto* ssq_i = s.ssq_intra.data<double>();
  auto* ssq_g = s.ssq_global.data<double>();
  auto* ssq_yp = ssq_y.data<double>();

  // (1) A = softmax(logits).
  dispatch(
      logits,
      [&](auto t) {
        using T = decltype(t);
        cpu::softmax_forward<T>(logits.data<T>(), s.a.data<T>(), rows, d.k);
      },
      [&](cudaStream_t st) {
        cuda::softmax_forward(logits.data<float>(), s.a.data<float>(), rows, d.k, st);
      });
  // (2) agg_b = Z_bᵀ·A_b: [F, S]·[S, K] per video, written into y's buffer.
  batched_gemm(video_gemm(d, true, false, d.f, d.k, d.s), z, s.a, s.y);
  // (3) residual, intra-normalization, then the global normalization.
  dispatch(
      logits,
      [&](auto t) {
        using T = decltype(t);
        cpu::vlad_intra_forward<T>(d, s.a.data<T>(), has_c ? centers.data<T>() : nullptr,
                                   s.y.data<T>(), has_c ? s.asum.data<T>() : nullptr, ssq_i,
                                   ssq_yp);
        cpu::vlad_global_forward<T>(d, ssq_yp, s.y.data<T>(), ssq_g, out.data<T>());
      },
      [&](cudaStream_t st) {
        cuda::vlad_intra_forward(d, s.a.data<float>(), has_c ? centers.data<float>() : nullptr,
                                 s.y.data<float>(), has_c ? s.asum.data<float>() : nullptr, ssq_i,
                                 ssq_yp, st);
        cuda::vlad_global_forward(d, ssq_yp, s.y.data<float>(), ssq_g, out.data<float>(), st);
      });
  if (keep) *sv = std::move(s);
  return out;
}

// Gradients of logits, z and centers from dout [B, F*K] (undefined where not needed).
std::vector<Tensor> backward_raw(const Tensor& dout, const Tensor& z, const Tensor& centers,
                                 const VladSizes& d, const Saved& s, const Node& node) {
  const bool need_l = node.needs_input_grad(0), need_z = node.needs_input_grad(1);
  const bool has_c = centers.defined();
  const bool need_c = has_c && node.needs_input_grad(2);
  if (!need_l && !need_z && !need_c) return {Tensor(), Tensor(), Tensor()};
  const Device dev = dout.device();
  const DType dt = dout.dtype();
  // dasum only feeds the softmax gradient.
  const bool want_dasum = has_c && need_l;
  Tensor dagg = Tensor::empty({d.b, d.f, d.k}, dt, dev);
  Tensor dasum = want_dasum ? Tensor::empty({d.b, d.k}, dt, dev) : Tensor();
  Tensor dc = need_c ? Tensor::empty({d.f, d.k}, dt, dev) : Tensor();
  Tensor scratch = Tensor::empty({d.b * d.k + d.b}, DType::f64, dev);
  const auto* ssq_i = s.ssq_intra.data<double>();
  const auto* ssq_g = s.ssq_global.data<double>();

  // Both normalizations and the residual.
  dispatch(
      dout,
      [&](auto t) {
        using T = decltype(t);
        cpu::vlad_norm_backward<T>(
            d, dout.data<T>(), s.y.data<T>(), want_dasum ? centers.data<T>() : nullptr, ssq_i,
            ssq_g, dagg.data<T>(), want_dasum ? dasum.data<T>() : nullptr, scratch.data<double>());
        if (need_c)
          cpu::vlad_centers_backward<T>(d, s.asum.data<T>(), dagg.data<T>(), dc.data<T>());
      },
      [&](cudaStream_t st) {
        cuda::vlad_norm_backward(d, dout.data<float>(), s.y.data<float>(),
                                 want_dasum ? centers.data<float>() : nullptr, ssq_i, ssq_g,
                                 dagg.data<float>(), want_dasum ? dasum.data<float>() : nullptr,
                                 scratch.data<double>(), st);
        if (need_c)
          cuda::vlad_centers_backward(d, s.asum.data<float>(), dagg.data<float>(), dc.data<float>(),
                                      st);
      });

  // dz_b = A_b·dagg_bᵀ: [S, K]·[K, F].
  Tensor dz;
  if (need_z) {
    dz = Tensor::empty({d.b * d.s, d.f}, dt, dev);
    batched_gemm(video_gemm(d, false, true, d.s, d.f, d.k), s.a, dagg, dz);
  }
  // dlogits = softmax backward of dA_b = Z_b·dagg_b ([S, F]·[F, K]) plus dasum[b, :] on every row.
  Tensor dl;
  if (need_l) {
    dl = Tensor::empty({d.b * d.s, d.k}, dt, dev);
    batched_gemm(video_gemm(d, false, false, d.s, d.k, d.f), z, dagg, dl);
    dispatch(
        dout,
        [&](auto t) {
          using T = decltype(t);
          cpu::vlad_softmax_backward<T>(d, s.a.data<T>(), want_dasum ? dasum.data<T>() : nullptr,
                                        dl.data<T>());
        },
        [&](cudaStream_t st) {
          cuda::vlad_softmax_backward(d, s.a.data<float>(),
                                      want_dasum ? dasum.data<float>() : nullptr, dl.data<float>(),
                                      st);
        });
  }
  return {dl, dz, dc};
}

}  // namespace

Tensor vlad_composite(const Tensor& logits, const Tensor& z, const Tensor& centers, int64_t batch) {
  const VladSizes d = check_vlad(logits, z, centers, batch, kOp);
  const Tensor a = reshape(softmax(logits), {d.b, d.s, d.k});
  const Tensor z3 = reshape(z, {d.b, d.s, d.f});
  Tensor agg = matmul(z3, a, /*trans_a=*/true);  // [B, F, K]
  if (centers.defined()) {
    const Tensor asum = sum(a, 1, /*keepdim=*/true);  // [B, 1, K]
    agg = sub(agg, mul(asum, centers));
  }
  agg = l2_normalize(agg, 1);
  return l2_normalize(reshape(agg, {d.b, d.f * d.k}), -1);
}

Tensor vlad(const Tensor& logits, const Tensor& z, const Tensor& centers, int64_t batch) {
  if (fusion_disabled()) return vlad_composite(logits, z, centers, batch);
  const VladSizes d = check_vlad(logits, z, centers, batch, kOp);
  const bool grad = autograd::any_requires_grad({logits, z, centers});
  Saved s;
  Tensor out = forward_raw(logits, z, centers, d, grad, &s);
  if (grad) {
    autograd::record(kOp, {logits, z, centers}, {out},
                     [z, centers, d, s](const std::vector<Tensor>& g, const Node& node) {
                       return backward_raw(g[0], z, centers, d, s, node);
                     });
  }
  // The graph keeps the batch dynamic: it stores the rows per video (ops/graph/op_table.cpp).
  Y8M_TRACE_OP(kOp, {{"samples", d.s}}, {logits, z, centers}, {out});
  return out;
}

}  // namespace y8m::ops
