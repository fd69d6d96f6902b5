// Benchmarks of the nn family: batch_norm training forward (statistics, moving-average update and
// normalization) and prepare_frames, on the CPU and CUDA, against the copy roof of the same run.
//
// Bytes counted are the minimum traffic: batch_norm reads x once and writes y (its kernels actually
// read x three times: mean pass, variance pass, normalization), prepare_frames reads the u8 frames
// and writes f32. The CUDA variants time the op entries (whose temporaries come from the
// stream-ordered pool, no cudaMalloc after warm-up) with events.
#include "bench/bench_util.h"
#include "engine/rng.h"
#include "ops/nn/batch_norm.h"
#include "ops/nn/frames.h"

#include <benchmark/benchmark.h>

namespace y8m::bench {
namespace {

struct BnInputs {
  Tensor x, gamma, beta, mm, mv;
  BnInputs(int64_t n, int64_t c, Device d)
      : x(random_tensor({n, c}, d, 1)),
        gamma(Tensor::ones({c}, DType::f32, d)),
        beta(Tensor::zeros({c}, DType::f32, d)),
        mm(Tensor::zeros({c}, DType::f32, d)),
        mv(Tensor::ones({c}, DType::f32, d)) {}
  Tensor run() { return ops::batch_norm(x, gamma, beta, mm, mv); }
};

double bn_bytes(const benchmark::State& state) {
  return 2.0 * static_cast<double>(state.range(0) * state.range(1)) * sizeof(float);
}

void BM_batch_norm_train_cpu(benchmark::State& state) {
  BnInputs in(state.range(0), state.range(1), Device::cpu());
  for (auto _ : state) benchmark::DoNotOptimize(in.run().data_ptr());
  report_bandwidth(state, bn_bytes(state), cpu_copy_gbps());
}
BENCHMARK(BM_batch_norm_train_cpu)
    ->Args({48000, 1152})
    ->Args({160, 1024})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_batch_norm_train_cuda(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  BnInputs in(state.range(0), state.range(1), Device::cuda(0));
  time_cuda(state, [&] { in.run(); });
  report_bandwidth(state, bn_bytes(state), cuda_copy_gbps());
}
BENCHMARK(BM_batch_norm_train_cuda)
    ->Args({48000, 1152})
    ->Args({160, 1024})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// A batch of frames [B, 300, 1152] with a spread of valid lengths (every 8th video is short).
struct FrameInputs {
  Tensor frames, num_frames;
  FrameInputs(int64_t b, int64_t t, int64_t f, Device d) {
    Tensor u = Tensor::empty({b, t, f}, DType::f32);
    engine::fill_uniform(u, 7, 0, 0.0, 255.0);
    frames = u.to(DType::u8).to(d);
    std::vector<int32_t> n(static_cast<size_t>(b));
    for (int64_t i = 0; i < b; ++i)
      n[static_cast<size_t>(i)] = static_cast<int32_t>(i % 8 == 0 ? t / 3 : t);
    num_frames = Tensor::from_vector<int32_t>(n, {b}).to(d);
  }
};

double frames_bytes(const benchmark::State& state) {
  return static_cast<double>(state.range(0) * 300 * 1152) * (1 + sizeof(float));
}

void BM_prepare_frames_cpu(benchmark::State& state) {
  FrameInputs in(state.range(0), 300, 1152, Device::cpu());
  for (auto _ : state)
    benchmark::DoNotOptimize(ops::prepare_frames(in.frames, in.num_frames).data_ptr());
  report_bandwidth(state, frames_bytes(state), cpu_copy_gbps());
}
BENCHMARK(BM_prepare_frames_cpu)->Arg(160)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_prepare_frames_cuda(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  FrameInputs in(state.range(0), 300, 1152, Device::cuda(0));
  time_cuda(state, [&] { ops::prepare_frames(in.frames, in.num_frames); });
  report_bandwidth(state, frames_bytes(state), cuda_copy_gbps());
}
BENCHMARK(BM_prepare_frames_cuda)->Arg(160)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace y8m::bench
