// models/zoo.h and models/config.h: config map round trip, the registry, and the small models
// (LogisticModel, MoeModel, FrameLevelLogisticModel).
#include "models/zoo.h"

#include "model_test_util.h"
#include "models/baseline_models.h"

#include <gtest/gtest.h>

#include <set>

#include <cmath>

namespace y8m::models {
namespace {

using testing::expect_error;
using testing::expect_gradcheck;
using testing::frames;
using testing::names;
using testing::num_frames;
using testing::uniform;

TEST(ModelConfig, MapRoundTripIsExact) {
  ModelConfig weird = netvlad_config(192, 992);
  weird.moe_l2 = 0.1 + 0.2;  // not a short decimal
  weird.moe_prob_gating_input = "input";
  weird.moe_low_rank_gating = -1;
  weird.feature_names = {"rgb", "audio", "extra"};
  weird.feature_sizes = {1024, 128, 7};
  for (const ModelConfig& c : {ModelConfig(), netvlad_config(256, 1024), weird}) {
    const auto m = to_map(c);
    const ModelConfig back = config_from_map(m);
    EXPECT_TRUE(back == c);
    EXPECT_EQ(to_map(back), m);
    EXPECT_EQ(back.moe_l2, c.moe_l2);
  }
  const auto m = to_map(netvlad_config(256, 1024));
  EXPECT_EQ(m.at("feature_names"), "rgb,audio");
  EXPECT_EQ(m.at("feature_sizes"), "1024,128");
  EXPECT_EQ(m.at("gating"), "true");
  EXPECT_EQ(m.at("netvlad_relu"), "false");
  EXPECT_EQ(m.at("moe_l2"), "1e-06");
  EXPECT_EQ(m.at("model"), "NetVLADModelLF");
}

TEST(ModelConfig, DefaultsMissingKeysAndErrors) {
  const ModelConfig d;
  EXPECT_EQ(d.iterations, 30);
  EXPECT_EQ(d.netvlad_cluster_size, 64);
  EXPECT_EQ(d.moe_l2, 1e-8);
  EXPECT_TRUE(d.sample_random_frames);
  EXPECT_TRUE(d.netvlad_relu);
  EXPECT_EQ(d.video_level_classifier_model, "MoeModel");
  const ModelConfig c = config_from_map({{"model", "MoeModel"},
                                         {"feature_sizes", " 1024 , 128 "},
                                         {"feature_names", "rgb, audio"},
                                         {"gating", "1"}});
  EXPECT_EQ(c.model, "MoeModel");
  EXPECT_EQ(c.feature_sizes, (std::vector<int64_t>{1024, 128}));
  EXPECT_EQ(c.feature_names, (std::vector<std::string>{"rgb", "audio"}));
  EXPECT_TRUE(c.gating);
  EXPECT_EQ(c.iterations, 30);
  expect_error(
      [] {
        config_from_map({{"netvlad_clustersize", "3"}});
      },
      {"unknown key 'netvlad_clustersize'", "netvlad_cluster_size"});
  expect_error([] { config_from_map({{"iterations", "3x"}}); }, {"iterations", "3x"});
  expect_error([] { config_from_map({{"gating", "yes"}}); }, {"gating", "yes"});
  expect_error([] { config_from_map({{"moe_l2", ""}}); }, {"moe_l2"});
  ModelConfig bad;
  bad.feature_names = {"rgb", "audio"};
  expect_error([&] { validate(bad); }, {"feature_names", "feature_sizes"});
}

TEST(Zoo, UnknownModelListsTheKnownOnes) {
  ModelConfig c;
  c.model = "NetVLADModel";
  expect_error([&] { create_model(c, 0); },
               {"unknown model 'NetVLADModel'", "NetVLADModelLF", "NetFVModelLF",
                "GatedDbofModelLF", "SoftDbofModelLF", "DbofModel", "Lstmbidirect", "GRUbidirect",
                "LstmModel", "GRUbidirect_branchedBN", "attention_frames_v0",
                "FrameLevelLogisticModel", "LogisticModel", "MoeModel"});
  EXPECT_EQ(known_models().size(), 13u);
  const std::set<std::string> frame_level = {
      "NetVLADModelLF", "NetFVModelLF",           "GatedDbofModelLF",   "SoftDbofModelLF",
      "DbofModel",      "Lstmbidirect",           "GRUbidirect",        "FrameLevelLogisticModel",
      "LstmModel",      "GRUbidirect_branchedBN", "attention_frames_v0"};
  for (const std::string& name : known_models()) {
    ModelConfig k;
    k.model = name;
    if (name == "NetVLADModelLF") k = netvlad_config(4, 4);
    if (name == "NetFVModelLF") k = fvnet_config(4, 4);
    if (name == "GatedDbofModelLF" || name == "SoftDbofModelLF" || name == "DbofModel") {
      k = dbof_config(8, 4);
      k.model = name;
    }
    if (name == "Lstmbidirect" || name == "GRUbidirect" || name == "LstmModel" ||
        name == "GRUbidirect_branchedBN" || name == "attention_frames_v0") {
      k.frame_features = true;
      k.lstm_cells = 8;
      k.feature_names = {"rgb", "audio"};
      k.feature_sizes = {8, 4};
    }
    CreateOptions o;
    o.skip_random_init = true;
    auto m = create_model(k, 0, Device::cpu(), o);
    EXPECT_EQ(m->name(), name);
    EXPECT_TRUE(m->is_training());
    EXPECT_EQ(m->frame_level(), frame_level.count(name) == 1) << name;
  }
}

ModelConfig small(const std::string& model) {
  ModelConfig c;
  c.model = model;
  c.feature_names = {"rgb", "audio"};
  c.feature_sizes = {3, 2};
  c.num_classes = 4;
  c.max_frames = 3;
  return c;
}

std::shared_ptr<VideoModel> f64_model(const ModelConfig& c) {
  CreateOptions o;
  o.dtype = DType::f64;
  return create_model(c, 4, Device::cpu(), o);
}

TEST(LogisticModel, VideoLevelNamesRegularizerAndGradcheck) {
  auto m = f64_model(small("LogisticModel"));
  EXPECT_EQ(names(m->named_parameters()),
            (std::vector<std::string>{"fully_connected/weights", "fully_connected/biases"}));
  Tensor x = uniform({3, 5}, 1);
  engine::Generator g(0);
  EXPECT_EQ(m->forward(x, Tensor(), g).shape(), (Shape{3, 4}));
  EXPECT_EQ(g.offset(), 0u);  // no sampling
  double ww = 0;
  for (double v : m->named_parameters()[0].second.to_vector<double>()) ww += v * v;
  EXPECT_NEAR(m->regularization_loss().item<double>(), 1e-8 * ww / 2, 1e-22);
  autograd::set_requires_grad(x, true);
  expect_gradcheck(*m, [&] { return m->forward(x, Tensor(), g); }, {x});
  expect_error(
      [&] {
        m->forward(uniform({3, 2, 5}, 1), Tensor(), g);
      },
      {"LogisticModel", "[B, 5]"});
}

TEST(MoeModel, VideoLevelWithProbGatingGradcheck) {
  ModelConfig c = small("MoeModel");
  c.moe_prob_gating = true;
  c.gating_remove_diag = true;
  c.moe_l2 = 1e-6;
  auto m = f64_model(c);
  EXPECT_EQ(
      names(m->named_parameters()),
      (std::vector<std::string>{"gating_prob_weights", "gates/weights", "experts/weights",
                                "experts/biases", "gating_prob_bn/beta", "gating_prob_bn/gamma"}));
  for (auto& kv : m->named_parameters()) kv.second.copy_from(uniform(kv.second.shape(), 3));
  const Tensor x = uniform({3, 5}, 2);
  engine::Generator g(0);
  expect_gradcheck(*m, [&] { return m->forward(x, Tensor(), g); });
  const auto r = autograd::gradcheck(
      [&](const std::vector<Tensor>&) { return m->regularization_loss(); }, m->parameters());
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(FrameLevelLogisticModel, MeanOverValidFramesThenLogistic) {
  auto m = f64_model(small("FrameLevelLogisticModel"));
  const std::vector<int32_t> n = {3, 1, 0};
  Tensor x = frames(3, 3, 5, n, 6);
  engine::Generator g(0);
  const auto p = m->forward(x, num_frames(n), g).to_vector<double>();
  const auto w = m->named_parameters()[0].second.to_vector<double>();
  const auto xv = x.to_vector<double>();
  for (int b = 0; b < 3; ++b) {
    for (int c = 0; c < 4; ++c) {
      double z = 0;  // biases start at zero
      for (int f = 0; f < 5; ++f) {
        double mean = 0;
        for (int t = 0; t < 3; ++t) mean += xv[(b * 3 + t) * 5 + f];
        mean /= std::max(n[b], 1);
        z += mean * w[f * 4 + c];
      }
      EXPECT_NEAR(p[b * 4 + c], 1 / (1 + std::exp(-z)), 1e-14);
    }
  }
  EXPECT_EQ(p[8], 0.5);  // n = 0: zero features, sigmoid(0)
  autograd::set_requires_grad(x, true);
  expect_gradcheck(*m, [&] { return m->forward(x, num_frames(n), g); }, {x});
  expect_error([&] { m->forward(x, Tensor(), g); }, {"FrameLevelLogisticModel", "num_frames"});
}

}  // namespace
}  // namespace y8m::models
