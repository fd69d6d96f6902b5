// Benchmarks of the matmul family and of gather_rows (frame sampling). CPU: the op entry (OpenBLAS
// sgemm), GFLOP/s. CUDA: the cuBLAS launcher on preallocated buffers (no allocation in the timed
// loop), at the NetVLAD shapes, fp32 and opt-in TF32; gather_rows against the device copy roof.
#include "bench/bench_util.h"
#include "ops/matmul/matmul.h"
#include "ops/shape/shape.h"

#include "autograd/variable.h"
#include "ops/matmul/matmul_kernels.h"
#include "ops/shape/shape_kernels.h"

#ifdef Y8M_WITH_CUDA
#include "engine/cuda_context.h"
#endif

#include <random>

namespace y8m::bench {
namespace {

// Random row indices in [0, rows), fixed seed.
Tensor random_rows(int64_t n, int64_t rows, Device device) {
  std::mt19937_64 gen(7);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(rows - 1));
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(gen);
  return Tensor::from_vector(v, {n}, device);
}

// Args: M, K, N (C[M, N] = A[M, K]·B[K, N]).
void BM_cpu_sgemm(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const Tensor a = random_tensor({m, k}, Device::cpu(), 1),
               b = random_tensor({k, n}, Device::cpu(), 2);
  autograd::NoGradGuard ng;
  for (auto _ : state) benchmark::DoNotOptimize(ops::matmul(a, b).data_ptr());
  report_flops(state, 2.0 * static_cast<double>(m * k) * static_cast<double>(n), 0);
}
BENCHMARK(BM_cpu_sgemm)
    ->Args({160, 1152, 256})   // per-video projection
    ->Args({160, 1024, 3862})  // classifier
    ->UseRealTime()            // OpenBLAS threads: rates against wall time
    ->Unit(benchmark::kMillisecond);

// The kernel into a preallocated output (a fresh 200 MB host allocation per call would time page
// faults, not the copy).
void BM_cpu_gather_rows(benchmark::State& state) {
  const int64_t rows = state.range(0), d = state.range(1);
  const Tensor x = random_tensor({rows, d}, Device::cpu());
  const Tensor idx = random_rows(rows, rows, Device::cpu());
  Tensor out = Tensor::zeros({rows, d});
  const int64_t row_bytes = d * static_cast<int64_t>(sizeof(float));
  for (auto _ : state) {
    ops::cpu::gather_rows<int32_t>(x.data_ptr(), idx.data<int32_t>(), out.data_ptr(), rows,
                                   row_bytes);
    benchmark::ClobberMemory();
  }
  report_bandwidth(state, 2.0 * static_cast<double>(rows * row_bytes), cpu_copy_gbps());
}
BENCHMARK(BM_cpu_gather_rows)
    ->Args({160 * 300, 1152})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

#ifdef Y8M_WITH_CUDA
// Args: M, K, N, trans_a, tf32. With trans_a, A is stored [K, M] (a weight-gradient GEMM).
void BM_cuda_sgemm(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const bool ta = state.range(3) != 0;
  const Device dev = Device::cuda(0);
  const Tensor a = random_tensor(ta ? Shape{k, m} : Shape{m, k}, dev, 1);
  const Tensor b = random_tensor({k, n}, dev, 2);
  Tensor c = Tensor::empty({m, n}, DType::f32, dev);
  ops::GemmShape g;
  g.trans_a = ta;
  g.m = m;
  g.n = n;
  g.k = k;
  g.lda = ta ? m : k;
  g.ldb = n;
  g.ldc = n;
  const bool prev = engine::cuda::tf32_enabled();
  engine::cuda::set_tf32_enabled(state.range(4) != 0);
  time_cuda(state,
            [&] { ops::cuda::gemm(g, a.data<float>(), b.data<float>(), c.data<float>(), 0); });
  engine::cuda::set_tf32_enabled(prev);
  // The figure is cuBLAS itself, so there is no separate roof.
  report_flops(state, 2.0 * static_cast<double>(m * k) * static_cast<double>(n), 0);
}
BENCHMARK(BM_cuda_sgemm)
    ->Args({48000, 1152, 256, 0, 0})  // NetVLAD1 frame-to-cluster logits [B*300, 1152]·[1152, 256]
    ->Args({48000, 1152, 256, 0, 1})
    ->Args({160, 278528, 1024, 0, 0})  // NetVLAD1 hidden layer [B, 278528]·[278528, 1024]
    ->Args({160, 278528, 1024, 0, 1})
    ->Args({278528, 160, 1024, 1, 0})  // its weight gradient [B, 278528]ᵀ·[B, 1024]
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

void BM_cuda_gather_rows(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  const int64_t rows = state.range(0), d = state.range(1);
  const Device dev = Device::cuda(0);
  const Tensor x = random_tensor({rows, d}, dev);
  const Tensor idx = random_rows(rows, rows, dev);
  Tensor out = Tensor::empty({rows, d}, DType::f32, dev);
  const int64_t row_bytes = d * static_cast<int64_t>(sizeof(float));
  cudaStream_t st = engine::cuda::compute_stream(0);
  time_cuda(state, [&] {
    ops::cuda::gather_rows(x.data_ptr(), idx.data_ptr(), false, out.data_ptr(), rows, rows,
                           row_bytes, st);
  });
  report_bandwidth(state, 2.0 * static_cast<double>(rows * row_bytes), cuda_copy_gbps());
}
BENCHMARK(BM_cuda_gather_rows)
    ->Args({160 * 300, 1152})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// Scatter-add backward (sort + run sums); bytes: dy read once, dx written once.
void BM_cuda_gather_rows_backward(benchmark::State& state) {
  if (skip_without_cuda(state)) return;
  const int64_t rows = state.range(0), d = state.range(1);
  const Device dev = Device::cuda(0);
  const Tensor dy = random_tensor({rows, d}, dev);
  const Tensor idx = random_rows(rows, rows, dev);
  Tensor dx = Tensor::empty({rows, d}, DType::f32, dev);
  const size_t ws_bytes = ops::cuda::gather_rows_backward_workspace(rows, rows);
  Tensor ws = Tensor::empty({static_cast<int64_t>(ws_bytes)}, DType::u8, dev);
  cudaStream_t st = engine::cuda::compute_stream(0);
  time_cuda(state, [&] {
    ops::cuda::gather_rows_backward(idx.data_ptr(), false, dy.data<float>(), dx.data<float>(), rows,
                                    rows, d, ws.data_ptr(), ws_bytes, st);
  });
  report_bandwidth(state, 2.0 * static_cast<double>(rows * d) * sizeof(float), cuda_copy_gbps());
}
BENCHMARK(BM_cuda_gather_rows_backward)
    ->Args({160 * 300, 1152})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
#endif

}  // namespace
}  // namespace y8m::bench
