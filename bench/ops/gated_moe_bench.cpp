// Benchmarks of the fused gated_moe op against its composite (ops/fused/gated_moe.h) at the
// NetVLAD1 head shape (SPEC §3.1: B = 160, V = 3862 classes, M = 2 mixtures), forward alone and
// forward + backward (both inputs requiring grad, random upstream gradient), on the CPU and CUDA.
//
// The benchmark loop times the fused op. GB/s counts the minimum traffic of the fused kernels
// (forward: read gates and experts, write p; backward: read gates, experts and dp, write both
// gradients), next to the copy roof measured in the same run (roof_GB/s). Before the loop the
// composite and the fused op are each timed as a median of a few runs (host clock after a device
// synchronization on the CPU, events on CUDA), reported as composite_ms, fused_ms and
// fused/composite (< 1: the fused op is faster).
#include "autograd/variable.h"
#include "bench/bench_util.h"
#include "engine/stream.h"
#include "ops/fused/gated_moe.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace y8m::bench {
namespace {

using MoeFn = Tensor (*)(const Tensor&, const Tensor&, int64_t);

struct MoeInputs {
  Tensor gates, experts, dout;
  int64_t m;
  Device dev;
  bool train;
  MoeInputs(int64_t b, int64_t v, int64_t m_, Device d, bool train_)
      : gates(random_tensor({b, v * (m_ + 1)}, d, 1)),
        experts(random_tensor({b, v * m_}, d, 2)),
        dout(random_tensor({b, v}, d, 3)),
        m(m_),
        dev(d),
        train(train_) {
    if (train)
      for (const Tensor& t : {gates, experts}) autograd::set_requires_grad(t, true);
  }
  // One forward (and backward when training) of op.
  void step(MoeFn op) {
    Tensor out = op(gates, experts, m);
    if (train) {
      autograd::backward(out, dout);
      for (const Tensor& t : {gates, experts}) autograd::zero_grad(t);
    }
  }
  // Minimum bytes moved by the fused kernels per step.
  double bytes() const {
    const double rows = static_cast<double>(dout.numel());
    const double in = static_cast<double>(2 * m + 1), fwd = (in + 1) * rows * sizeof(float);
    return train ? fwd + (2 * in + 1) * rows * sizeof(float) : fwd;
  }
};

// Median time in ms of `reps` runs of fn after two warm-ups.
double median_ms(const std::function<void()>& fn, Device dev, int reps) {
  fn();
  fn();
  engine::synchronize(dev);
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    if (dev.is_cpu()) {
      const auto t0 = std::chrono::steady_clock::now();
      fn();
      t.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    } else {
      engine::Event e0, e1;
      e0.record(dev);
      fn();
      e1.record(dev);
      e1.synchronize();
      t.push_back(engine::Event::elapsed_ms(e0, e1));
    }
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void report(benchmark::State& state, MoeInputs& in, double roof_gbps) {
  report_bandwidth(state, in.bytes(), roof_gbps);
  const double comp = median_ms([&] { in.step(ops::gated_moe_composite); }, in.dev, 9);
  const double fused = median_ms([&] { in.step(ops::gated_moe); }, in.dev, 9);
  state.counters["composite_ms"] = comp;
  state.counters["fused_ms"] = fused;
  state.counters["fused/composite"] = fused / comp;
}

// Args: B, V, M, train (0: forward only, 1: forward + backward).
void BM_gated_moe_cpu(benchmark::State& state) {
  MoeInputs in(state.range(0), state.range(1), state.range(2), Device::cpu(), state.range(3) != 0);
  for (auto _ : state) in.step(ops::gated_moe);
  report(state, in, cpu_copy_gbps());
}
BENCHMARK(BM_gated_moe_cpu)
    ->ArgNames({"B", "V", "M", "train"})
    ->Args({160, 3862, 2, 0})
    ->Args({160, 3862, 2, 1})
    ->Iterations(10)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_gated_moe_cuda(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  MoeInputs in(state.range(0), state.range(1), state.range(2), Device::cuda(0),
               state.range(3) != 0);
  time_cuda(state, [&] { in.step(ops::gated_moe); });
  report(state, in, cuda_copy_gbps());
}
BENCHMARK(BM_gated_moe_cuda)
    ->ArgNames({"B", "V", "M", "train"})
    ->Args({160, 3862, 2, 0})
    ->Args({160, 3862, 2, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace y8m::bench
