// Op entries of the recurrent layers (rnn.h): checks, the per-step driver (GEMMs from
// ops/matmul/matmul_kernels.h and the step kernels of rnn_kernels.h, on the CPU or the tensor's
// CUDA stream), backward through time, autograd node and trace hook.
#include "ops/rnn/rnn.h"

#include "ops/graph/trace.h"
#include "ops/matmul/matmul_kernels.h"
#include "ops/op_common.h"
#include "ops/rnn/rnn_kernels.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <type_traits>
#include <vector>

namespace y8m::ops {

namespace {

enum class Output { sequence, final_h, final_c };

Output parse_output(const std::string& s, const char* op, bool allow_c) {
  if (s == "sequence") return Output::sequence;
  if (s == "final_h") return Output::final_h;
  if (s == "final_c" && allow_c) return Output::final_c;
  Y8M_FAIL("{}: output must be sequence, final_h{}, got '{}'", op, allow_c ? " or final_c" : "", s);
}

// Lengths clipped to [0, T] on the host, their copy on the compute device, and the longest one.
struct Lengths {
  Tensor dev;
  int64_t max = 0;
};

Lengths lengths_of(const Tensor& num_frames, int64_t b, int64_t t, Device device, const char* op) {
  Y8M_CHECK(num_frames.defined() && num_frames.dim() == 1 && num_frames.size(0) == b &&
                (num_frames.dtype() == DType::i32 || num_frames.dtype() == DType::i64),
            "{}: num_frames must be i32 or i64 [{}], got {}", op, b,
            num_frames.defined() ? num_frames.str() : std::string("undefined"));
  std::vector<int32_t> n;
  n.reserve(b);
  Lengths l;
  for (int64_t v : num_frames.to_vector<int64_t>()) {
    n.push_back(static_cast<int32_t>(std::clamp<int64_t>(v, 0, t)));
    l.max = std::max<int64_t>(l.max, n.back());
  }
  l.dev = Tensor::from_vector(n, {b}).to(device);
  return l;
}

// The arguments every step kernel of one call shares.
template <class T>
RnnStep<T> step_args(int64_t b, int64_t t, int64_t h, bool reverse, const Lengths& len) {
  RnnStep<T> s;
  s.batch = b;
  s.time = t;
  s.hidden = h;
  s.reverse = reverse;
  s.lens = len.dev.data<int32_t>();
  return s;
}

// The device side of one op call: GEMMs, step kernels and small helpers on the CPU (T = float or
// double) or on the CUDA stream of `like` (T = float).
template <class T>
struct Backend {
  using Scalar = T;
  const Tensor& like;
  cudaStream_t st = nullptr;

  // C[m, n] = op(A)·op(B), row-major, with leading dimensions lda, ldb, ldc. k = 0 gives zeros.
  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b,
            int64_t ldb, T* c, int64_t ldc) const {
    if (m == 0 || n == 0) return;
    GemmShape g;
    g.trans_a = ta;
    g.trans_b = tb;
    g.m = m;
    g.n = n;
    g.k = k;
    g.lda = lda;
    g.ldb = ldb;
    g.ldc = ldc;
    if (like.device().is_cpu()) {
      cpu::gemm<T>(g, a, b, c);
    } else if constexpr (std::is_same_v<T, float>) {
      cuda::gemm(g, a, b, c, like.device().index);
    }
  }
  void step(RnnKernel kind, const RnnStep<T>& s) const {
    if (like.device().is_cpu()) {
      cpu::rnn_step<T>(kind, s);
    } else if constexpr (std::is_same_v<T, float>) {
      cuda::rnn_step(kind, s, st);
    }
  }
  void column_sum(const T* x, T* out, int64_t rows, int64_t cols) const {
    if (like.device().is_cpu()) {
      cpu::column_sum<T>(x, out, rows, cols);
    } else if constexpr (std::is_same_v<T, float>) {
      cuda::column_sum(x, out, rows, cols, st);
    }
  }
  void add_into(T* y, const T* x, int64_t n) const {
    if (like.device().is_cpu()) {
      cpu::add_into<T>(y, x, n);
    } else if constexpr (std::is_same_v<T, float>) {
      cuda::add_into(y, x, n, st);
    }
  }
};

// Calls f(Backend<T>) for x's device and dtype.
template <class F>
void with_backend(const Tensor& x, F&& f) {
  dispatch(
      x,
      [&](auto t) {
        f(Backend<decltype(t)>{x, nullptr});
      },
      [&](cudaStream_t st) {
        f(Backend<float>{x, st});
      });
}

void check_weight(const Tensor& w, const Tensor& x, const Shape& want, const char* op,
                  const char* what) {
  check_float(w, op);
  check_compatible(x, w, op);
  Y8M_CHECK(w.shape() == want, "{}: {} must be [{}], got {}", op, what, fmt::join(want, ", "),
            w.str());
}

Tensor zeros_like_dev(const Tensor& x, const Shape& s) {
  return Tensor::zeros(s, x.dtype(), x.device());
}

// ---- LSTM ----------------------------------------------------------------------------------

struct LstmSaved {
  Tensor h_prev, c_prev, gates;  // [B, T, H], [B, T, H], [B, T, 4H]
};

constexpr const char* kLstm = "lstm";

std::vector<Tensor> lstm_backward(const Tensor& x, const Tensor& kernel, const Lengths& len,
                                  const LstmSaved& sv, bool reverse, Output output,
                                  const Tensor& dres, const Node& node) {
  const int64_t b = x.size(0), tt = x.size(1), f = x.size(2), h = kernel.size(1) / 4;
  Tensor dh = zeros_like_dev(x, {b, h}), dc = zeros_like_dev(x, {b, h});
  if (output == Output::final_h) dh.copy_from(dres);
  if (output == Output::final_c) dc.copy_from(dres);
  Tensor dpre = zeros_like_dev(x, {b, tt, 4 * h});
  Tensor dpre_step = zeros_like_dev(x, {b, 4 * h}), tmp = zeros_like_dev(x, {b, h});
  Tensor dx, dk, dbias;
  if (node.needs_input_grad(0)) dx = zeros_like_dev(x, x.shape());
  if (node.needs_input_grad(1)) dk = zeros_like_dev(x, kernel.shape());
  if (node.needs_input_grad(2)) dbias = zeros_like_dev(x, {4 * h});
  with_backend(x, [&](auto be) {
    using T = typename decltype(be)::Scalar;
    const T* wx = kernel.data<T>();
    const T* wh = wx + f * 4 * h;
    RnnStep<T> s = step_args<T>(b, tt, h, reverse, len);
    s.gates = sv.gates.data<T>();
    s.aux = sv.c_prev.data<T>();
    s.dout = output == Output::sequence ? dres.data<T>() : nullptr;
    s.dh = dh.data<T>();
    s.dc = dc.data<T>();
    s.dpre = dpre.data<T>();
    s.dpre_step = dpre_step.data<T>();
    for (int64_t st = len.max - 1; st >= 0; --st) {
      s.step = st;
      be.step(RnnKernel::lstm_backward, s);
      be.gemm(false, true, b, h, 4 * h, s.dpre_step, 4 * h, wh, 4 * h, tmp.data<T>(), h);
      RnnStep<T> m = s;
      m.h_proj = tmp.data<T>();
      be.step(RnnKernel::merge, m);
    }
    const int64_t rows = b * tt;
    if (dk.defined() && rows > 0) {
      be.gemm(true, false, f, 4 * h, rows, x.data<T>(), f, s.dpre, 4 * h, dk.data<T>(), 4 * h);
      be.gemm(true, false, h, 4 * h, rows, sv.h_prev.data<T>(), h, s.dpre, 4 * h,
              dk.data<T>() + f * 4 * h, 4 * h);
    }
    if (dbias.defined()) be.column_sum(s.dpre, dbias.data<T>(), rows, 4 * h);
    if (dx.defined())
      be.gemm(false, true, rows, f, 4 * h, s.dpre, 4 * h, wx, 4 * h, dx.data<T>(), f);
  });
  return {dx, dk, dbias};
}

}  // namespace

Tensor lstm(const Tensor& x, const Tensor& num_frames, const Tensor& kernel, const Tensor& bias,
            bool reverse, const std::string& output) {
  const char* op = kLstm;
  check_float(x, op);
  check_dim(x, 3, op, "x");
  check_dim(kernel, 2, op, "kernel");
  Y8M_CHECK(kernel.size(1) % 4 == 0 && kernel.size(1) > 0, "{}: kernel {} must be [F+H, 4H]", op,
            kernel.str());
  const int64_t b = x.size(0), tt = x.size(1), f = x.size(2), h = kernel.size(1) / 4;
  check_weight(kernel, x, {f + h, 4 * h}, op, "kernel");
  check_weight(bias, x, {4 * h}, op, "bias");
  const Output out_kind = parse_output(output, op, true);
  const Lengths len = lengths_of(num_frames, b, tt, x.device(), op);

  LstmSaved sv{zeros_like_dev(x, {b, tt, h}), zeros_like_dev(x, {b, tt, h}),
               zeros_like_dev(x, {b, tt, 4 * h})};
  Tensor hs = zeros_like_dev(x, {b, h}), cs = zeros_like_dev(x, {b, h});
  Tensor seq = out_kind == Output::sequence ? zeros_like_dev(x, {b, tt, h}) : Tensor();
  Tensor xw = zeros_like_dev(x, {b, tt, 4 * h}), hw = zeros_like_dev(x, {b, 4 * h});
  with_backend(x, [&](auto be) {
    using T = typename decltype(be)::Scalar;
    const T* wx = kernel.data<T>();
    const T* wh = wx + f * 4 * h;
    be.gemm(false, false, b * tt, 4 * h, f, x.data<T>(), f, wx, 4 * h, xw.data<T>(), 4 * h);
    RnnStep<T> s = step_args<T>(b, tt, h, reverse, len);
    s.x_proj = xw.data<T>();
    s.bias = bias.data<T>();
    s.h_proj = hw.data<T>();
    s.h = hs.data<T>();
    s.c = cs.data<T>();
    s.out = seq.defined() ? seq.data<T>() : nullptr;
    s.gates = sv.gates.data<T>();
    s.h_prev = sv.h_prev.data<T>();
    s.aux = sv.c_prev.data<T>();
    for (int64_t st = 0; st < len.max; ++st) {
      s.step = st;
      be.gemm(false, false, b, 4 * h, h, s.h, h, wh, 4 * h, hw.data<T>(), 4 * h);
      be.step(RnnKernel::lstm_forward, s);
    }
  });
  Tensor result = out_kind == Output::sequence ? seq : out_kind == Output::final_h ? hs : cs;
  if (autograd::any_requires_grad({x, kernel, bias})) {
    autograd::record(
        op, {x, kernel, bias}, {result},
        [x, kernel, len, sv, out_kind, reverse](const std::vector<Tensor>& g, const Node& node) {
          return lstm_backward(x, kernel, len, sv, reverse, out_kind, g[0], node);
        });
  }
  Y8M_TRACE_OP(op, {{"reverse", reverse}, {"output", output}}, {x, num_frames, kernel, bias},
               {result});
  return result;
}

namespace {

// ---- GRU -----------------------------------------------------------------------------------

struct GruSaved {
  Tensor h_prev, rh, cand, gates;  // [B, T, H] x 3, [B, T, 2H]
};

constexpr const char* kGru = "gru";

std::vector<Tensor> gru_backward(const Tensor& x, const Tensor& gk, const Tensor& ck,
                                 const Lengths& len, const GruSaved& sv, bool reverse,
                                 Output output, const Tensor& dres, const Node& node) {
  const int64_t b = x.size(0), tt = x.size(1), f = x.size(2), h = ck.size(1);
  Tensor dh = zeros_like_dev(x, {b, h});
  if (output == Output::final_h) dh.copy_from(dres);
  Tensor dpre = zeros_like_dev(x, {b, tt, 2 * h}), dcand = zeros_like_dev(x, {b, tt, h});
  Tensor dpre_step = zeros_like_dev(x, {b, 2 * h}), dcand_step = zeros_like_dev(x, {b, h});
  Tensor dh_acc = zeros_like_dev(x, {b, h}), drh = zeros_like_dev(x, {b, h});
  Tensor tmp = zeros_like_dev(x, {b, h});
  Tensor dx, dgk, dgb, dck, dcb;
  if (node.needs_input_grad(0)) dx = zeros_like_dev(x, x.shape());
  if (node.needs_input_grad(1)) dgk = zeros_like_dev(x, gk.shape());
  if (node.needs_input_grad(2)) dgb = zeros_like_dev(x, {2 * h});
  if (node.needs_input_grad(3)) dck = zeros_like_dev(x, ck.shape());
  if (node.needs_input_grad(4)) dcb = zeros_like_dev(x, {h});
  with_backend(x, [&](auto be) {
    using T = typename decltype(be)::Scalar;
    const T* wgx = gk.data<T>();
    const T* wgh = wgx + f * 2 * h;
    const T* wcx = ck.data<T>();
    const T* wch = wcx + f * h;
    RnnStep<T> s = step_args<T>(b, tt, h, reverse, len);
    s.gates = sv.gates.data<T>();
    s.h_prev = sv.h_prev.data<T>();
    s.aux2 = sv.cand.data<T>();
    s.dout = output == Output::sequence ? dres.data<T>() : nullptr;
    s.dh = dh.data<T>();
    s.dh_acc = dh_acc.data<T>();
    s.dpre = dpre.data<T>();
    s.dpre_step = dpre_step.data<T>();
    s.dcand = dcand.data<T>();
    s.dcand_step = dcand_step.data<T>();
    for (int64_t st = len.max - 1; st >= 0; --st) {
      s.step = st;
      be.step(RnnKernel::gru_backward_output, s);
      be.gemm(false, true, b, h, h, s.dcand_step, h, wch, h, drh.data<T>(), h);
      RnnStep<T> g = s;
      g.h_proj = drh.data<T>();
      be.step(RnnKernel::gru_backward_gates, g);
      be.gemm(false, true, b, h, 2 * h, s.dpre_step, 2 * h, wgh, 2 * h, tmp.data<T>(), h);
      RnnStep<T> m = s;
      m.h_proj = tmp.data<T>();
      be.step(RnnKernel::merge, m);
    }
    const int64_t rows = b * tt;
    if (dgk.defined() && rows > 0) {
      be.gemm(true, false, f, 2 * h, rows, x.data<T>(), f, s.dpre, 2 * h, dgk.data<T>(), 2 * h);
      be.gemm(true, false, h, 2 * h, rows, sv.h_prev.data<T>(), h, s.dpre, 2 * h,
              dgk.data<T>() + f * 2 * h, 2 * h);
    }
    if (dck.defined() && rows > 0) {
      be.gemm(true, false, f, h, rows, x.data<T>(), f, s.dcand, h, dck.data<T>(), h);
      be.gemm(true, false, h, h, rows, sv.rh.data<T>(), h, s.dcand, h, dck.data<T>() + f * h, h);
    }
    if (dgb.defined()) be.column_sum(s.dpre, dgb.data<T>(), rows, 2 * h);
    if (dcb.defined()) be.column_sum(s.dcand, dcb.data<T>(), rows, h);
    if (dx.defined() && rows > 0) {
      Tensor dx2 = zeros_like_dev(x, x.shape());
      be.gemm(false, true, rows, f, 2 * h, s.dpre, 2 * h, wgx, 2 * h, dx.data<T>(), f);
      be.gemm(false, true, rows, f, h, s.dcand, h, wcx, h, dx2.data<T>(), f);
      be.add_into(dx.data<T>(), dx2.data<T>(), rows * f);
    }
  });
  return {dx, dgk, dgb, dck, dcb};
}

}  // namespace

Tensor gru(const Tensor& x, const Tensor& num_frames, const Tensor& gates_kernel,
           const Tensor& gates_bias, const Tensor& candidate_kernel, const Tensor& candidate_bias,
           bool reverse, const std::string& output) {
  const char* op = kGru;
  check_float(x, op);
  check_dim(x, 3, op, "x");
  check_dim(candidate_kernel, 2, op, "candidate_kernel");
  Y8M_CHECK(candidate_kernel.size(1) > 0, "{}: candidate_kernel {} must be [F+H, H]", op,
            candidate_kernel.str());
  const int64_t b = x.size(0), tt = x.size(1), f = x.size(2), h = candidate_kernel.size(1);
  check_weight(gates_kernel, x, {f + h, 2 * h}, op, "gates_kernel");
  check_weight(gates_bias, x, {2 * h}, op, "gates_bias");
  check_weight(candidate_kernel, x, {f + h, h}, op, "candidate_kernel");
  check_weight(candidate_bias, x, {h}, op, "candidate_bias");
  const Output out_kind = parse_output(output, op, false);
  const Lengths len = lengths_of(num_frames, b, tt, x.device(), op);

  GruSaved sv{zeros_like_dev(x, {b, tt, h}), zeros_like_dev(x, {b, tt, h}),
              zeros_like_dev(x, {b, tt, h}), zeros_like_dev(x, {b, tt, 2 * h})};
  Tensor hs = zeros_like_dev(x, {b, h});
  Tensor seq = out_kind == Output::sequence ? zeros_like_dev(x, {b, tt, h}) : Tensor();
  Tensor xg = zeros_like_dev(x, {b, tt, 2 * h}), xc = zeros_like_dev(x, {b, tt, h});
  Tensor hg = zeros_like_dev(x, {b, 2 * h}), hc = zeros_like_dev(x, {b, h});
  Tensor rh = zeros_like_dev(x, {b, h});
  with_backend(x, [&](auto be) {
    using T = typename decltype(be)::Scalar;
    const T* wgx = gates_kernel.data<T>();
    const T* wgh = wgx + f * 2 * h;
    const T* wcx = candidate_kernel.data<T>();
    const T* wch = wcx + f * h;
    be.gemm(false, false, b * tt, 2 * h, f, x.data<T>(), f, wgx, 2 * h, xg.data<T>(), 2 * h);
    be.gemm(false, false, b * tt, h, f, x.data<T>(), f, wcx, h, xc.data<T>(), h);
    RnnStep<T> g;
    g.batch = b;
    g.time = tt;
    g.hidden = h;
    g.reverse = reverse;
    g.lens = len.dev.data<int32_t>();
    g.h = hs.data<T>();
    g.out = seq.defined() ? seq.data<T>() : nullptr;
    g.gates = sv.gates.data<T>();
    g.h_prev = sv.h_prev.data<T>();
    g.aux = sv.rh.data<T>();
    g.aux2 = sv.cand.data<T>();
    g.step_out = rh.data<T>();
    RnnStep<T> c = g;
    g.x_proj = xg.data<T>();
    g.bias = gates_bias.data<T>();
    g.h_proj = hg.data<T>();
    c.x_proj = xc.data<T>();
    c.bias = candidate_bias.data<T>();
    c.h_proj = hc.data<T>();
    for (int64_t st = 0; st < len.max; ++st) {
      g.step = c.step = st;
      be.gemm(false, false, b, 2 * h, h, g.h, h, wgh, 2 * h, hg.data<T>(), 2 * h);
      be.step(RnnKernel::gru_gates, g);
      be.gemm(false, false, b, h, h, rh.data<T>(), h, wch, h, hc.data<T>(), h);
      be.step(RnnKernel::gru_output, c);
    }
  });
  if (autograd::any_requires_grad(
          {x, gates_kernel, gates_bias, candidate_kernel, candidate_bias})) {
    autograd::record(op, {x, gates_kernel, gates_bias, candidate_kernel, candidate_bias},
                     {out_kind == Output::sequence ? seq : hs},
                     [x, gates_kernel, candidate_kernel, len, sv, reverse, out_kind](
                         const std::vector<Tensor>& gr, const Node& node) {
                       return gru_backward(x, gates_kernel, candidate_kernel, len, sv, reverse,
                                           out_kind, gr[0], node);
                     });
  }
  Tensor result = out_kind == Output::sequence ? seq : hs;
  Y8M_TRACE_OP(op, {{"reverse", reverse}, {"output", output}},
               {x, num_frames, gates_kernel, gates_bias, candidate_kernel, candidate_bias},
               {result});
  return result;
}

}  // namespace y8m::ops
