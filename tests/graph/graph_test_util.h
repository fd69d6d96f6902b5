// Helpers of the graph tests: small configs of every zoo model variant, random inputs, a model with
// non-trivial batch-norm statistics, the eager computation the graph must reproduce (the
// evaluator's), and exact comparison.
#pragma once

#include "autograd/variable.h"
#include "engine/rng.h"
#include "models/zoo.h"
#include "ops/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace y8m::graph_testing {

struct Variant {
  std::string label;
  models::ModelConfig config;
};

inline models::ModelConfig small_netvlad() {
  models::ModelConfig c = models::netvlad_config(4, 8);  // gating, prob gating, no relu (final)
  c.feature_sizes = {6, 4};
  c.num_classes = 5;
  c.max_frames = 7;
  c.iterations = 5;
  return c;
}

// Every model of the zoo, and the NetVLAD flags that change the graph.
inline std::vector<Variant> zoo_variants() {
  std::vector<Variant> v;
  v.push_back({"NetVLAD_final", small_netvlad()});
  {
    models::ModelConfig c = small_netvlad();
    c.netvlad_relu = true;
    c.lightvlad = true;
    c.gating = false;
    c.moe_prob_gating = false;
    v.push_back({"NetVLAD_relu_lightvlad_nogating", c});
  }
  {
    models::ModelConfig c = small_netvlad();
    c.gating_remove_diag = true;
    c.moe_prob_gating_input = "hidden";
    c.moe_low_rank_gating = 3;
    v.push_back({"NetVLAD_removediag_hiddenprobgating_lowrank", c});
  }
  {
    models::ModelConfig c = small_netvlad();
    c.video_level_classifier_model = "LogisticModel";
    c.sample_random_frames = false;
    v.push_back({"NetVLAD_logistic_sequence", c});
  }
  {
    models::ModelConfig c = small_netvlad();
    c.sample_all = true;
    c.iterations = c.max_frames;
    v.push_back({"NetVLAD_sample_all", c});
  }
  {
    models::ModelConfig c = small_netvlad();
    c.model = "NetFVModelLF";
    c.fv_cluster_size = 4;
    c.fv_hidden_size = 8;
    c.fv_relu = false;
    c.fv_couple_weights = false;
    v.push_back({"NetFV_final", c});
    c.fv_relu = true;
    c.fv_couple_weights = true;
    c.gating = false;
    v.push_back({"NetFV_relu_coupled_nogating", c});
  }
  {
    models::ModelConfig c = small_netvlad();
    c.model = "GatedDbofModelLF";
    c.dbof_cluster_size = 16;
    c.dbof_hidden_size = 8;
    c.dbof_relu = false;
    c.moe_prob_gating = false;
    v.push_back({"GatedDbof_final", c});
    c.model = "SoftDbofModelLF";
    c.softdbof_maxpool = true;
    c.fc_dimred = false;
    v.push_back({"SoftDbof_maxpool_nodimred", c});
    c.model = "DbofModel";
    c.dbof_pooling_method = "average";
    v.push_back({"GoogleDbof_average", c});
  }
  {
    models::ModelConfig c;
    c.model = "FrameLevelLogisticModel";
    c.feature_names = {"rgb", "audio"};
    c.feature_sizes = {6, 4};
    c.frame_features = true;
    c.num_classes = 5;
    c.max_frames = 7;
    v.push_back({"FrameLevelLogistic", c});
  }
  {
    // The recurrent models (SPEC §3.4-3.6): lengths from num_frames inside the graph.
    models::ModelConfig c;
    c.model = "Lstmbidirect";
    c.feature_names = {"rgb", "audio"};
    c.feature_sizes = {6, 4};
    c.frame_features = true;
    c.num_classes = 5;
    c.max_frames = 7;
    c.lstm_cells = 6;
    c.video_level_classifier_model = "LogisticModel";
    v.push_back({"Lstmbidirect_logistic", c});
    c.video_level_classifier_model = "MoeModel";
    c.frame_shuffle = true;
    v.push_back({"Lstmbidirect_moe_frameshuffle", c});
    c.frame_shuffle = false;
    c.model = "GRUbidirect";
    c.gating = true;
    v.push_back({"GRUbidirect_moe_gating", c});
    c.gating = false;
    c.video_level_classifier_model = "LogisticModel";
    v.push_back({"GRUbidirect_logistic", c});
    c.model = "LstmModel";
    c.lstm_layers = 3;
    v.push_back({"LstmModel_3layers", c});
    c.model = "GRUbidirect_branchedBN";
    v.push_back({"GRUbidirect_branchedBN", c});
    c.model = "attention_frames_v0";
    v.push_back({"attention_frames_v0", c});
  }
  {
    models::ModelConfig c;
    c.model = "LogisticModel";
    c.feature_names = {"mean_rgb", "mean_audio"};
    c.feature_sizes = {6, 4};
    c.num_classes = 5;
    v.push_back({"VideoLogistic", c});
  }
  {
    models::ModelConfig c;
    c.model = "MoeModel";
    c.feature_names = {"mean_rgb", "mean_audio"};
    c.feature_sizes = {6, 4};
    c.num_classes = 5;
    c.moe_num_mixtures = 3;
    c.moe_prob_gating = true;
    v.push_back({"VideoMoe_probgating", c});
  }
  return v;
}

inline Tensor uniform_f32(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Tensor t = Tensor::empty(shape, DType::f32);
  engine::fill_uniform(t, seed, 0, lo, hi);
  return t;
}

// Random weights and batch-norm statistics, so that every term of the model matters.
inline std::shared_ptr<models::VideoModel> make_model(const models::ModelConfig& c, uint64_t seed) {
  auto m = models::create_model(c, seed, Device::cpu());
  uint64_t s = seed * 1000;
  for (const auto& [name, t] : m->named_buffers()) {
    const bool var = name.find("moving_variance") != std::string::npos;
    m->load_tensor(name, uniform_f32(t.shape(), ++s, var ? 0.5 : -0.2, var ? 1.5 : 0.2));
  }
  for (const auto& [name, t] : m->named_parameters()) {
    if (name.find("beta") != std::string::npos || name.find("gamma") != std::string::npos ||
        name.find("biases") != std::string::npos)
      m->load_tensor(name, uniform_f32(t.shape(), ++s, 0.5, 1.5));
  }
  m->eval();
  return m;
}

inline Tensor random_frames(int64_t b, int64_t t, int64_t f, uint64_t seed) {
  const std::vector<float> u = uniform_f32({b, t, f}, seed, 0.0, 256.0).to_vector<float>();
  std::vector<uint8_t> v(u.size());
  for (size_t i = 0; i < u.size(); ++i)
    v[i] = static_cast<uint8_t>(std::min(255.0f, std::floor(u[i])));
  return Tensor::from_vector(v, {b, t, f});
}

// Covers n = T, n = 0, n = 1 and random counts.
inline Tensor random_num_frames(int64_t b, int64_t t, uint64_t seed) {
  const std::vector<float> u = uniform_f32({b}, seed, 0.0, 1.0).to_vector<float>();
  std::vector<int32_t> n(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i)
    n[static_cast<size_t>(i)] =
        static_cast<int32_t>(std::floor(u[static_cast<size_t>(i)] * (t + 1)));
  const int32_t fixed[] = {static_cast<int32_t>(t), 0, 1};
  for (int64_t i = 0; i < std::min<int64_t>(b, 3); ++i) n[static_cast<size_t>(i)] = fixed[i];
  return Tensor::from_vector(n, {b});
}

// The graph inputs of a batch for `c` (frames/num_frames, or features).
inline std::map<std::string, Tensor> inputs_for(const models::ModelConfig& c, int64_t b,
                                                uint64_t seed) {
  const int64_t f = c.total_feature_size();
  if (!c.frame_features) return {{"features", uniform_f32({b, f}, seed, -1.0, 1.0)}};
  return {{"frames", random_frames(b, c.max_frames, f, seed)},
          {"num_frames", random_num_frames(b, c.max_frames, seed + 1)}};
}

// What pipeline/evaluator.cpp computes: inputs -> model (n_rounds averaged).
inline Tensor eager_predictions(models::VideoModel& m, const std::map<std::string, Tensor>& in,
                                int n_rounds, engine::Generator& gen) {
  autograd::NoGradGuard ng;
  Tensor x, n;
  if (m.frame_level()) {
    n = in.at("num_frames");
    x = ops::prepare_frames(in.at("frames"), n);
  } else {
    x = ops::l2_normalize(in.at("features"), -1);
  }
  Tensor p = m.forward(x, n, gen);
  for (int r = 1; r < n_rounds; ++r) p = ops::add(p, m.forward(x, n, gen));
  if (n_rounds > 1) p = ops::mul_scalar(p, 1.0 / n_rounds);
  return p;
}

inline bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  const Tensor ha = a.to(Device::cpu()), hb = b.to(Device::cpu());
  return a.nbytes() == 0 || std::memcmp(ha.data_ptr(), hb.data_ptr(), a.nbytes()) == 0;
}

}  // namespace y8m::graph_testing
