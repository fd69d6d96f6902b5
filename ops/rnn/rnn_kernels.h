// Kernels of the recurrent ops (rnn.h): the per-(b, j) formulas of one time step, shared by the CPU
// loop and the CUDA kernel (one thread per (b, j), one launch per step and kind). The GEMMs around
// them (input projection of all steps, h·W_h per step, the weight gradients) are ops/matmul's gemm.
//
// Step s of a sequence b of length n = lens[b] (already clipped to [0, T]) is active when s < n;
// its time index is t = s, or t = n - 1 - s with `reverse` (tf.reverse_sequence around
// tf.nn.dynamic_rnn). An inactive step leaves the state and the state gradients unchanged and
// writes nothing but zeros into the per-step buffers (so the GEMMs that read them add nothing).
//
// Layouts: sequences [B, T, W] (W = H, 2H or 4H), per-step buffers [B, W], biases [W]; gate
// blocks are contiguous column blocks of width H in TF order: LSTM (i, j, f, o), GRU (r, u).
#pragma once
#include "ops/ops_layer.h"

#include "ops/cuda_launcher.h"

#include "engine/philox.h"  // Y8M_HD

#include <cmath>
#include <cstdint>

namespace y8m::ops {

enum class RnnKernel : int {
  // LSTM forward: g = x_proj[t] + bias + h_proj; i, j, f, o = sig(g_i), tanh(g_j), sig(g_f + 1),
  // sig(g_o); c' = c f + i j; h' = o tanh(c'). Saves h_prev[t], aux[t] = c, gates[t] = (i, j, f, o);
  // writes out[t] = h' (when out is set) and h, c.
  lstm_forward,
  // LSTM backward: from dh (+ dout[t]) and dc, the pre-activation gradients into dpre[t] and
  // dpre_step (zero rows when inactive), dc <- dc·f. dh is replaced later by merge.
  lstm_backward,
  // GRU forward, part 1: r, u = sig(x_proj[t] + bias + h_proj); saves gates[t] = (r, u), h_prev[t],
  // aux[t] = r h; step_out = r h (0 when inactive), the input of the candidate GEMM.
  gru_gates,
  // GRU forward, part 2: cand = tanh(x_proj[t] + bias + h_proj) (candidate projections),
  // h' = u h + (1 - u) cand. Saves aux2[t] = cand; writes out[t] and h.
  gru_output,
  // GRU backward, part 1: dh_tot = dh (+ dout[t]); dcand_pre = dh_tot (1 - u)(1 - cand^2) into
  // dcand[t] and dcand_step; du_pre = dh_tot (h_prev - cand) u (1 - u) into dpre[t] (u block);
  // dh_acc = dh_tot u.
  gru_backward_output,
  // GRU backward, part 2 (h_proj = d(r h) = dcand_step·Wc_hᵀ): dr_pre = d(rh) h_prev r (1 - r) into
  // dpre[t] (r block); dpre_step = dpre[t] (both blocks); dh_acc += d(rh) r.
  gru_backward_gates,
  // Both backwards, last: for active rows dh = h_proj (dpre_step·W_hᵀ) + dh_acc (when set).
  merge,
};

template <class T>
struct RnnStep {
  int64_t batch = 0, time = 0, hidden = 0, step = 0;
  bool reverse = false;
  const int32_t* lens = nullptr;  // [B], on the kernel's device
  const T* x_proj = nullptr;      // [B, T, W]
  const T* bias = nullptr;        // [W]
  const T* h_proj = nullptr;      // [B, W]
  T* h = nullptr;                 // [B, H]
  T* c = nullptr;                 // [B, H]
  T* out = nullptr;               // [B, T, H] or null
  T* gates = nullptr;             // [B, T, 4H] / [B, T, 2H]
  T* h_prev = nullptr;            // [B, T, H]
  T* aux = nullptr;               // [B, T, H]
  T* aux2 = nullptr;              // [B, T, H]
  T* step_out = nullptr;          // [B, H]
  const T* dout = nullptr;        // [B, T, H] or null
  T* dh = nullptr;                // [B, H]
  T* dc = nullptr;                // [B, H]
  T* dh_acc = nullptr;            // [B, H]
  T* dpre = nullptr;              // [B, T, 4H] / [B, T, 2H]
  T* dpre_step = nullptr;         // [B, 4H] / [B, 2H]
  T* dcand = nullptr;             // [B, T, H]
  T* dcand_step = nullptr;        // [B, H]
};

template <class T>
Y8M_HD T rnn_sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// One (b, j) of one step of `kind`.
template <class T>
Y8M_HD void rnn_point(RnnKernel kind, const RnnStep<T>& a, int64_t b, int64_t j) {
  const int64_t H = a.hidden, n = a.lens[b], s = a.step;
  const bool active = s < n;
  const int64_t t = a.reverse ? n - 1 - s : s;
  const int64_t bh = b * H + j;                 // [B, H]
  const int64_t th = (b * a.time + t) * H + j;  // [B, T, H] (valid when active)
  switch (kind) {
    case RnnKernel::lstm_forward: {
      if (!active) return;
      const int64_t g4 = (b * a.time + t) * 4 * H, s4 = b * 4 * H;
      T g[4];
      for (int k = 0; k < 4; ++k)
        g[k] = a.x_proj[g4 + k * H + j] + a.bias[k * H + j] + a.h_proj[s4 + k * H + j];
      const T i = rnn_sigmoid(g[0]), jj = std::tanh(g[1]), f = rnn_sigmoid(g[2] + T(1)),
              o = rnn_sigmoid(g[3]);
      const T c_old = a.c[bh];
      const T c_new = c_old * f + i * jj;
      const T h_new = o * std::tanh(c_new);
      a.h_prev[th] = a.h[bh];
      a.aux[th] = c_old;
      a.gates[g4 + j] = i;
      a.gates[g4 + H + j] = jj;
      a.gates[g4 + 2 * H + j] = f;
      a.gates[g4 + 3 * H + j] = o;
      a.c[bh] = c_new;
      a.h[bh] = h_new;
      if (a.out) a.out[th] = h_new;
      return;
    }
    case RnnKernel::lstm_backward: {
      const int64_t s4 = b * 4 * H;
      if (!active) {
        for (int k = 0; k < 4; ++k) a.dpre_step[s4 + k * H + j] = T(0);
        return;
      }
      const int64_t g4 = (b * a.time + t) * 4 * H;
      const T i = a.gates[g4 + j], jj = a.gates[g4 + H + j], f = a.gates[g4 + 2 * H + j],
              o = a.gates[g4 + 3 * H + j];
      const T c_old = a.aux[th];
      const T tc = std::tanh(c_old * f + i * jj);
      const T dh = a.dh[bh] + (a.dout ? a.dout[th] : T(0));
      const T dc = a.dc[bh] + dh * o * (T(1) - tc * tc);
      const T d[4] = {dc * jj * i * (T(1) - i), dc * i * (T(1) - jj * jj),
                      dc * c_old * f * (T(1) - f), dh * tc * o * (T(1) - o)};
      for (int k = 0; k < 4; ++k) {
        a.dpre[g4 + k * H + j] = d[k];
        a.dpre_step[s4 + k * H + j] = d[k];
      }
      a.dc[bh] = dc * f;
      return;
    }
    case RnnKernel::gru_gates: {
      if (!active) {
        a.step_out[bh] = T(0);
        return;
      }
      const int64_t g2 = (b * a.time + t) * 2 * H, s2 = b * 2 * H;
      const T r = rnn_sigmoid(a.x_proj[g2 + j] + a.bias[j] + a.h_proj[s2 + j]);
      const T u = rnn_sigmoid(a.x_proj[g2 + H + j] + a.bias[H + j] + a.h_proj[s2 + H + j]);
      const T h = a.h[bh];
      a.gates[g2 + j] = r;
      a.gates[g2 + H + j] = u;
      a.h_prev[th] = h;
      a.aux[th] = r * h;
      a.step_out[bh] = r * h;
      return;
    }
    case RnnKernel::gru_output: {
      if (!active) return;
      const T u = a.gates[(b * a.time + t) * 2 * H + H + j];
      const T cand = std::tanh(a.x_proj[th] + a.bias[j] + a.h_proj[bh]);
      const T h_new = u * a.h[bh] + (T(1) - u) * cand;
      a.aux2[th] = cand;
      a.h[bh] = h_new;
      if (a.out) a.out[th] = h_new;
      return;
    }
    case RnnKernel::gru_backward_output: {
      if (!active) {
        a.dcand_step[bh] = T(0);
        return;
      }
      const int64_t g2 = (b * a.time + t) * 2 * H;
      const T u = a.gates[g2 + H + j], cand = a.aux2[th], hp = a.h_prev[th];
      const T dh = a.dh[bh] + (a.dout ? a.dout[th] : T(0));
      const T dcp = dh * (T(1) - u) * (T(1) - cand * cand);
      a.dcand[th] = dcp;
      a.dcand_step[bh] = dcp;
      a.dpre[g2 + H + j] = dh * (hp - cand) * u * (T(1) - u);
      a.dh_acc[bh] = dh * u;
      return;
    }
    case RnnKernel::gru_backward_gates: {
      const int64_t s2 = b * 2 * H;
      if (!active) {
        a.dpre_step[s2 + j] = T(0);
        a.dpre_step[s2 + H + j] = T(0);
        return;
      }
      const int64_t g2 = (b * a.time + t) * 2 * H;
      const T r = a.gates[g2 + j], drh = a.h_proj[bh];
      const T dr = drh * a.h_prev[th] * r * (T(1) - r);
      a.dpre[g2 + j] = dr;
      a.dpre_step[s2 + j] = dr;
      a.dpre_step[s2 + H + j] = a.dpre[g2 + H + j];
      a.dh_acc[bh] += drh * r;
      return;
    }
    case RnnKernel::merge: {
      if (!active) return;
      a.dh[bh] = a.h_proj[bh] + (a.dh_acc ? a.dh_acc[bh] : T(0));
      return;
    }
  }
}

namespace cpu {
// Runs rnn_point over every (b, j) of [batch, hidden].
template <class T>
void rnn_step(RnnKernel kind, const RnnStep<T>& a);
// out[c] = sum_r x[r, c] over rows (bias gradients), in row order.
template <class T>
void column_sum(const T* x, T* out, int64_t rows, int64_t cols);
// y += x, n elements.
template <class T>
void add_into(T* y, const T* x, int64_t n);
}  // namespace cpu

namespace cuda {
Y8M_CUDA_LAUNCHER(void rnn_step(RnnKernel kind, const RnnStep<float>& a, cudaStream_t st));
Y8M_CUDA_LAUNCHER(void column_sum(const float* x, float* out, int64_t rows, int64_t cols,
                                  cudaStream_t st));
Y8M_CUDA_LAUNCHER(void add_into(float* y, const float* x, int64_t n, cudaStream_t st));
}  // namespace cuda

}  // namespace y8m::ops
