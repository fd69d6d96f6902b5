// The typed architecture configuration of a model: every flag of SPEC §5 that shapes the models of
// the zoo, with the original defaults (the final NetVLAD configs override several, see SPEC §0.3).
// The original persisted only a few of these (SPEC §16.17); here the whole config travels with the
// weights as a string map (checkpoint / archive metadata).
//
// Map form: the keys are the flag names below; values are written as
//   integers in decimal, booleans "true" / "false" (also read: "1" / "0"), doubles in the shortest
//   form that reads back to the same double, strings verbatim, lists comma-separated ("rgb,audio",
//   "1024,128"; whitespace around items is stripped on reading, as train.py does).
// from_map(to_map(c)) == c exactly. A key missing from the map keeps its default; an unknown key or
// a malformed value is an error naming the key.
#pragma once
#include "models/models_layer.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace y8m::models {

struct ModelConfig {
  // train.py / readers
  std::string model = "LogisticModel";                    // --model: a class name of the zoo
  std::vector<std::string> feature_names = {"mean_rgb"};  // --feature_names
  std::vector<int64_t> feature_sizes = {1024};            // --feature_sizes
  bool frame_features = false;  // --frame_features (input [B,T,ΣF] vs [B,ΣF])
  int64_t num_classes = 3862;   // vocabulary size V
  int64_t max_frames = 300;     // frame slots T of the reader

  // frame_level_models / model_utils: sampling
  int64_t iterations = 30;  // S
  bool sample_random_frames = true;
  bool sample_all = false;  // --sample_all (graph-build flag of eval.py)

  // devel_models: NetVLAD
  int64_t netvlad_cluster_size = 64;   // K (audio: K div 2)
  int64_t netvlad_hidden_size = 1024;  // H
  bool netvlad_add_batch_norm = true;
  bool netvlad_relu = true;
  bool gating = false;
  bool gating_remove_diag = false;
  bool lightvlad = false;
  bool vlagd = false;  // broken in the original: an error here
  std::string video_level_classifier_model = "MoeModel";

  // devel_models: NetFV (SPEC §3.2)
  int64_t fv_cluster_size = 64;   // K (audio: K div 2)
  int64_t fv_hidden_size = 2048;  // H
  bool fv_relu = true;
  bool fv_couple_weights = true;  // centres = fv_coupling_factor * cluster_weights (no variable)
  double fv_coupling_factor = 0.01;

  // devel_models: gated / soft DBoF (SPEC §3.3)
  int64_t dbof_cluster_size = 8192;  // K (audio: K div 8)
  int64_t dbof_hidden_size = 1024;   // H
  bool dbof_add_batch_norm = true;
  bool dbof_relu = true;
  bool fc_dimred = true;          // the hidden layer (else the head reads the pooled descriptor)
  bool softdbof_maxpool = false;  // soft-DBoF streams also emit the L2-normalized max-pool
  std::string dbof_pooling_method = "max";  // DbofModel: "max" or "average" over the frames

  // video_level_models: MoE head
  int64_t moe_num_mixtures = 2;
  double moe_l2 = 1e-8;
  int64_t moe_low_rank_gating = -1;
  bool moe_prob_gating = false;
  std::string moe_prob_gating_input = "prob";

  // y8m extension: decay of the batch-norm moving averages (slim's 0.999 needs thousands of steps
  // before evaluation-mode statistics settle; short runs such as the quickstart use less).
  double batch_norm_decay = 0.999;

  int64_t total_feature_size() const;  // ΣF
  bool operator==(const ModelConfig& o) const;
  bool operator!=(const ModelConfig& o) const { return !(*this == o); }
};

std::map<std::string, std::string> to_map(const ModelConfig& c);
ModelConfig config_from_map(const std::map<std::string, std::string>& m);

// Generic checks (list lengths, positive sizes); model-specific ones happen when a model is built.
void validate(const ModelConfig& c);

// The configs of SPEC §0.3 / Appendix A, for tests and as documented presets:
// NetVLAD1 (K 256, H 1024) and NetVLAD2 (K 192, H 992), rgb+audio frames, 300 iterations, no relu,
// gating, MoE with prob gating, moe_l2 1e-6.
ModelConfig netvlad_config(int64_t cluster_size, int64_t hidden_size);
// FVNet (K 96, H 1540): the same frame flags, NetFVModelLF with fv_relu and fv_couple_weights off,
// gating, MoE with prob gating, moe_l2 1e-6.
ModelConfig fvnet_config(int64_t cluster_size, int64_t hidden_size);
// DBoF1/2/3 (K 4096/6144/3684, H 1024/1536/920): GatedDbofModelLF, dbof_relu off, MoE without prob
// gating, moe_l2 1e-6.
ModelConfig dbof_config(int64_t cluster_size, int64_t hidden_size);

}  // namespace y8m::models
