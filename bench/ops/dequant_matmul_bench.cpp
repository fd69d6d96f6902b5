// Benchmarks of the dequant matmul (ops/fused/dequant_matmul.h) at NetVLAD1's hidden layer,
// Y[B, 1024] = X[B, 278528]·lut[Wq[278528, 1024]] (SPEC §3.1, §11), against the same product with
// the f32 weights.
//
// CUDA: the launcher on preallocated buffers (no allocation in the timed loop), B = 1, 16, 200.
// GB/s counts the minimum traffic (the u8 weights, X and Y) next to the device copy roof measured
// in the same run (roof_GB/s). Before the loop, cuBLAS sgemm on the f32 weights (ops::cuda::gemm,
// what ops::matmul runs; fp32 math) and the fused launcher are timed as medians of a few
// launches: baseline_f32_ms, fused_ms and speedup = baseline_f32_ms / fused_ms. At small B the
// fused kernel is bound by the weight bytes (1/4 of the f32 weights'); at B = 16 also by fp32 FMA
// throughput (2·B flops per weight byte).
//
// CPU: the op entry at a smaller K (16384), B = 1 and 16, next to ops::matmul on the f32 weights
// (baseline_f32_ms, fused_ms, speedup) and the host copy roof. The op entry is timed (its host
// allocations come from the engine's caching allocator).
//
// Tuning sweeps (what was tried, the numbers):
//   CPU chunk size (BM_dequant_matmul_cpu_chunk, elements of W dequantized per GEMM; K = 16384,
//   N = 1024; median of 5 repetitions; 2026-12-03, 2-vCPU VM at 2.6 GHz, OpenBLAS, otherwise idle):
//     elements per chunk    2^16      2^18      2^20 (default)   2^22
//     B = 1                 5.05 ms   13.4 ms   8.80 ms          7.64 ms
//     B = 16                20.8 ms   14.4 ms   11.1 ms          9.51 ms
//   Kept 2^20 (4 MB of f32 scratch): 2^22 is 13-14% faster here but needs 16 MB per call, and
//   2^16 wins only at B = 1 (a GEMV) while costing 1.9x at B = 16; two points on a 2-core VM are
//   not enough to move the default.
//   CUDA (kDequantStreamMaxRows = 64, the streaming kernel's block and split-K shape): not swept,
//   because no GPU has been lent to this project yet. The benchmark above prints what a sweep
//   needs (fused_ms against the cuBLAS baseline, roof%).
#include "autograd/variable.h"
#include "bench/bench_util.h"
#include "engine/stream.h"
#include "ops/fused/dequant_matmul.h"
#include "ops/fused/dequant_matmul_kernels.h"
#include "ops/matmul/matmul.h"
#include "ops/matmul/matmul_kernels.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <vector>

namespace y8m::bench {
namespace {

constexpr int64_t kHiddenK = 278528;  // NetVLAD1: 1024·256 (video) + 128·128 (audio) VLAD
constexpr int64_t kHiddenN = 1024;

// Random indices and a linspace codebook (quant_uniform) on `dev`.
Tensor random_indices(int64_t k, int64_t n, Device dev) {
  std::mt19937_64 gen(11);
  std::vector<uint8_t> v(static_cast<size_t>(k * n));
  for (size_t i = 0; i < v.size(); i += 8) {
    const uint64_t r = gen();
    for (size_t j = 0; j < 8 && i + j < v.size(); ++j)
      v[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  return Tensor::from_vector(v, {k, n}).to(dev);
}

Tensor linspace_codebook(Device dev) {
  std::vector<float> c(256);
  for (int i = 0; i < 256; ++i)
    c[static_cast<size_t>(i)] = -0.05f + 0.1f * static_cast<float>(i) / 255.0f;
  return Tensor::from_vector(c, {256}).to(dev);
}

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

// Minimum bytes of one product: the u8 weights, the codebook, X and Y.
double min_bytes(int64_t b, int64_t k, int64_t n) {
  return static_cast<double>(k * n) + 256.0 * 4 + 4.0 * static_cast<double>(b * k + b * n);
}

// The loop's figures (GB/s against the roof), then both medians side by side: baseline_f32_ms,
// fused_ms and speedup = baseline / fused (> 1: the fused op is faster), and roof%.
void report(benchmark::State& state, int64_t b, int64_t k, int64_t n, double roof_gbps,
            double baseline_ms, double fused_ms) {
  report_bandwidth(state, min_bytes(b, k, n), roof_gbps);
  state.counters["baseline_f32_ms"] = baseline_ms;
  state.counters["fused_ms"] = fused_ms;
  state.counters["speedup"] = baseline_ms / fused_ms;
  // Bandwidth of the median run as a share of the roof (the target: >= 70% on CUDA).
  if (roof_gbps > 0)
    state.counters["roof%"] = 100.0 * min_bytes(b, k, n) / (fused_ms * 1e6) / roof_gbps;
}

// Args: B, K, N.
void BM_dequant_matmul_cpu(benchmark::State& state) {
  const int64_t b = state.range(0), k = state.range(1), n = state.range(2);
  const Device cpu = Device::cpu();
  const Tensor x = random_tensor({b, k}, cpu, 1), wq = random_indices(k, n, cpu);
  const Tensor cb = linspace_codebook(cpu);
  const Tensor w = ops::dequantize(cb, wq);
  autograd::NoGradGuard ng;
  const double base =
      median_ms([&] { benchmark::DoNotOptimize(ops::matmul(x, w).data_ptr()); }, cpu, 5);
  const auto fused = [&] { benchmark::DoNotOptimize(ops::dequant_matmul(x, wq, cb).data_ptr()); };
  const double fused_ms = median_ms(fused, cpu, 5);
  for (auto _ : state) fused();
  report(state, b, k, n, cpu_copy_gbps(), base, fused_ms);
}
BENCHMARK(BM_dequant_matmul_cpu)
    ->ArgNames({"B", "K", "N"})
    ->Args({1, 16384, kHiddenN})
    ->Args({16, 16384, kHiddenN})
    ->UseRealTime()  // OpenBLAS threads: rates against wall time
    ->Unit(benchmark::kMillisecond);

// The CPU kernel's chunk size (rows of Wq dequantized per GEMM, dequant_matmul_chunk_rows: 2^20
// elements). Args: B, log2 of the elements per chunk; K = 16384, N = 1024, scratch allocated once.
void BM_dequant_matmul_cpu_chunk(benchmark::State& state) {
  const int64_t b = state.range(0), chunk_elems = int64_t(1) << state.range(1);
  const int64_t k = 16384, n = kHiddenN;
  const Device cpu = Device::cpu();
  const Tensor x = random_tensor({b, k}, cpu, 1), wq = random_indices(k, n, cpu);
  const Tensor cb = linspace_codebook(cpu);
  Tensor y = Tensor::empty({b, n}, DType::f32, cpu);
  const int64_t rows = std::clamp<int64_t>(chunk_elems / n, 1, k);
  Tensor scratch = Tensor::empty({rows * n}, DType::f32, cpu);
  const ops::DequantMatmulSizes d{b, k, n};
  for (auto _ : state)
    ops::cpu::dequant_matmul_forward<float>(x.data<float>(), wq.data<uint8_t>(), cb.data<float>(),
                                            nullptr, y.data<float>(), d, scratch.data<float>(),
                                            rows);
  report_bandwidth(state, min_bytes(b, k, n), cpu_copy_gbps());
  state.counters["chunk_rows"] = static_cast<double>(rows);
}
BENCHMARK(BM_dequant_matmul_cpu_chunk)
    ->ArgNames({"B", "log2_chunk"})
    ->ArgsProduct({{1, 16}, {16, 18, 20, 22}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

#ifdef Y8M_WITH_CUDA
// Args: B, K, N. The launcher with its workspace allocated once.
void BM_dequant_matmul_cuda(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  const int64_t b = state.range(0), k = state.range(1), n = state.range(2);
  const Device gpu = Device::cuda(0);
  const Tensor x = random_tensor({b, k}, gpu, 1), wq = random_indices(k, n, gpu);
  const Tensor cb = linspace_codebook(gpu);
  Tensor y = Tensor::empty({b, n}, DType::f32, gpu);
  ops::DequantMatmulSizes d;
  d.b = b;
  d.k = k;
  d.n = n;
  const int64_t ws_floats = ops::cuda::dequant_matmul_workspace(d, 0);
  Tensor ws = Tensor::empty({std::max<int64_t>(ws_floats, 1)}, DType::f32, gpu);
  // The baseline: cuBLAS sgemm on the dequantized f32 weights (1.1 GB at the hidden layer).
  double base_ms = 0;
  {
    const Tensor w = ops::dequantize(cb, wq);
    ops::GemmShape g;
    g.m = b;
    g.n = n;
    g.k = k;
    g.lda = k;
    g.ldb = n;
    g.ldc = n;
    base_ms = median_ms(
        [&] { ops::cuda::gemm(g, x.data<float>(), w.data<float>(), y.data<float>(), 0); }, gpu, 7);
  }
  const auto fused = [&] {
    ops::cuda::dequant_matmul_forward(x.data<float>(), wq.data<uint8_t>(), cb.data<float>(),
                                      nullptr, y.data<float>(), d, ws.data<float>(), ws_floats, 0);
  };
  const double fused_ms = median_ms(fused, gpu, 7);
  time_cuda(state, fused);
  report(state, b, k, n, cuda_copy_gbps(), base_ms, fused_ms);
}
BENCHMARK(BM_dequant_matmul_cuda)
    ->ArgNames({"B", "K", "N"})
    ->Args({1, kHiddenK, kHiddenN})
    ->Args({16, kHiddenK, kHiddenN})
    ->Args({200, kHiddenK, kHiddenN})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
#endif

}  // namespace
}  // namespace y8m::bench
