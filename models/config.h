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

// The one list of model flags: X(type, name, default, help). It generates the ModelConfig fields
// below, their map form (config.cpp) and the apps' command-line flags (apps/common/app_flags.cpp),
// so a new flag is one row here plus the code that reads it. Lists are written `Names{...}` /
// `Ints{...}` in parentheses; on the command line they are comma-separated strings.
#define Y8M_MODEL_FLAGS(X)                                                                        \
  /* train.py / readers */                                                                        \
  X(std::string, model, "LogisticModel",                                                          \
    "model class: NetVLADModelLF, NetFVModelLF, GatedDbofModelLF, SoftDbofModelLF, DbofModel, "   \
    "Lstmbidirect, GRUbidirect, GRUbidirect_branchedBN, LstmModel, attention_frames_v0, "         \
    "FrameLevelLogisticModel, "                                                                   \
    "LogisticModel, MoeModel")                                                                    \
  X(Names, feature_names, (Names{"mean_rgb"}), "comma-separated feature names")                   \
  X(Ints, feature_sizes, (Ints{1024}), "comma-separated feature sizes")                           \
  X(bool, frame_features, false, "frame-level (true) or video-level (false) records")             \
  X(int64_t, num_classes, 3862, "vocabulary size")                                                \
  X(int64_t, max_frames, 300, "frame slots per video")                                            \
  /* frame_level_models / model_utils: sampling */                                                \
  X(int64_t, iterations, 30, "frames sampled per video")                                          \
  X(bool, sample_random_frames, true, "random frames (true) or a random sequence")                \
  X(bool, sample_all, false, "keep every valid frame in order (needs iterations = max_frames)")   \
  /* devel_models: NetVLAD */                                                                     \
  X(int64_t, netvlad_cluster_size, 64, "NetVLAD clusters K (audio K div 2)")                      \
  X(int64_t, netvlad_hidden_size, 1024, "NetVLAD hidden width H")                                 \
  X(bool, netvlad_add_batch_norm, true, "batch norm on inputs and assignments")                   \
  X(bool, netvlad_relu, true, "relu6(BN(h)) instead of a bias on the hidden layer")               \
  X(bool, gating, false, "context gating on the hidden layer")                                    \
  X(bool, gating_remove_diag, false, "remove the diagonal of the gating weights")                 \
  X(bool, lightvlad, false, "NetRVLAD (no cluster centres)")                                      \
  X(bool, vlagd, false, "NetVLAGD (broken in the original; an error)")                            \
  X(std::string, video_level_classifier_model, "MoeModel", "classifier head")                     \
  /* devel_models: NetFV (SPEC §3.2) */                                                          \
  X(int64_t, fv_cluster_size, 64, "NetFV clusters K (audio: K div 2)")                            \
  X(int64_t, fv_hidden_size, 2048, "NetFV hidden width H")                                        \
  X(bool, fv_relu, true, "NetFV hidden layer: BN + relu6 (true) or a plain bias (false)")         \
  X(bool, fv_couple_weights, true,                                                                \
    "NetFV centres tied to the assignment weights (times --fv_coupling_factor)")                  \
  X(double, fv_coupling_factor, 0.01, "NetFV coupling factor")                                    \
  /* devel_models: gated / soft DBoF (SPEC §3.3) */                                              \
  X(int64_t, dbof_cluster_size, 8192, "DBoF clusters K (audio: K div 8)")                         \
  X(int64_t, dbof_hidden_size, 1024, "DBoF hidden width H")                                       \
  X(bool, dbof_add_batch_norm, true,                                                              \
    "DBoF batch norms (must be true: the original's no-BN branch cannot run)")                    \
  X(bool, dbof_relu, true, "DBoF hidden layer: BN + relu6 (true) or a plain bias (false)")        \
  X(bool, fc_dimred, true, "DBoF hidden layer (else the head reads the pooling)")                 \
  X(bool, softdbof_maxpool, false,                                                                \
    "soft-DBoF streams add the L2-normalized max-pool of the assignments")                        \
  X(std::string, dbof_pooling_method, "max", "DbofModel pooling over the frames: max or average") \
  /* frame_level_models: recurrent models (SPEC §3.4-3.6) */                                     \
  X(int64_t, lstm_cells, 1024,                                                                    \
    "recurrent width C (Lstmbidirect/GRUbidirect: C/2 per direction, then C)")                    \
  X(int64_t, lstm_layers, 2, "LstmModel: stacked LSTM layers")                                    \
  X(bool, frame_shuffle, false,                                                                   \
    "Lstmbidirect: permute each video's valid frames randomly (train and eval)")                  \
  /* video_level_models: MoE head */                                                              \
  X(int64_t, moe_num_mixtures, 2, "experts per class")                                            \
  X(double, moe_l2, 1e-8, "L2 scale on the MoE weights")                                          \
  X(int64_t, moe_low_rank_gating, -1, "rank of the gate weights (-1: full)")                      \
  X(bool, moe_prob_gating, false, "context gating on the output probabilities")                   \
  X(std::string, moe_prob_gating_input, "prob", "prob gating input: prob or the head input")      \
  /* y8m extension: slim's 0.999 needs thousands of steps before evaluation-mode statistics */    \
  /* settle; short runs such as the quickstart use less. */                                       \
  X(double, batch_norm_decay, 0.999,                                                              \
    "y8m: decay of the batch-norm moving averages (slim's 0.999; less for short runs)")

struct ModelConfig {
  using Names = std::vector<std::string>;
  using Ints = std::vector<int64_t>;

#define Y8M_MODEL_CONFIG_FIELD(type, name, default_value, help) type name = default_value;
  Y8M_MODEL_FLAGS(Y8M_MODEL_CONFIG_FIELD)
#undef Y8M_MODEL_CONFIG_FIELD

  int64_t total_feature_size() const;  // ΣF
  bool operator==(const ModelConfig& o) const;
  bool operator!=(const ModelConfig& o) const { return !(*this == o); }
};

std::map<std::string, std::string> to_map(const ModelConfig& c);
ModelConfig config_from_map(const std::map<std::string, std::string>& m);
// Sets one field from its map form (a list is comma-separated); an unknown key or a malformed value
// is an error naming the key.
void set_config_value(ModelConfig& c, const std::string& key, const std::string& value);

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
// RNN1/RNN2 (`model` Lstmbidirect) and RNN3 (GRUbidirect), `cells` = --lstm_cells (1024 in the
// xlsx): rgb+audio frames, LogisticModel head.
ModelConfig rnn_config(const std::string& model, int64_t cells);

}  // namespace y8m::models
