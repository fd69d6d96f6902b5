// Recurrent layers with TensorFlow 1.8 semantics (SPEC §3.4, §3.5, §2.5), one op per layer and
// direction over a whole batch of sequences:
//
//   x [B, T, F], num_frames i32 (or i64) [B] on any device (n = clip(num_frames, 0, T)), weights
//   in TF layout ([x, h_prev] rows, gate column blocks):
//
// lstm (TF1 BasicLSTMCell / LSTMCell without peepholes or projection, forget_bias 1.0, tanh):
//   kernel [F+H, 4H] blocks (i, j, f, o), bias [4H]
//   g = [x_t, h]·kernel + bias;  c' = c·σ(f + 1) + σ(i)·tanh(j);  h' = σ(o)·tanh(c')
// gru (TF1 GRUCell):
//   gates_kernel [F+H, 2H] blocks (r, u), gates_bias [2H]; candidate_kernel [F+H, H],
//   candidate_bias [H]
//   (r, u) = σ([x_t, h]·gates_kernel + gates_bias);  cand = tanh([x_t, r·h]·candidate_kernel +
//   candidate_bias);  h' = u·h + (1 - u)·cand
//
// tf.nn.dynamic_rnn(sequence_length = n), zero initial state: steps t < n update the state; for
// t >= n the output is 0 and the state is carried, so the final state is the state after step n - 1
// (zeros when n = 0). reverse = true is the backward direction of tf.nn.bidirectional_dynamic_rnn:
// the sequence is reversed within its own length (tf.reverse_sequence), run, and the outputs
// reversed back, i.e. the recurrence runs t = n-1 down to 0 and out[t] is the state after
// consuming x[t..n-1].
//
// output: "sequence" -> [B, T, H]; "final_h" -> [B, H]; "final_c" -> [B, H] (lstm only).
// f32 on any device, f64 on the CPU. Forward: one GEMM for the input projection of all steps, then
// per step a GEMM of h with the recurrent rows of the kernel and a fused cell kernel (GRU: two of
// each); steps past the longest sequence are skipped. Saved for backward: x, the weights, the
// activated gates and the states before each step. Backward through time in the op; gradients of
// x, the kernels and biases are fresh tensors (overwrite); num_frames gets none.
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"

#include <string>

namespace y8m::ops {

Tensor lstm(const Tensor& x, const Tensor& num_frames, const Tensor& kernel, const Tensor& bias,
            bool reverse, const std::string& output);

Tensor gru(const Tensor& x, const Tensor& num_frames, const Tensor& gates_kernel,
           const Tensor& gates_bias, const Tensor& candidate_kernel, const Tensor& candidate_bias,
           bool reverse, const std::string& output);

}  // namespace y8m::ops
