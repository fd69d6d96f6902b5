// Benchmarks of the fused vlad op against its composite (ops/fused/vlad.h) at the NetVLAD1 shapes
// (SPEC §3.1: S = 300 frames; video F = 1024, K = 256; audio F = 128, K = 128), forward alone and
// forward + backward (every input requiring grad, random upstream gradient).
//
// The benchmark loop times the fused op; after it, fused and composite runs alternate (wall clock,
// synchronizing the device) and their medians are reported as the counters composite_ms, fused_ms
// and ratio = composite / fused (> 1: the fused op is faster). The CPU uses B = 8 videos (B = 160
// would take seconds per iteration), CUDA the real B = 160.
#include "autograd/variable.h"
#include "bench/bench_util.h"
#include "engine/stream.h"
#include "ops/fused/vlad.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace y8m::bench {
namespace {

constexpr int64_t kFrames = 300;

struct VladInputs {
  Tensor logits, z, centers, dout;
  int64_t b;
  Device dev;
  bool train;
  VladInputs(int64_t b_, int64_t f, int64_t k, Device d, bool train_)
      : logits(random_tensor({b_ * kFrames, k}, d, 1)),
        z(random_tensor({b_ * kFrames, f}, d, 2)),
        centers(random_tensor({f, k}, d, 3)),
        dout(random_tensor({b_, f * k}, d, 4)),
        b(b_),
        dev(d),
        train(train_) {
    if (train)
      for (const Tensor& t : {logits, z, centers}) autograd::set_requires_grad(t, true);
  }
  // One forward (and backward when training) of op.
  void step(Tensor (*op)(const Tensor&, const Tensor&, const Tensor&, int64_t)) {
    Tensor out = op(logits, z, centers, b);
    if (train) {
      autograd::backward(out, dout);
      for (const Tensor& t : {logits, z, centers}) autograd::zero_grad(t);
    }
  }
};

// Wall time in ms of one run of fn, synchronizing `dev` before and after.
double time_ms(const std::function<void()>& fn, Device dev) {
  engine::synchronize(dev);
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  engine::synchronize(dev);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Counters composite_ms, fused_ms (medians of kReps runs, the two ops interleaved so that load from
// other processes hits both alike) and ratio = composite / fused.
void report_ratio(benchmark::State& state, VladInputs& in) {
  constexpr int kReps = 7;
  std::vector<double> comp, fused;
  for (int r = 0; r < kReps; ++r) {
    comp.push_back(time_ms([&] { in.step(ops::vlad_composite); }, in.dev));
    fused.push_back(time_ms([&] { in.step(ops::vlad); }, in.dev));
  }
  state.counters["composite_ms"] = median(comp);
  state.counters["fused_ms"] = median(fused);
  state.counters["ratio"] = median(comp) / median(fused);
}

void BM_vlad_cpu(benchmark::State& state) {
  VladInputs in(state.range(0), state.range(1), state.range(2), Device::cpu(), state.range(3) != 0);
  for (auto _ : state) in.step(ops::vlad);
  report_ratio(state, in);
}
BENCHMARK(BM_vlad_cpu)
    ->ArgNames({"B", "F", "K", "train"})
    ->Args({8, 1024, 256, 0})
    ->Args({8, 1024, 256, 1})
    ->Args({8, 128, 128, 0})
    ->Args({8, 128, 128, 1})
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_vlad_cuda(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  VladInputs in(state.range(0), state.range(1), state.range(2), Device::cuda(0),
                state.range(3) != 0);
  time_cuda(state, [&] { in.step(ops::vlad); });
  report_ratio(state, in);
}
BENCHMARK(BM_vlad_cuda)
    ->ArgNames({"B", "F", "K", "train"})
    ->Args({160, 1024, 256, 0})
    ->Args({160, 1024, 256, 1})
    ->Args({160, 128, 128, 0})
    ->Args({160, 128, 128, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace y8m::bench
