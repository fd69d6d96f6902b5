// Benchmarks of the recurrent op (ops/rnn/rnn.h) against the unfused path, forward + backward of one
// LSTM direction over full-length sequences (every video has T frames):
//   fused      ops::lstm: one GEMM for the input projection of all steps, then per step a GEMM of h
//              with the recurrent rows and one fused cell kernel; backward through time in the op.
//   composite  the same cell built from primitive ops per step, with autograd: matmul of [x_t, h]
//              with the kernel, slice of the four gate blocks, sigmoid / tanh, mul, add (what a
//              framework without a fused cell runs).
// The loop times the fused op; before it, fused and composite are each timed as a median of a few
// runs (wall clock after a device synchronization), reported as composite_ms, fused_ms and
// speedup = composite / fused. CPU: B 16, T 60, F 1152, H 128 (the full RNN1 step is minutes on
// two cores); CUDA: RNN1's direction, B 256, T 300, F 1152, H 1024.
#include "autograd/variable.h"
#include "bench/bench_util.h"
#include "engine/stream.h"
#include "ops/ops.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace y8m::bench {
namespace {

struct Sizes {
  int64_t b, t, f, h;
};

struct Inputs {
  Tensor x, num_frames, kernel, bias;
};

Inputs make_inputs(const Sizes& s, Device dev) {
  Inputs in;
  in.x = random_tensor({s.b, s.t, s.f}, dev, 1);
  in.num_frames = Tensor::from_vector(
      std::vector<int32_t>(static_cast<size_t>(s.b), static_cast<int32_t>(s.t)), {s.b});
  in.kernel = ops::mul_scalar(random_tensor({s.f + s.h, 4 * s.h}, dev, 2), 0.05);
  in.bias = ops::mul_scalar(random_tensor({4 * s.h}, dev, 3), 0.1);
  for (const Tensor* t : {&in.x, &in.kernel, &in.bias}) autograd::set_requires_grad(*t, true);
  return in;
}

// The final cell state of the composite LSTM (TF BasicLSTMCell: gates i, j, f, o; forget bias 1).
Tensor composite_lstm(const Inputs& in, const Sizes& s) {
  Tensor h = Tensor::zeros({s.b, s.h}, DType::f32, in.x.device());
  Tensor c = h;
  for (int64_t t = 0; t < s.t; ++t) {
    const Tensor xt = ops::reshape(ops::slice(in.x, 1, t, t + 1), {s.b, s.f});
    const Tensor g = ops::add(ops::matmul(ops::concat({xt, h}, 1), in.kernel), in.bias);
    const std::vector<Tensor> q = ops::split(g, {s.h, s.h, s.h, s.h}, 1);
    c = ops::add(ops::mul(c, ops::sigmoid(ops::add_scalar(q[2], 1.0))),
                 ops::mul(ops::sigmoid(q[0]), ops::tanh(q[1])));
    h = ops::mul(ops::sigmoid(q[3]), ops::tanh(c));
  }
  return c;
}

Tensor fused_lstm(const Inputs& in) {
  return ops::lstm(in.x, in.num_frames, in.kernel, in.bias, false, "final_c");
}

// Forward, then backward from the sum of the output.
void forward_backward(const std::function<Tensor()>& forward) {
  autograd::backward(ops::sum(ops::sum(forward(), 1, false), 0, false));
}

double median_ms(const std::function<void()>& fn, Device dev, int reps) {
  fn();
  engine::synchronize(dev);
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    engine::synchronize(dev);
    t.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void run(benchmark::State& state, const Sizes& s, Device dev) {
  const Inputs in = make_inputs(s, dev);
  const auto fused = [&] { forward_backward([&] { return fused_lstm(in); }); };
  const auto composite = [&] { forward_backward([&] { return composite_lstm(in, s); }); };
  const double fused_ms = median_ms(fused, dev, 3);
  const double composite_ms = median_ms(composite, dev, 3);
  for (auto _ : state) {
    fused();
    engine::synchronize(dev);
  }
  state.counters["fused_ms"] = fused_ms;
  state.counters["composite_ms"] = composite_ms;
  state.counters["speedup"] = composite_ms / fused_ms;
  // Forward + backward: 3 GEMMs of 2·B·(F+H)·4H flops per step.
  const double flops = 3.0 * 2.0 * static_cast<double>(s.b * (s.f + s.h) * 4 * s.h * s.t);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_lstm_cpu(benchmark::State& state) { run(state, {16, 60, 1152, 128}, Device::cpu()); }
BENCHMARK(BM_lstm_cpu)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_lstm_cuda(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  run(state, {256, 300, 1152, 1024}, Device::cuda(0));
}
BENCHMARK(BM_lstm_cuda)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace y8m::bench
