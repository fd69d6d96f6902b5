// models/vlad.h and models/netvlad.h: NetVLAD pooling and NetVLADModelLF (SPEC §3.1): gradients of
// a tiny model under every flag, variable names, the parameter counts of SPEC §0.3, errors,
// determinism.
#include "models/netvlad.h"

#include "model_test_util.h"
#include "models/zoo.h"
#include "ops/fused/vlad.h"
#include "ops/matmul/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace y8m::models {
namespace {

using testing::count_elements;
using testing::expect_error;
using testing::expect_gradcheck;
using testing::expect_probabilities_and_gradients;
using testing::frames;
using testing::names;
using testing::num_frames;
using testing::randomize;
using testing::uniform;

TEST(NetVLADPooling, NamesShapesAndGradcheck) {
  for (bool light : {false, true}) {
    SCOPED_TRACE(light ? "lightvlad" : "netvlad");
    engine::Generator g(3);
    InitOptions o;
    o.dtype = DType::f64;
    Initializer init(g, o);
    NetVLAD vlad(init, 5, 3, light);
    std::vector<std::string> want = {"cluster_weights", "cluster_weights2", "cluster_bn/beta",
                                     "cluster_bn/gamma"};
    if (light) want.erase(want.begin() + 1);
    EXPECT_EQ(names(vlad.named_parameters()), want);
    randomize(vlad, 40);
    Tensor z = uniform({2 * 4, 5}, 2);
    EXPECT_EQ(vlad.forward(z, 2).shape(), (Shape{2, 15}));
    autograd::set_requires_grad(z, true);
    expect_gradcheck(vlad, [&] { return vlad.forward(z, 2); }, {z});
  }
}

ModelConfig tiny_config() {
  ModelConfig c = netvlad_config(4, 4);  // the final NetVLAD flags at toy sizes
  c.feature_sizes = {5, 3};
  c.num_classes = 3;
  c.max_frames = 4;
  c.iterations = 3;
  return c;
}

std::shared_ptr<VideoModel> tiny_model(const ModelConfig& c, uint64_t seed = 1) {
  CreateOptions o;
  o.dtype = DType::f64;
  return create_model(c, seed, Device::cpu(), o);
}

struct FlagCase {
  const char* label;
  std::function<void(ModelConfig&)> set;
};

// Every flag of NetVLADModelLF, each in at least one gradient check.
std::vector<FlagCase> flag_cases() {
  return {
      {"final_config", [](ModelConfig&) {}},
      {"relu+remove_diag",
       [](ModelConfig& c) {
         c.netvlad_relu = true;
         c.gating_remove_diag = true;
       }},
      {"lightvlad+no_gating+logistic_head",
       [](ModelConfig& c) {
         c.lightvlad = true;
         c.vlagd = true;  // ignored under lightvlad, as in the original
         c.gating = false;
         c.video_level_classifier_model = "LogisticModel";
       }},
      {"sample_all+low_rank+input_gating",
       [](ModelConfig& c) {
         c.iterations = 4;
         c.sample_all = true;
         c.moe_low_rank_gating = 2;
         c.moe_prob_gating_input = "input";
       }},
      {"random_sequence+no_prob_gating+3_mixtures",
       [](ModelConfig& c) {
         c.sample_random_frames = false;
         c.moe_prob_gating = false;
         c.moe_num_mixtures = 3;
       }},
  };
}

TEST(NetVLADModelLF, GradcheckOfTinyModelUnderEveryFlag) {
  const std::vector<int32_t> n = {4, 2, 3};
  const Tensor x = frames(3, 4, 8, n, 11);
  for (const FlagCase& fc : flag_cases()) {
    SCOPED_TRACE(fc.label);
    ModelConfig c = tiny_config();
    fc.set(c);
    auto m = tiny_model(c);
    randomize(*m, 200);
    expect_probabilities_and_gradients(*m, x, n, 3);
  }
}

TEST(NetVLADModelLF, VariableNamesOfTheFinalConfig) {
  auto m = tiny_model(tiny_config());
  std::vector<std::string> got = names(m->named_parameters());
  std::sort(got.begin(), got.end());
  std::vector<std::string> want = {"audio_VLAD/cluster_bn/beta",
                                   "audio_VLAD/cluster_bn/gamma",
                                   "audio_VLAD/cluster_weights",
                                   "audio_VLAD/cluster_weights2",
                                   "experts/biases",
                                   "experts/weights",
                                   "gates/weights",
                                   "gating_bn/beta",
                                   "gating_bn/gamma",
                                   "gating_prob_bn/beta",
                                   "gating_prob_bn/gamma",
                                   "gating_prob_weights",
                                   "gating_weights_2",
                                   "hidden1_biases",
                                   "hidden1_weights",
                                   "input_bn/beta",
                                   "input_bn/gamma",
                                   "video_VLAD/cluster_bn/beta",
                                   "video_VLAD/cluster_bn/gamma",
                                   "video_VLAD/cluster_weights",
                                   "video_VLAD/cluster_weights2"};
  EXPECT_EQ(got, want);
  std::vector<std::string> buffers = names(m->named_buffers());
  std::sort(buffers.begin(), buffers.end());
  EXPECT_EQ(buffers.size(), 5u * 2);
  EXPECT_EQ(buffers.front(), "audio_VLAD/cluster_bn/moving_mean");
  // relu: hidden1_bn replaces hidden1_biases.
  ModelConfig c = tiny_config();
  c.netvlad_relu = true;
  const auto relu_names = names(tiny_model(c)->named_parameters());
  EXPECT_EQ(std::count(relu_names.begin(), relu_names.end(), "hidden1_bn/gamma"), 1);
  EXPECT_EQ(std::count(relu_names.begin(), relu_names.end(), "hidden1_biases"), 0);
}

// SPEC §0.3: parameters including BN moving statistics (built without filling 1.2 GB).
TEST(NetVLADModelLF, ParameterCountsOfNetVLAD1And2) {
  CreateOptions o;
  o.skip_random_init = true;
  {
    auto m = create_model(netvlad_config(256, 1024), 0, Device::cpu(), o);
    EXPECT_EQ(count_elements(*m), 321541224);
    EXPECT_EQ(static_cast<NetVLADModelLF&>(*m).descriptor_size(), 278528);
  }
  auto m2 = create_model(netvlad_config(192, 992), 0, Device::cpu(), o);
  EXPECT_EQ(count_elements(*m2), 242731144);
}

TEST(NetVLADModelLF, DeterministicForASeed) {
  const ModelConfig c = tiny_config();
  auto a = tiny_model(c, 9), b = tiny_model(c, 9), other = tiny_model(c, 10);
  const auto pa = a->named_parameters(), pb = b->named_parameters(), po = other->named_parameters();
  bool any_diff = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].second.to_vector<double>(), pb[i].second.to_vector<double>()) << pa[i].first;
    any_diff |= pa[i].second.to_vector<double>() != po[i].second.to_vector<double>();
  }
  EXPECT_TRUE(any_diff);
  const std::vector<int32_t> n = {4, 1, 0};
  const Tensor x = frames(3, 4, 8, n, 3);
  engine::Generator ga(1), gb(1);
  EXPECT_EQ(a->forward(x, num_frames(n), ga).to_vector<double>(),
            b->forward(x, num_frames(n), gb).to_vector<double>());
  EXPECT_EQ(ga.offset(), engine::uniform_counters(3 * 3));
  EXPECT_EQ(ga.offset(), gb.offset());
}

TEST(NetVLADModelLF, EvalModeUsesMovingStatisticsAndLeavesThemAlone) {
  auto m = tiny_model(tiny_config());
  const std::vector<int32_t> n = {4, 4, 4};
  const Tensor x = frames(3, 4, 8, n, 3);
  m->eval();
  const auto before = m->named_buffers();
  std::vector<std::vector<double>> saved;
  for (const auto& kv : before) saved.push_back(kv.second.to_vector<double>());
  engine::Generator g(2);
  EXPECT_EQ(m->forward(x, num_frames(n), g).shape(), (Shape{3, 3}));
  for (size_t i = 0; i < before.size(); ++i)
    EXPECT_EQ(before[i].second.to_vector<double>(), saved[i]) << before[i].first;
  // A batch of one works in eval mode.
  engine::Generator g1(2);
  EXPECT_EQ(m->forward(frames(1, 4, 8, {2}, 4), num_frames({2}), g1).shape(), (Shape{1, 3}));
  m->train();
  engine::Generator g2(2);
  m->forward(x, num_frames(n), g2);
  EXPECT_NE(m->named_buffers()[0].second.to_vector<double>(), saved[0]);
}

TEST(NetVLADModelLF, UnsupportedFlagsAreClearErrors) {
  ModelConfig c = tiny_config();
  c.vlagd = true;
  expect_error([&] { tiny_model(c); }, {"NetVLADModelLF", "vlagd", "NameError"});
  c = tiny_config();
  c.netvlad_add_batch_norm = false;
  expect_error([&] { tiny_model(c); }, {"NetVLADModelLF", "netvlad_add_batch_norm"});
  c = tiny_config();
  c.feature_names = {"rgb"};
  c.feature_sizes = {8};
  expect_error([&] { tiny_model(c); }, {"NetVLADModelLF", "two feature streams"});
  c = tiny_config();
  c.sample_all = true;
  expect_error([&] { tiny_model(c); }, {"NetVLADModelLF", "sample_all"});
  c = tiny_config();
  c.netvlad_cluster_size = 1;
  expect_error([&] { tiny_model(c); }, {"netvlad_cluster_size"});
  c = tiny_config();
  c.video_level_classifier_model = "DbofModel";
  expect_error([&] { tiny_model(c); }, {"DbofModel", "MoeModel"});
  auto m = tiny_model(tiny_config());
  engine::Generator g(1);
  expect_error(
      [&] {
        m->forward(frames(2, 4, 7, {1, 1}, 1), num_frames({1, 1}), g);
      },
      {"NetVLADModelLF", "[2, 4, 7]"});
  expect_error(
      [&] {
        m->forward(frames(2, 4, 8, {1, 1}, 1), num_frames({1}), g);
      },
      {"NetVLADModelLF", "num_frames"});
}

}  // namespace
}  // namespace y8m::models
