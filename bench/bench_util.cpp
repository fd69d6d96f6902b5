#include "bench/bench_util.h"

#include "engine/rng.h"
#include "engine/stream.h"

#include <chrono>
#include <cstring>
#include <vector>

#ifdef Y8M_WITH_CUDA
#include "engine/cuda_context.h"
#endif

namespace y8m::bench {

double cpu_copy_gbps() {
  static const double gbps = [] {
    const size_t bytes = size_t(256) << 20;
    std::vector<char> a(bytes, 1), b(bytes, 0);
    std::memcpy(b.data(), a.data(), bytes);  // warm-up, page faults
    double best = 0;
    for (int r = 0; r < 3; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      std::memcpy(b.data(), a.data(), bytes);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, 2.0 * bytes / s / 1e9);
    }
    benchmark::DoNotOptimize(b.data());
    return best;
  }();
  return gbps;
}

double cuda_copy_gbps() {
#ifdef Y8M_WITH_CUDA
  static const double gbps = [] {
    if (engine::cuda_device_count() == 0) return 0.0;
    const int64_t n = int64_t(1) << 28;  // 1 GiB per buffer
    Tensor a = Tensor::zeros({n}, DType::f32, Device::cuda(0));
    Tensor b = Tensor::zeros({n}, DType::f32, Device::cuda(0));
    cudaStream_t s = engine::cuda::compute_stream(0);
    engine::Event e0, e1;
    Y8M_CUDA_CHECK(
        cudaMemcpyAsync(b.data_ptr(), a.data_ptr(), a.nbytes(), cudaMemcpyDeviceToDevice, s));
    double best = 0;
    for (int r = 0; r < 5; ++r) {
      e0.record(Device::cuda(0));
      Y8M_CUDA_CHECK(
          cudaMemcpyAsync(b.data_ptr(), a.data_ptr(), a.nbytes(), cudaMemcpyDeviceToDevice, s));
      e1.record(Device::cuda(0));
      e1.synchronize();
      const double ms = engine::Event::elapsed_ms(e0, e1);
      best = std::max(best, 2.0 * a.nbytes() / (ms * 1e-3) / 1e9);
    }
    return best;
  }();
  return gbps;
#else
  return 0.0;
#endif
}

bool skip_without_cuda(benchmark::State& state) {
  if (engine::cuda_device_count() > 0) return false;
  state.SkipWithError(engine::cuda_unavailable_reason().c_str());
  return true;
}

void time_cuda(benchmark::State& state, const std::function<void()>& fn) {
  for (int i = 0; i < 3; ++i) fn();
  engine::synchronize(Device::cuda(0));
  engine::Event e0, e1;
  for (auto _ : state) {
    e0.record(Device::cuda(0));
    fn();
    e1.record(Device::cuda(0));
    e1.synchronize();
    state.SetIterationTime(engine::Event::elapsed_ms(e0, e1) * 1e-3);
  }
}

void report_bandwidth(benchmark::State& state, double bytes_per_iter, double roof_gbps) {
  state.counters["GB/s"] = benchmark::Counter(
      bytes_per_iter * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
  state.counters["roof_GB/s"] = roof_gbps;
  state.SetBytesProcessed(
      static_cast<int64_t>(bytes_per_iter * static_cast<double>(state.iterations())));
}

void report_flops(benchmark::State& state, double flops_per_iter, double roof_gflops) {
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops_per_iter * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
  if (roof_gflops > 0) state.counters["roof_GFLOP/s"] = roof_gflops;
}

Tensor random_tensor(const Shape& shape, Device device, uint64_t seed) {
  Tensor t = Tensor::empty(shape, DType::f32, device);
  engine::fill_uniform(t, seed, 0, -1.0, 1.0);
  return t;
}

}  // namespace y8m::bench
