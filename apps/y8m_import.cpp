// y8m-import: reads a TensorFlow 1 checkpoint of the original (tf.train.Saver's V2 bundle: the
// released inference_model, a run's model.ckpt-N) into a y8m model archive and/or checkpoint
// (pipeline/tf_import.h has the name mapping):
//   y8m-import --checkpoint=released/inference_model --output=netvlad/inference_model.y8m
//   y8m-import --checkpoint=run1 --use_ema --output_checkpoint_dir=run1-y8m \
//              --model=NetVLADModelLF --netvlad_cluster_size=256 ...
// --checkpoint is a prefix or a folder (its `checkpoint` file's newest entry, or its only prefix),
// or a .tar.gz / .tgz bundle such as the winners' release, extracted into a temporary folder that
// is removed afterwards (a bundle holding one folder is read from that folder).
// The architecture comes from the model flags, as for the other apps; model_flags.json beside the
// checkpoint supplies the flags it holds (model, feature_names, feature_sizes, frame_features)
// that the command line does not give. The archive is what y8m-eval --build_only exports (frame
// sampling flags such as --sample_all baked in); the checkpoint holds the weights only (no
// optimizer state): y8m-eval evaluates it and y8m-train starts from it with --ema_source. Outputs
// are written atomically and never overwritten.
#include "apps/common/app_flags.h"
#include "apps/common/model_path.h"
#include "apps/common/model_tgz.h"
#include "engine/error.h"
#include "pipeline/archive.h"
#include "pipeline/model_flags_json.h"
#include "pipeline/tf_import.h"

#include <absl/flags/flag.h>
#include <absl/flags/reflection.h>

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <optional>

ABSL_FLAG(std::string, checkpoint, "",
          "TensorFlow checkpoint prefix (run1/model.ckpt-1234, released/inference_model), a "
          "folder holding one, or a .tar.gz bundle of one");
ABSL_FLAG(std::string, output, "", "model archive to write (inference_model.y8m)");
ABSL_FLAG(std::string, output_checkpoint_dir, "",
          "folder to write model.ckpt-<step>.y8m into (weights only)");
ABSL_FLAG(bool, use_ema, false,
          "import the EMA shadows (<var>/ExponentialMovingAverage) instead of the weights, as "
          "eval.py --use_EMA exported them");
ABSL_FLAG(std::string, tf_scope, "tower",
          "variable scope of the model in the checkpoint (graph_ensemble.py members: "
          "model_<i>/tower)");

namespace {

namespace fs = std::filesystem;
using namespace y8m;

// model_flags.json's values for the model flags not given on the command line.
void apply_model_flags_json(const std::string& prefix) {
  const std::string json = (fs::path(prefix).parent_path() / pipeline::kModelFlagsJson).string();
  if (!fs::is_regular_file(json)) return;
  for (const auto& [key, value] : pipeline::read_model_flags_json(json)) {
    if (key == "label_loss" || apps::explicit_flags().count(key)) continue;
    absl::CommandLineFlag* f = absl::FindCommandLineFlag(key);
    Y8M_CHECK(f != nullptr, "{}: unknown key '{}'", json, key);
    std::string error;
    Y8M_CHECK(f->ParseFrom(value, &error), "{}: '{}': {}", json, key, error);
  }
  std::printf("y8m-import: model flags from %s\n", json.c_str());
  std::fflush(stdout);
}

bool is_tgz(const std::string& path) {
  auto ends = [&](const std::string& s) {
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".tar.gz") || ends(".tgz");
}

// A temporary folder, removed with its contents when the import ends (or fails).
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "y8m-import-XXXXXX").string();
    Y8M_CHECK(mkdtemp(tmpl.data()) != nullptr, "y8m-import: cannot create a temporary folder {}",
              tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The bundle's contents in `dir`: the folder itself, or its one subfolder when that is all it holds.
std::string extracted_root(const fs::path& dir) {
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(dir)) entries.push_back(e.path());
  return entries.size() == 1 && fs::is_directory(entries[0]) ? entries[0].string() : dir.string();
}

int import() {
  std::string input = absl::GetFlag(FLAGS_checkpoint);
  Y8M_CHECK(!input.empty(), "--checkpoint: required (a TensorFlow checkpoint prefix or folder)");
  std::optional<TempDir> untarred;
  if (is_tgz(input)) {
    Y8M_CHECK(fs::is_regular_file(input), "--checkpoint: {} does not exist", input);
    untarred.emplace();
    const auto names = apps::extract_model_tgz(input, untarred->path().string());
    std::printf("y8m-import: extracted %zu files of %s\n", names.size(), input.c_str());
    input = extracted_root(untarred->path());
  }
  const std::string archive = absl::GetFlag(FLAGS_output).empty()
                                  ? ""
                                  : apps::output_model_path(absl::GetFlag(FLAGS_output));
  const std::string ckpt_dir = absl::GetFlag(FLAGS_output_checkpoint_dir);
  Y8M_CHECK(!archive.empty() || !ckpt_dir.empty(),
            "--output (a model archive) or --output_checkpoint_dir: give at least one");
  Y8M_CHECK(archive.empty() || !fs::exists(archive), "--output: {} already exists", archive);
  const std::string prefix = pipeline::resolve_tf_checkpoint(input);
  apply_model_flags_json(prefix);
  const models::ModelConfig config = apps::model_config_from_flags();
  pipeline::TfImportOptions o;
  o.use_ema = absl::GetFlag(FLAGS_use_ema);
  o.scope = absl::GetFlag(FLAGS_tf_scope);
  const pipeline::TfImported r = pipeline::import_tf_checkpoint(prefix, config, o);
  std::string ckpt_path;
  if (!ckpt_dir.empty()) {
    ckpt_path = pipeline::checkpoint_path(ckpt_dir, r.step);
    Y8M_CHECK(!fs::exists(ckpt_path), "--output_checkpoint_dir: {} already exists", ckpt_path);
  }
  std::printf("y8m-import: read %zu tensors of %s from %s (step %lld%s%s)\n", r.imported,
              config.model.c_str(), prefix.c_str(), static_cast<long long>(r.step),
              o.use_ema ? ", EMA shadows" : "",
              r.dequantized ? fmt::format(", {} dequantized", r.dequantized).c_str() : "");
  if (!r.ignored.empty())
    std::printf(
        "y8m-import: ignored %zu checkpoint variables not in the model (optimizer slots, "
        "%s, global_step, ...), e.g. %s\n",
        r.ignored.size(), o.use_ema ? "the raw weights" : "EMA shadows", r.ignored.front().c_str());
  if (!ckpt_dir.empty()) {
    fs::create_directories(ckpt_dir);
    pipeline::save_checkpoint(ckpt_dir, pipeline::tf_import_checkpoint_state(r), 0);
    std::printf("y8m-import: wrote %s\n", ckpt_path.c_str());
  }
  if (!archive.empty()) {
    pipeline::ExportOptions eo;
    eo.metadata["source_tf_checkpoint"] =
        untarred ? absl::GetFlag(FLAGS_checkpoint) + ":" + fs::path(prefix).filename().string()
                 : prefix;
    eo.metadata["step"] = std::to_string(r.step);
    if (o.use_ema) eo.metadata["weights"] = "ExponentialMovingAverage";
    for (const auto& [name, value] : apps::explicit_model_flags())
      eo.metadata["flag." + name] = value;
    const fs::path parent = fs::path(archive).parent_path();
    if (!parent.empty()) fs::create_directories(parent);
    pipeline::export_model(*r.model, archive, eo);
    std::printf("y8m-import: wrote %s (%.1f MB)\n", archive.c_str(), fs::file_size(archive) / 1e6);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto rest = y8m::apps::parse_flags(
      argc, argv, "Imports a TensorFlow checkpoint of the original into a y8m archive/checkpoint.");
  if (!rest.empty()) {
    std::fprintf(stderr, "y8m-import: unexpected argument '%s'\n", rest[0].c_str());
    return 1;
  }
  return y8m::apps::run_app("y8m-import", import);
}
