// Training throughput (examples/s), one full step: frame preparation, forward, cross-entropy +
// regularization, backward, clipped Adam. CPU: quickstart-sized NetVLAD (K 16, H 256), NetFV (K 16,
// H 256) and gated DBoF (K 512, H 256), S 30, batch 64; CUDA: the full configs of SPEC §0.3 at
// their batch sizes (NetVLAD1 160, FVNet 80, DBoF1 80; S 300, 3862 classes). The recurrent models:
// RNN1 / RNN3 on CUDA, 128 cells on the CPU.
#include "autograd/optim.h"
#include "bench/bench_util.h"
#include "engine/rng.h"
#include "engine/stream.h"
#include "models/zoo.h"
#include "ops/ops.h"

namespace {

using namespace y8m;

struct Step {
  std::shared_ptr<models::VideoModel> model;
  std::unique_ptr<autograd::Adam> adam;
  Tensor frames, num_frames_dev, num_frames_host, labels;
  engine::Generator gen{1};

  Step(const models::ModelConfig& c, int64_t B, Device dev) {
    model = models::create_model(c, 1, dev);
    autograd::AdamOptions o;
    o.clip_norm = 1.0;
    adam = std::make_unique<autograd::Adam>(model->named_parameters(), o);
    Tensor f = Tensor::empty({B, c.max_frames, c.total_feature_size()});
    engine::fill_uniform(f, 7, 0, 0.0, 255.0);
    frames = f.to(DType::u8).to(dev);
    std::vector<int32_t> n(static_cast<size_t>(B));
    for (int64_t i = 0; i < B; ++i)
      n[static_cast<size_t>(i)] = static_cast<int32_t>(c.max_frames / 2 + i % (c.max_frames / 2));
    num_frames_host = Tensor::from_vector<int32_t>(n, {B});
    num_frames_dev = num_frames_host.to(dev);
    Tensor y = Tensor::empty({B, c.num_classes});
    engine::fill_uniform(y, 9, 0, 0.0, 1.0);
    labels = ops::relu(ops::add_scalar(y, -0.999)).to(dev);  // a few positives per video
    labels = ops::div(labels, ops::add_scalar(labels, 1e-30));
  }
  void run() {
    Tensor x;
    {
      autograd::NoGradGuard ng;
      x = ops::prepare_frames(frames, num_frames_dev);
    }
    Tensor p = model->forward(x, num_frames_host, gen);
    Tensor loss = ops::add(ops::sigmoid_cross_entropy(p, labels), model->regularization_loss());
    model->zero_grad();
    autograd::backward(loss);
    adam->step(2e-4);
  }
};

// arg: 0 NetVLADModelLF, 1 NetFVModelLF, 2 GatedDbofModelLF.
models::ModelConfig quickstart_config(int64_t which) {
  models::ModelConfig c = which == 0   ? models::netvlad_config(16, 256)
                          : which == 1 ? models::fvnet_config(16, 256)
                                       : models::dbof_config(512, 256);
  c.iterations = 30;
  return c;
}

void BM_TrainStepCpuQuickstart(benchmark::State& state) {
  const models::ModelConfig c = quickstart_config(state.range(0));
  state.SetLabel(c.model);
  const int64_t B = 64;
  Step s(c, B, Device::cpu());
  s.run();
  for (auto _ : state) s.run();
  state.counters["examples/s"] =
      benchmark::Counter(static_cast<double>(B * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TrainStepCpuQuickstart)
    ->ArgName("model")
    ->DenseRange(0, 2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);

// arg: 0 NetVLAD1 (batch 160), 1 FVNet (80), 2 DBoF1 (80).
void BM_TrainStepCudaFullConfig(benchmark::State& state) {
  if (bench::skip_without_cuda(state)) return;
  const int64_t which = state.range(0);
  const models::ModelConfig c = which == 0   ? models::netvlad_config(256, 1024)
                                : which == 1 ? models::fvnet_config(96, 1540)
                                             : models::dbof_config(4096, 1024);
  state.SetLabel(c.model);
  const int64_t B = which == 0 ? 160 : 80;
  Step s(c, B, Device::cuda(0));
  bench::time_cuda(state, [&] { s.run(); });
  state.counters["examples/s"] =
      benchmark::Counter(static_cast<double>(B * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TrainStepCudaFullConfig)
    ->ArgName("config")
    ->DenseRange(0, 2)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(5.0);

// The recurrent models (SPEC §3.4-3.5), Logistic head, 300 frame slots with lengths 150..299.
models::ModelConfig rnn_config(int64_t which, int64_t cells) {
  return models::rnn_config(which == 0 ? "Lstmbidirect" : "GRUbidirect", cells);
}

// CPU: a reduced RNN1/RNN3 (128 cells, batch 16): the full size (1024 cells, batch 256) is
// ~3 TFLOP per step, minutes on two cores.
void BM_TrainStepCpuRnn(benchmark::State& state) {
  const models::ModelConfig c = rnn_config(state.range(0), 128);
  state.SetLabel(c.model + " cells 128");
  const int64_t B = 16;
  Step s(c, B, Device::cpu());
  s.run();
  for (auto _ : state) s.run();
  state.counters["examples/s"] =
      benchmark::Counter(static_cast<double>(B * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TrainStepCpuRnn)
    ->ArgName("model")
    ->DenseRange(0, 1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);

// CUDA: RNN1 (Lstmbidirect, 1024 cells, batch 256) and RNN3 (GRUbidirect, 1024 cells, batch 220).
void BM_TrainStepCudaRnn(benchmark::State& state) {
  if (bench::skip_without_cuda(state)) return;
  const models::ModelConfig c = rnn_config(state.range(0), 1024);
  state.SetLabel(state.range(0) == 0 ? "RNN1" : "RNN3");
  const int64_t B = state.range(0) == 0 ? 256 : 220;
  Step s(c, B, Device::cuda(0));
  bench::time_cuda(state, [&] { s.run(); });
  state.counters["examples/s"] =
      benchmark::Counter(static_cast<double>(B * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TrainStepCudaRnn)
    ->ArgName("config")
    ->DenseRange(0, 1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(5.0);

}  // namespace
