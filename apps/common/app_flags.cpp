#include "apps/common/app_flags.h"

#include "engine/error.h"

#include <absl/flags/flag.h>
#include <absl/flags/reflection.h>
#include <fmt/format.h>

#include <cstdio>

namespace {
const y8m::models::ModelConfig kDefaults;
std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}
std::string join_ints(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}
}  // namespace

// Model flags (frame_level_models, devel_models, video_level_models, model_utils; SPEC §5). Their
// names are the ModelConfig keys.
ABSL_FLAG(std::string, model, kDefaults.model,
          "model class: NetVLADModelLF, NetFVModelLF, GatedDbofModelLF, SoftDbofModelLF, "
          "FrameLevelLogisticModel, LogisticModel, MoeModel");
ABSL_FLAG(std::string, feature_names, join(kDefaults.feature_names),
          "comma-separated feature names");
ABSL_FLAG(std::string, feature_sizes, join_ints(kDefaults.feature_sizes),
          "comma-separated feature sizes");
ABSL_FLAG(bool, frame_features, kDefaults.frame_features,
          "frame-level (true) or video-level (false) records");
ABSL_FLAG(int64_t, num_classes, kDefaults.num_classes, "vocabulary size");
ABSL_FLAG(int64_t, max_frames, kDefaults.max_frames, "frame slots per video");
ABSL_FLAG(int64_t, iterations, kDefaults.iterations, "frames sampled per video");
ABSL_FLAG(bool, sample_random_frames, kDefaults.sample_random_frames,
          "random frames (true) or a random sequence");
ABSL_FLAG(bool, sample_all, kDefaults.sample_all,
          "keep every valid frame in order (needs iterations = max_frames)");
ABSL_FLAG(int64_t, netvlad_cluster_size, kDefaults.netvlad_cluster_size,
          "NetVLAD clusters K (audio K div 2)");
ABSL_FLAG(int64_t, netvlad_hidden_size, kDefaults.netvlad_hidden_size, "NetVLAD hidden width H");
ABSL_FLAG(bool, netvlad_add_batch_norm, kDefaults.netvlad_add_batch_norm,
          "batch norm on inputs and assignments");
ABSL_FLAG(bool, netvlad_relu, kDefaults.netvlad_relu,
          "relu6(BN(h)) instead of a bias on the hidden layer");
ABSL_FLAG(bool, gating, kDefaults.gating, "context gating on the hidden layer");
ABSL_FLAG(bool, gating_remove_diag, kDefaults.gating_remove_diag,
          "remove the diagonal of the gating weights");
ABSL_FLAG(bool, lightvlad, kDefaults.lightvlad, "NetRVLAD (no cluster centres)");
ABSL_FLAG(bool, vlagd, kDefaults.vlagd, "NetVLAGD (broken in the original; an error)");
ABSL_FLAG(std::string, video_level_classifier_model, kDefaults.video_level_classifier_model,
          "classifier head");
ABSL_FLAG(int64_t, fv_cluster_size, kDefaults.fv_cluster_size, "NetFV clusters K (audio: K div 2)");
ABSL_FLAG(int64_t, fv_hidden_size, kDefaults.fv_hidden_size, "NetFV hidden width H");
ABSL_FLAG(bool, fv_relu, kDefaults.fv_relu,
          "NetFV hidden layer: BN + relu6 (true) or a plain bias (false)");
ABSL_FLAG(bool, fv_couple_weights, kDefaults.fv_couple_weights,
          "NetFV centres tied to the assignment weights (times --fv_coupling_factor)");
ABSL_FLAG(double, fv_coupling_factor, kDefaults.fv_coupling_factor, "NetFV coupling factor");
ABSL_FLAG(int64_t, dbof_cluster_size, kDefaults.dbof_cluster_size,
          "DBoF clusters K (audio: K div 8)");
ABSL_FLAG(int64_t, dbof_hidden_size, kDefaults.dbof_hidden_size, "DBoF hidden width H");
ABSL_FLAG(bool, dbof_add_batch_norm, kDefaults.dbof_add_batch_norm,
          "DBoF batch norms (must be true: the original's no-BN branch cannot run)");
ABSL_FLAG(bool, dbof_relu, kDefaults.dbof_relu,
          "DBoF hidden layer: BN + relu6 (true) or a plain bias (false)");
ABSL_FLAG(bool, fc_dimred, kDefaults.fc_dimred,
          "DBoF hidden layer (else the head reads the pooling)");
ABSL_FLAG(bool, softdbof_maxpool, kDefaults.softdbof_maxpool,
          "soft-DBoF streams add the L2-normalized max-pool of the assignments");
ABSL_FLAG(std::string, dbof_pooling_method, kDefaults.dbof_pooling_method,
          "DbofModel pooling over the frames: max or average");
ABSL_FLAG(int64_t, moe_num_mixtures, kDefaults.moe_num_mixtures, "experts per class");
ABSL_FLAG(double, moe_l2, kDefaults.moe_l2, "L2 scale on the MoE weights");
ABSL_FLAG(int64_t, moe_low_rank_gating, kDefaults.moe_low_rank_gating,
          "rank of the gate weights (-1: full)");
ABSL_FLAG(bool, moe_prob_gating, kDefaults.moe_prob_gating,
          "context gating on the output probabilities");
ABSL_FLAG(std::string, moe_prob_gating_input, kDefaults.moe_prob_gating_input,
          "prob gating input: prob or the head input");
ABSL_FLAG(double, batch_norm_decay, kDefaults.batch_norm_decay,
          "y8m: decay of the batch-norm moving averages (slim's 0.999; less for short runs)");

// Flags of the original models not in the zoo yet, and of TensorFlow plumbing: accepted so that
// original command lines run unchanged, without effect.
ABSL_FLAG(int64_t, netvlad_dimred, -1, "unused (original flag)");
ABSL_FLAG(int64_t, gatednetvlad_dimred, 1024, "unused (original flag)");
ABSL_FLAG(int64_t, hidden_size, 1024, "unused (original flag)");
ABSL_FLAG(int64_t, netvlad_hidden_size_video, 1024, "unused (original flag)");
ABSL_FLAG(int64_t, netvlad_hidden_size_audio, 64, "unused (original flag)");
ABSL_FLAG(int64_t, lstm_cells, 1024,
          "unused (original flag; the RNN models are not in the zoo yet)");
ABSL_FLAG(int64_t, lstm_layers, 2, "unused (original flag; the RNN models are not in the zoo yet)");
ABSL_FLAG(bool, frame_shuffle, false,
          "unused (original flag; the RNN models are not in the zoo yet)");
ABSL_FLAG(int64_t, dbof_var_features, 0, "unused (original flag)");
ABSL_FLAG(std::string, dbof_activation, "relu", "unused (original flag)");
ABSL_FLAG(int64_t, num_gpu, 1,
          "GPUs (towers); one process trains on one device (--device): run mpirun -np N y8m-train "
          "for N");
ABSL_FLAG(bool, log_device_placement, false, "unused (TensorFlow option)");

ABSL_FLAG(std::string, device, "", "cpu, cuda or cuda:N (default: cuda:0 when present, else cpu)");
ABSL_FLAG(uint64_t, seed, 0, "seed for initialization, data order and frame sampling");

namespace y8m::apps {

models::ModelConfig model_config_from_flags() {
  // Every ModelConfig key has a flag of the same name: read the flags' current values as strings
  // and let the config parse them (one conversion, the same as for checkpoints).
  std::map<std::string, std::string> m;
  for (const auto& kv : models::to_map(kDefaults)) {
    const absl::CommandLineFlag* f = absl::FindCommandLineFlag(kv.first);
    Y8M_ASSERT(f != nullptr, "model config key '{}' has no flag", kv.first);
    m[kv.first] = f->CurrentValue();
  }
  models::ModelConfig c = models::config_from_map(m);
  models::validate(c);
  return c;
}

std::map<std::string, std::string> explicit_model_flags() {
  const auto m = models::to_map(model_config_from_flags());
  std::map<std::string, std::string> out;
  for (const auto& kv : m)
    if (explicit_flags().count(kv.first)) out[kv.first] = kv.second;
  return out;
}

engine::Device device_from_flag() {
  const std::string d = absl::GetFlag(FLAGS_device);
  return d.empty() ? engine::default_device() : engine::device_from_name(d);
}

uint64_t seed_flag() { return absl::GetFlag(FLAGS_seed); }

int64_t num_gpu_flag() { return absl::GetFlag(FLAGS_num_gpu); }

void note_num_gpu(const char* app) {
  if (absl::GetFlag(FLAGS_num_gpu) > 1)
    std::fprintf(stderr, "%s: note: --num_gpu=%lld: y8m trains on one device (--device)\n", app,
                 static_cast<long long>(absl::GetFlag(FLAGS_num_gpu)));
}

}  // namespace y8m::apps
