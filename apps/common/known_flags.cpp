#include "apps/common/known_flags.h"

#include "models/config.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <type_traits>
#include <vector>

namespace y8m::apps {

namespace {

// Model flags (frame_level_models, devel_models, video_level_models, model_utils; SPEC §5), which
// every script importing the models defined: y8m's (Y8M_MODEL_FLAGS, models/config.h) and the
// original's that y8m accepts without effect (Y8M_ORIGINAL_ONLY_MODEL_FLAGS).
#define Y8M_MODEL_FLAG_NAME(type, name, default_value, help) #name " "
constexpr const char* kModel =
    Y8M_MODEL_FLAGS(Y8M_MODEL_FLAG_NAME) Y8M_ORIGINAL_ONLY_MODEL_FLAGS(Y8M_MODEL_FLAG_NAME);
#undef Y8M_MODEL_FLAG_NAME
// The rest of apps/common/app_flags.cpp.
constexpr const char* kAppCommon = "num_gpu log_device_placement device seed";
constexpr const char* kTrainPy =
    "train_dir train_data_pattern start_new_model num_gpu batch_size label_loss "
    "regularization_penalty base_learning_rate learning_rate_decay learning_rate_decay_examples "
    "num_epochs max_steps export_model_steps num_readers optimizer clip_gradient_norm "
    "log_device_placement incl_val ema_source ema_halflife loss_lambda";
constexpr const char* kTrainY8m =
    "save_model_secs keep_checkpoint_max corrupt_records on_nonfinite momentum";
constexpr const char* kEvalPy =
    "train_dir eval_data_pattern batch_size num_readers run_once top_k n_rounds use_EMA build_only";
constexpr const char* kInferPy =
    "train_dir input_data_pattern input_model_tgz untar_model_dir output_file output_model_tgz "
    "top_k batch_size num_readers frame_features feature_names feature_sizes";
constexpr const char* kDistillPy =
    "output_dir input_data_pattern batch_size file_size model_file num_readers "
    "input_feature_names input_feature_sizes prediction_feature_names";
constexpr const char* kQuantizePy = "min_elements transform_type model savefile";
constexpr const char* kEnsemblePy = "models weights save_folder";
constexpr const char* kAveragePy = "models save_folder";

// Every boolean flag but the model flags' (a name has one type in every program that knows it).
constexpr const char* kBool =
    "log_device_placement start_new_model incl_val run_once use_EMA build_only json verify "
    "frame_level video_level use_ema";

// The boolean rows of the two model flag lists.
const std::set<std::string>& model_bool_flags() {
  static const std::set<std::string> s = [] {
    std::set<std::string> out;
#define Y8M_MODEL_BOOL_FLAG(type, name, default_value, help) \
  if (std::is_same_v<type, bool>) out.insert(#name);
    using Names = models::ModelConfig::Names;
    using Ints = models::ModelConfig::Ints;
    Y8M_MODEL_FLAGS(Y8M_MODEL_BOOL_FLAG)
    Y8M_ORIGINAL_ONLY_MODEL_FLAGS(Y8M_MODEL_BOOL_FLAG)
#undef Y8M_MODEL_BOOL_FLAG
    return out;
  }();
  return s;
}

struct Program {
  const char* name;
  const char* kind;  // what a note calls its flags
  std::vector<const char*> parts;
};

// In lookup order: the first program knowing a foreign flag names its kind.
const std::vector<Program>& programs() {
  static const std::vector<Program> p = {
      {"(model flags)", "a model flag", {kModel}},
      {"y8m-train", "a training flag", {kTrainPy, kTrainY8m, kModel, kAppCommon}},
      {"y8m-train-distill", "a training flag", {kTrainPy, kTrainY8m, kModel, kAppCommon}},
      {"train.py", "a training flag", {kTrainPy, kModel}},
      {"train_distill.py", "a training flag", {kTrainPy, kModel}},
      {"y8m-eval",
       "an evaluation flag",
       {kEvalPy, "poll_secs corrupt_records model_file", kModel, kAppCommon}},
      {"eval.py", "an evaluation flag", {kEvalPy, kModel}},
      {"eval_custom.py",
       "an evaluation flag",
       {"model_file eval_data_pattern batch_size num_readers top_k"}},
      {"y8m-infer", "an inference flag", {kInferPy, "corrupt_records", kModel, kAppCommon}},
      {"inference.py", "an inference flag", {kInferPy}},
      {"inference_gpu.py", "an inference flag", {kInferPy}},
      {"y8m-distill",
       "a distillation-set flag",
       {kDistillPy, "corrupt_records", kModel, kAppCommon}},
      {"prepare_distill_dataset.py", "a distillation-set flag", {kDistillPy}},
      {"y8m-quantize", "a quantization flag", {kQuantizePy}},
      {"quantize.py", "a quantization flag", {kQuantizePy}},
      {"y8m-ensemble", "an ensemble flag", {kEnsemblePy}},
      {"graph_ensemble.py", "an ensemble flag", {kEnsemblePy}},
      {"y8m-average", "a weight-averaging flag", {kAveragePy}},
      {"weights_average.py", "a weight-averaging flag", {kAveragePy}},
      {"y8m-synth",
       "a y8m-synth flag",
       {"output_dir preset num_classes train_videos validate_videos test_videos shards min_frames "
        "max_frames mean_labels difficulty seed frame_level video_level"}},
      {"y8m-inspect", "a y8m-inspect flag", {"json verify example"}},
      {"y8m-import",
       "a y8m-import flag",
       {"checkpoint output output_checkpoint_dir use_ema tf_scope", kModel, kAppCommon}},
      {"y8m-demo",
       "a y8m-demo flag",
       {"steps batch_size num_classes feature_size max_frames hidden_size base_learning_rate "
        "clip_gradient_norm seed device"}},
  };
  return p;
}

std::set<std::string> words(const std::vector<const char*>& parts) {
  std::set<std::string> out;
  for (const char* part : parts) {
    std::istringstream in(part);
    for (std::string w; in >> w;) out.insert(w);
  }
  return out;
}

}  // namespace

std::set<std::string> known_flags_of(const std::string& program) {
  for (const Program& p : programs())
    if (program == p.name) return words(p.parts);
  return {};
}

std::string foreign_flag_kind(const std::string& app, const std::string& name) {
  for (const Program& p : programs())
    if (app != p.name && words(p.parts).count(name)) return p.kind;
  return "";
}

std::set<std::string> all_known_flags() {
  std::set<std::string> out;
  for (const Program& p : programs()) {
    const std::set<std::string> w = words(p.parts);
    out.insert(w.begin(), w.end());
  }
  return out;
}

std::string nearest_name(const std::string& name, const std::set<std::string>& candidates) {
  auto edit_distance = [](const std::string& a, const std::string& b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j)
        cur[j] =
            std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string best;
  size_t best_d = std::max<size_t>(3, name.size() / 3) + 1;
  for (const std::string& cand : candidates) {
    const size_t d = edit_distance(name, cand);
    if (d < best_d) {
      best_d = d;
      best = cand;
    }
  }
  return best;
}

bool known_bool_flag(const std::string& name) {
  return words({kBool}).count(name) > 0 || model_bool_flags().count(name) > 0;
}

void note_foreign_flag(const std::string& app, const std::string& name, const std::string& kind) {
  static std::set<std::string> noted;
  if (!noted.insert(name).second) return;
  std::fprintf(stderr, "%s: note: ignoring --%s (%s)\n", app.c_str(), name.c_str(), kind.c_str());
}

void check_flag_table_and_exit_if_asked(const std::string& app,
                                        const std::set<std::string>& defined,
                                        const std::set<std::string>& bools) {
  const char* env = std::getenv("Y8M_CHECK_FLAG_TABLE");
  if (env == nullptr || std::strcmp(env, "1") != 0) return;
  const std::set<std::string> table = known_flags_of(app);
  std::string diff;
  for (const std::string& f : defined)
    if (!table.count(f)) diff += " --" + f + " (defined, not in the table)";
  for (const std::string& f : defined)
    if (bools.count(f) != static_cast<size_t>(known_bool_flag(f)))
      diff +=
          " --" + f + (bools.count(f) ? " (boolean, not in kBool)" : " (in kBool, not boolean)");
  if (table.empty()) diff = " no row for this app";
  if (!diff.empty()) {
    std::printf("flag table: %s differs (apps/common/known_flags.cpp):%s\n", app.c_str(),
                diff.c_str());
    std::exit(1);
  }
  std::printf("flag table: %s ok (%zu flags)\n", app.c_str(), defined.size());
  std::exit(0);
}

std::string app_name(int argc, char** argv) {
  const char* app = argc > 0 ? argv[0] : "y8m";
  if (const char* slash = std::strrchr(app, '/')) app = slash + 1;
  return app;
}

}  // namespace y8m::apps
