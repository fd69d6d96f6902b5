// Benchmarks of the reduce family at the model's shapes: softmax over rows of 256 (e.g. MoE gates
// of 48000 frames) and of 3862 classes, l2_normalize over 1152 features of 48000 frames (forward
// and backward), and mean over 300 frames of [160, 300, 1152]. All are memory-bound, so each
// reports GB/s (every input read once, the output written once) beside the copy roof measured in
// the same run. The kernels are called directly (no allocation or autograd in the timed loop).
#include "bench/bench_util.h"
#include "ops/reduce/reduce_kernels.h"

#ifdef Y8M_WITH_CUDA
#include "engine/cuda_context.h"
#endif

namespace y8m::bench {
namespace {

enum class Op { softmax_forward, softmax_backward, l2_forward, l2_backward, mean_axis };

// One problem of shape [outer, n, inner] (softmax and l2_normalize use inner = 1: rows of n).
struct Problem {
  int64_t outer, n, inner;
  Tensor in0, in1, out;
};

Problem make_problem(Op op, const benchmark::State& state, Device device) {
  Problem p{state.range(0), state.range(1), state.range(2), {}, {}, {}};
  const Shape shape{p.outer, p.n, p.inner};
  p.in0 = random_tensor(shape, device, 1);
  if (op == Op::softmax_backward || op == Op::l2_backward) p.in1 = random_tensor(shape, device, 2);
  const Shape out_shape = op == Op::mean_axis ? Shape{p.outer, p.inner} : shape;
  p.out = Tensor::empty(out_shape, DType::f32, device);
  return p;
}

double bytes_moved(const Problem& p) {
  return static_cast<double>(p.in0.nbytes() + (p.in1.defined() ? p.in1.nbytes() : 0) +
                             p.out.nbytes());
}

void run_cpu(Op op, Problem& p) {
  const float* a = p.in0.data<float>();
  const float* b = p.in1.defined() ? p.in1.data<float>() : nullptr;
  float* y = p.out.data<float>();
  switch (op) {
    case Op::softmax_forward:
      ops::cpu::softmax_forward<float>(a, y, p.outer, p.n);
      break;
    case Op::softmax_backward:
      ops::cpu::softmax_backward<float>(a, b, y, p.outer, p.n);
      break;
    case Op::l2_forward:
      ops::cpu::l2_normalize_forward<float>(a, y, p.outer, p.n, p.inner);
      break;
    case Op::l2_backward:
      ops::cpu::l2_normalize_backward<float>(a, b, y, p.outer, p.n, p.inner);
      break;
    case Op::mean_axis:
      ops::cpu::reduce_axis<float>(ops::ReduceKind::mean, a, y, nullptr, p.outer, p.n, p.inner);
      break;
  }
}

void bm_cpu(benchmark::State& state, Op op) {
  Problem p = make_problem(op, state, Device::cpu());
  for (auto _ : state) {
    run_cpu(op, p);
    benchmark::ClobberMemory();
  }
  report_bandwidth(state, bytes_moved(p), cpu_copy_gbps());
}

#ifdef Y8M_WITH_CUDA
void run_cuda(Op op, Problem& p, cudaStream_t st) {
  const float* a = p.in0.data<float>();
  const float* b = p.in1.defined() ? p.in1.data<float>() : nullptr;
  float* y = p.out.data<float>();
  switch (op) {
    case Op::softmax_forward:
      ops::cuda::softmax_forward(a, y, p.outer, p.n, st);
      break;
    case Op::softmax_backward:
      ops::cuda::softmax_backward(a, b, y, p.outer, p.n, st);
      break;
    case Op::l2_forward:
      ops::cuda::l2_normalize_forward(a, y, p.outer, p.n, p.inner, st);
      break;
    case Op::l2_backward:
      ops::cuda::l2_normalize_backward(a, b, y, p.outer, p.n, p.inner, st);
      break;
    case Op::mean_axis:
      ops::cuda::reduce_axis(ops::ReduceKind::mean, a, y, nullptr, p.outer, p.n, p.inner, st);
      break;
  }
}
#endif

void bm_cuda(benchmark::State& state, Op op) {
  if (skip_without_cuda(state)) return;
#ifdef Y8M_WITH_CUDA
  Problem p = make_problem(op, state, Device::cuda(0));
  cudaStream_t st = engine::cuda::compute_stream(0);
  time_cuda(state, [&] { run_cuda(op, p, st); });
  report_bandwidth(state, bytes_moved(p), cuda_copy_gbps());
#endif
}

// Args: {outer, n, inner}.
void softmax_shapes(benchmark::internal::Benchmark* b) {
  b->Args({48000, 256, 1})->Args({160, 3862, 1});
}
void l2_shapes(benchmark::internal::Benchmark* b) { b->Args({48000, 1152, 1}); }
void frame_mean_shapes(benchmark::internal::Benchmark* b) { b->Args({160, 300, 1152}); }

BENCHMARK_CAPTURE(bm_cpu, softmax_forward, Op::softmax_forward)
    ->Apply(softmax_shapes)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_cpu, softmax_backward, Op::softmax_backward)
    ->Apply(softmax_shapes)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_cpu, l2_normalize_forward, Op::l2_forward)
    ->Apply(l2_shapes)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_cpu, l2_normalize_backward, Op::l2_backward)
    ->Apply(l2_shapes)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_cpu, mean_frames, Op::mean_axis)
    ->Apply(frame_mean_shapes)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK_CAPTURE(bm_cuda, softmax_forward, Op::softmax_forward)
    ->Apply(softmax_shapes)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_cuda, softmax_backward, Op::softmax_backward)
    ->Apply(softmax_shapes)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_cuda, l2_normalize_forward, Op::l2_forward)
    ->Apply(l2_shapes)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_cuda, l2_normalize_backward, Op::l2_backward)
    ->Apply(l2_shapes)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(bm_cuda, mean_frames, Op::mean_axis)
    ->Apply(frame_mean_shapes)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace y8m::bench
