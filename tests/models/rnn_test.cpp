// The recurrent models (models/rnn.h): SPEC §0.3 parameter counts of RNN1-RNN3, the variable names
// of SPEC §2.5, the topology (what is concatenated, which state feeds the head) against the ops
// composed by hand, gradients through the whole model, the MoE head (which crashed in the original)
// and --frame_shuffle.
#include "models/rnn.h"
#include "models/zoo.h"
#include "ops/ops.h"
#include "tests/models/model_test_util.h"

#include <gtest/gtest.h>

namespace y8m::models {
namespace {

using testing::count_elements;
using testing::expect_error;
using testing::names;

ModelConfig tiny(const std::string& model) {
  ModelConfig c = rnn_config(model, 4);
  c.feature_sizes = {3, 2};
  c.num_classes = 3;
  c.max_frames = 4;
  return c;
}

std::shared_ptr<VideoModel> f64(const ModelConfig& c, uint64_t seed = 4) {
  CreateOptions o;
  o.dtype = DType::f64;
  auto m = create_model(c, seed, Device::cpu(), o);
  testing::randomize(*m, seed + 100);
  return m;
}

// SPEC §0.3: RNN1/RNN2 (Lstmbidirect, 1024 cells, Logistic) and RNN3 (GRUbidirect, Logistic).
TEST(RecurrentModels, ParameterCountsOfRnn1To3) {
  CreateOptions o;
  o.skip_random_init = true;
  EXPECT_EQ(count_elements(*create_model(rnn_config("Lstmbidirect", 1024), 0, Device::cpu(), o)),
            19171094);
  EXPECT_EQ(count_elements(*create_model(rnn_config("GRUbidirect", 1024), 0, Device::cpu(), o)),
            15367958);
  // Appendix B's LSTM_bidirectv0_MoE: 35.0M with the MoE head (2 mixtures).
  ModelConfig moe = rnn_config("Lstmbidirect", 1024);
  moe.video_level_classifier_model = "MoeModel";
  EXPECT_EQ(count_elements(*create_model(moe, 0, Device::cpu(), o)),
            19171094 - 3958550 + 1024 * 3862 * 3 + 1024 * 3862 * 2 + 3862 * 2);
}

// Appendix B's GRU_BN_dualpath: 16.7M (BN statistics included).
TEST(RecurrentModels, ParameterCountOfGruBranchedBN) {
  CreateOptions o;
  o.skip_random_init = true;
  const int64_t video = 4 * 1024 * 2 + 1024 * 1024 + 2 * (1536 * 1024 + 1024 + 1536 * 512 + 512) +
                        2048 * 2048 + 2048 + 2048 * 1024 + 1024;
  const int64_t audio = 4 * 128 * 2 + 128 * 128 + 2 * (192 * 128 + 128 + 192 * 64 + 64) +
                        256 * 256 + 256 + 256 * 128 + 128;
  const int64_t n = count_elements(
      *create_model(rnn_config("GRUbidirect_branchedBN", 1024), 0, Device::cpu(), o));
  EXPECT_EQ(n, video + audio + 1152 * 3862 + 3862);
  EXPECT_EQ(n, 16716054);
}

TEST(RecurrentModels, VariableNamesFollowTheOriginal) {
  EXPECT_EQ(
      names(create_model(tiny("Lstmbidirect"), 0)->named_parameters()),
      (std::vector<std::string>{"bidirectional_rnn/fw/multi_rnn_cell/cell_0/basic_lstm_cell/kernel",
                                "bidirectional_rnn/fw/multi_rnn_cell/cell_0/basic_lstm_cell/bias",
                                "bidirectional_rnn/bw/multi_rnn_cell/cell_0/basic_lstm_cell/kernel",
                                "bidirectional_rnn/bw/multi_rnn_cell/cell_0/basic_lstm_cell/bias",
                                "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel",
                                "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias",
                                "fully_connected/weights", "fully_connected/biases"}));
  const auto gru = create_model(tiny("GRUbidirect"), 0)->named_parameters();
  EXPECT_EQ(gru.at(0).first, "bidirectional_rnn/fw/multi_rnn_cell/cell_0/gru_cell/gates/kernel");
  EXPECT_EQ(gru.at(3).first, "bidirectional_rnn/fw/multi_rnn_cell/cell_0/gru_cell/candidate/bias");
  // GRU gate bias 1, candidate bias 0; LSTM bias 0 (SPEC §6.5).
  EXPECT_EQ(gru.at(1).second.to_vector<float>(), std::vector<float>(4, 1.f));
  EXPECT_EQ(gru.at(3).second.to_vector<float>(), std::vector<float>(2, 0.f));
  ModelConfig stack = tiny("LstmModel");
  stack.lstm_layers = 2;
  const auto s = create_model(stack, 0)->named_parameters();
  EXPECT_EQ(s.at(2).first, "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel");
  EXPECT_EQ(s.at(0).second.shape(), (Shape{5 + 4, 16}));
  EXPECT_EQ(s.at(2).second.shape(), (Shape{4 + 4, 16}));
}

// Lstmbidirect: feature = final c of LSTM(C) over concat(fw, bw) (SPEC §3.4); GRUbidirect: final h.
TEST(RecurrentModels, TopologyMatchesTheOpsComposedByHand) {
  for (const std::string name : {"Lstmbidirect", "GRUbidirect"}) {
    SCOPED_TRACE(name);
    auto m = f64(tiny(name));
    m->eval();
    const std::vector<int32_t> nv = {4, 2, 0};
    const Tensor x = testing::frames(3, 4, 5, nv, 7), n = testing::num_frames(nv);
    engine::Generator g(1);
    const Tensor p = m->forward(x, n, g);
    const auto w = m->named_parameters();
    auto layer = [&](size_t i, const Tensor& in, bool rev, const char* out) {
      if (name == "GRUbidirect")
        return ops::gru(in, n, w[4 * i].second, w[4 * i + 1].second, w[4 * i + 2].second,
                        w[4 * i + 3].second, rev, out);
      return ops::lstm(in, n, w[2 * i].second, w[2 * i + 1].second, rev, out);
    };
    const Tensor y =
        ops::concat({layer(0, x, false, "sequence"), layer(1, x, true, "sequence")}, 2);
    const Tensor feat = layer(2, y, false, name == "Lstmbidirect" ? "final_c" : "final_h");
    const Tensor want =
        ops::sigmoid(ops::add(ops::matmul(feat, w[w.size() - 2].second), w[w.size() - 1].second));
    EXPECT_EQ(p.to_vector<double>(), want.to_vector<double>());
  }
}

TEST(RecurrentModels, GradcheckThroughEveryModelAndHead) {
  for (const std::string name : {"Lstmbidirect", "GRUbidirect", "LstmModel",
                                 "GRUbidirect_branchedBN", "attention_frames_v0"}) {
    for (const std::string head : {"LogisticModel", "MoeModel"}) {
      SCOPED_TRACE(name + " " + head);
      ModelConfig c = tiny(name);
      c.video_level_classifier_model = head;
      c.gating = name == "GRUbidirect" && head == "MoeModel";
      if (name == "GRUbidirect_branchedBN") c.feature_sizes = {4, 2};
      auto m = f64(c);
      const std::vector<int32_t> nv = {4, 1, 0};
      const Tensor x = testing::frames(3, 4, c.total_feature_size(), nv, 9);
      const Tensor n = testing::num_frames(nv);
      testing::expect_gradcheck(*m, [&] {
        engine::Generator g(1);
        return ops::sum(ops::sum(m->forward(x, n, g), 1), 0);
      });
    }
  }
}

// The original's MoE head on Lstmbidirect crashed in training (SPEC §16.10); here it trains.
TEST(RecurrentModels, MoeHeadTrainsOnLstmbidirect) {
  ModelConfig c = tiny("Lstmbidirect");
  c.video_level_classifier_model = "MoeModel";
  auto m = create_model(c, 3);
  const std::vector<int32_t> nv = {4, 3};
  const Tensor x = testing::frames(2, 4, 5, nv, 3, DType::f32), n = testing::num_frames(nv);
  engine::Generator g(1);
  autograd::backward(ops::sum(ops::sum(m->forward(x, n, g), 1), 0));
  for (const auto& [name, p] : m->named_parameters())
    EXPECT_TRUE(autograd::grad(p).defined()) << name;
}

TEST(RecurrentModels, FrameShufflePermutesValidFramesOnly) {
  ModelConfig c = tiny("Lstmbidirect");
  auto plain = f64(c);
  c.frame_shuffle = true;
  auto shuffled = f64(c);  // same seed: same weights
  EXPECT_TRUE(shuffled->samples_frames());
  EXPECT_FALSE(plain->samples_frames());
  const std::vector<int32_t> nv = {4, 1, 0};
  const Tensor x = testing::frames(3, 4, 5, nv, 5), n = testing::num_frames(nv);
  engine::Generator g1(2), g2(2);
  const std::vector<double> a = plain->forward(x, n, g1).to_vector<double>();
  const std::vector<double> b = shuffled->forward(x, n, g2).to_vector<double>();
  EXPECT_EQ(g1.offset(), 0u);
  EXPECT_GT(g2.offset(), 0u);
  // Videos of 0 and 1 valid frames are unchanged by any permutation; video 0 (4 frames) is not.
  for (int k = 3; k < 9; ++k) EXPECT_DOUBLE_EQ(a[k], b[k]) << k;
  EXPECT_NE(std::vector<double>(a.begin(), a.begin() + 3),
            std::vector<double>(b.begin(), b.begin() + 3));
}

// attention_frames_v0 (SPEC §3.6) by hand: softmax over all T slots, padding included.
TEST(RecurrentModels, AttentionFramesWeightsEverySlot) {
  ModelConfig c = tiny("attention_frames_v0");
  auto m = f64(c);
  m->eval();
  const std::vector<int32_t> nv = {4, 1};
  const Tensor x = testing::frames(2, 4, 5, nv, 5), n = testing::num_frames(nv);
  engine::Generator g(1);
  const std::vector<double> p = m->forward(x, n, g).to_vector<double>();
  const auto w = m->named_parameters();
  const auto bufs = m->named_buffers();
  std::vector<double> d;  // [B, 2*3 + 2*2], stream-major per video
  const std::vector<double> xv = x.to_vector<double>();
  for (int64_t b = 0; b < 2; ++b) {
    int64_t begin = 0, param = 0, buf = 0;
    for (int64_t fs : {3, 2}) {
      const auto beta_in = w[param].second.to_vector<double>(),
                 gamma_in = w[param + 1].second.to_vector<double>();
      const auto att = w[param + 2].second.to_vector<double>(),
                 fc = w[param + 3].second.to_vector<double>();
      const auto beta_c = w[param + 4].second.to_vector<double>(),
                 gamma_c = w[param + 5].second.to_vector<double>();
      const auto mean_in = bufs[buf].second.to_vector<double>(),
                 var_in = bufs[buf + 1].second.to_vector<double>();
      const auto mean_c = bufs[buf + 2].second.to_vector<double>(),
                 var_c = bufs[buf + 3].second.to_vector<double>();
      param += 6;
      buf += 4;
      std::vector<std::vector<double>> z(4, std::vector<double>(fs));
      std::vector<double> logit(4, 0.0);
      for (int64_t t = 0; t < 4; ++t)
        for (int64_t k = 0; k < fs; ++k) {
          z[t][k] = gamma_in[k] * (xv[(b * 4 + t) * 5 + begin + k] - mean_in[k]) /
                        std::sqrt(var_in[k] + 1e-3) +
                    beta_in[k];
          logit[t] += z[t][k] * att[k];
        }
      double mx = logit[0], den = 0;
      for (double l : logit) mx = std::max(mx, l);
      for (double l : logit) den += std::exp(l - mx);
      for (int64_t o = 0; o < 2 * fs; ++o) {
        double acc = 0;
        for (int64_t t = 0; t < 4; ++t) {
          double h = 0;
          for (int64_t k = 0; k < fs; ++k) h += z[t][k] * fc[k * 2 * fs + o];
          h = gamma_c[o] * (h - mean_c[o]) / std::sqrt(var_c[o] + 1e-3) + beta_c[o];
          acc += std::exp(logit[t] - mx) / den * std::min(std::max(h, 0.0), 6.0);
        }
        d.push_back(acc);
      }
      begin += fs;
    }
  }
  const auto hw = w[w.size() - 2].second.to_vector<double>(),
             hb = w.back().second.to_vector<double>();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t k = 0; k < 3; ++k) {
      double l = hb[k];
      for (int64_t j = 0; j < 10; ++j) l += d[b * 10 + j] * hw[j * 3 + k];
      EXPECT_NEAR(p[b * 3 + k], 1 / (1 + std::exp(-l)), 1e-12);
    }
}

TEST(RecurrentModels, ConfigErrorsNameTheFlag) {
  ModelConfig c = tiny("Lstmbidirect");
  c.lstm_cells = 5;
  expect_error([&] { create_model(c, 0); }, {"--lstm_cells", "even"});
  c = tiny("GRUbidirect");
  c.frame_shuffle = true;
  expect_error([&] { create_model(c, 0); }, {"--frame_shuffle", "GRUbidirect"});
  c = tiny("LstmModel");
  c.lstm_layers = 0;
  expect_error([&] { create_model(c, 0); }, {"--lstm_layers"});
  c = tiny("GRUbidirect_branchedBN");
  c.feature_sizes = {4, 2};
  c.gating = true;
  expect_error([&] { create_model(c, 0); }, {"--gating", "GRUbidirect_branchedBN"});
  c.gating = false;
  c.feature_sizes = {3, 2};
  expect_error([&] { create_model(c, 0); }, {"--feature_sizes", "even"});
  c = tiny("Lstmbidirect");
  c.frame_features = false;
  expect_error([&] { create_model(c, 0); }, {"Lstmbidirect", "--frame_features"});
}

}  // namespace
}  // namespace y8m::models
