// CUDA vs CPU for whole models (skipped without a device): the same seed gives the same initial
// weights on both backends, and NetVLADModelLF, NetFVModelLF and the DBoF models with the real
// feature and class sizes give the same probabilities and parameter gradients for the same sampling
// generator; so do the recurrent models.
#include "models/zoo.h"

#include "autograd/variable.h"
#include "engine/device.h"
#include "model_test_util.h"
#include "ops/nn/loss.h"

#include <gtest/gtest.h>

#include <cmath>

namespace y8m::models {
namespace {

using testing::frames;
using testing::num_frames;
using testing::uniform;

void expect_close(const Tensor& gpu, const Tensor& cpu, double atol, double rtol,
                  const std::string& what) {
  const auto g = gpu.to_vector<double>(), c = cpu.to_vector<double>();
  ASSERT_EQ(g.size(), c.size()) << what;
  for (size_t i = 0; i < g.size(); ++i) {
    if (!(std::fabs(g[i] - c[i]) <= atol + rtol * std::fabs(c[i]))) {
      ADD_FAILURE() << what << " element " << i << ": cuda " << g[i] << " vs cpu " << c[i];
      return;
    }
  }
}

ModelConfig real_width_config() {
  ModelConfig c = netvlad_config(8, 32);  // real 1024 + 128 features, 3862 classes, 300 samples
  return c;
}

TEST(ModelsCuda, InitializationMatchesCpu) {
  Y8M_REQUIRE_CUDA();
  const ModelConfig c = real_width_config();
  auto cpu = create_model(c, 123, Device::cpu());
  auto gpu = create_model(c, 123, Device::cuda(0));
  const auto pc = cpu->named_parameters(), pg = gpu->named_parameters();
  ASSERT_EQ(pc.size(), pg.size());
  for (size_t i = 0; i < pc.size(); ++i) {
    ASSERT_EQ(pc[i].first, pg[i].first);
    EXPECT_TRUE(pg[i].second.device().is_cuda());
    // Uniforms are bit-exact; normals agree within float rounding of the same double Box-Muller.
    expect_close(pg[i].second, pc[i].second, 1e-7, 1e-6, pc[i].first);
  }
}

// The same weights on both devices: predictions and every parameter gradient agree, in training
// and evaluation mode.
void check_forward_and_gradients(const ModelConfig& c) {
  auto cpu = create_model(c, 7, Device::cpu());
  auto gpu = create_model(c, 7, Device::cuda(0));
  // Same weights on both (copy the CPU ones so only the forward/backward is compared).
  for (const auto& kv : cpu->named_parameters()) gpu->load_tensor(kv.first, kv.second);
  const std::vector<int32_t> n = {300, 17, 1, 0};
  const Tensor x = frames(4, 300, 1152, n, 5, DType::f32);
  const Tensor labels = uniform({4, 3862}, 6, 0.0, 1.0, DType::f32);
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "train" : "eval");
    cpu->train(training);
    gpu->train(training);
    cpu->zero_grad();
    gpu->zero_grad();
    engine::Generator gc(3), gg(3);
    const Tensor pc = cpu->forward(x, num_frames(n), gc);
    const Tensor pg = gpu->forward(x.to(Device::cuda(0)), num_frames(n), gg);
    EXPECT_EQ(gc.offset(), gg.offset());
    expect_close(pg, pc, 1e-5, 1e-4, "predictions");
    autograd::backward(ops::sigmoid_cross_entropy(pc, labels));
    autograd::backward(ops::sigmoid_cross_entropy(pg, labels.to(Device::cuda(0))));
    const auto gcpu = cpu->named_parameters(), ggpu = gpu->named_parameters();
    for (size_t i = 0; i < gcpu.size(); ++i) {
      const Tensor a = autograd::grad(ggpu[i].second), b = autograd::grad(gcpu[i].second);
      ASSERT_TRUE(a.defined() && b.defined()) << gcpu[i].first;
      expect_close(a, b, 1e-4, 1e-3, gcpu[i].first);
    }
  }
}

// Real widths (1024 + 128 features, 3862 classes, 300 samples), small K and H.
std::vector<ModelConfig> pooling_models() {
  ModelConfig soft = dbof_config(64, 32);
  soft.model = "SoftDbofModelLF";
  soft.softdbof_maxpool = true;
  return {real_width_config(), fvnet_config(8, 32), dbof_config(64, 32), soft};
}

TEST(ModelsCuda, PoolingModelsForwardAndGradientsMatchCpu) {
  Y8M_REQUIRE_CUDA();
  for (const ModelConfig& c : pooling_models()) {
    SCOPED_TRACE(c.model);
    check_forward_and_gradients(c);
  }
}

// The recurrent models at the real widths (1152 features, 300 frames, 3862 classes) with 32 cells,
// MoE heads, --frame_shuffle and GRU gating on: lengths 300, 17, 1 and 0.
TEST(ModelsCuda, RecurrentModelsForwardAndGradientsMatchCpu) {
  Y8M_REQUIRE_CUDA();
  ModelConfig c;
  c.feature_names = {"rgb", "audio"};
  c.feature_sizes = {1024, 128};
  c.frame_features = true;
  c.lstm_cells = 32;
  for (const std::string name : {"Lstmbidirect", "GRUbidirect", "LstmModel"}) {
    SCOPED_TRACE(name);
    c.model = name;
    c.frame_shuffle = name == "Lstmbidirect";
    c.gating = name == "GRUbidirect";
    check_forward_and_gradients(c);
  }
}

}  // namespace
}  // namespace y8m::models
