// y8m-eval: eval.py's command line (SPEC §9). The architecture comes from the checkpoint;
// architecture flags are accepted and must agree with it.
//   y8m-eval --train_dir=run1 --eval_data_pattern="$VALPAT/*.tfrecord" --run_once
#include "apps/common/app_flags.h"
#include "apps/common/model_path.h"
#include "io/events.h"
#include "pipeline/archive.h"
#include "pipeline/checkpoint.h"
#include "pipeline/evaluator.h"

#include <absl/flags/flag.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

ABSL_FLAG(std::string, train_dir, "/tmp/yt8m_model/", "folder with the checkpoints to evaluate");
ABSL_FLAG(std::string, eval_data_pattern, "",
          "comma-separated glob patterns of evaluation TFRecords");
ABSL_FLAG(int, batch_size, 1024, "examples per batch");
ABSL_FLAG(int, num_readers, 8, "reader threads (1 keeps the exact file order)");
ABSL_FLAG(bool, run_once, false,
          "evaluate the newest checkpoint once and exit (else poll for new ones)");
ABSL_FLAG(int, top_k, 20, "predictions per video entering GAP and mAP");
ABSL_FLAG(int, n_rounds, 1, "average this many predictions per video (independent frame samples)");
ABSL_FLAG(bool, use_EMA, false,
          "evaluate the EMA shadow weights (checkpoints of --ema_source runs)");
ABSL_FLAG(bool, build_only, false,
          "only export <train_dir>/inference_model.y8m from the newest checkpoint (evaluation "
          "exports it too, before evaluating)");
ABSL_FLAG(double, poll_secs, 60, "seconds between looks for a new checkpoint (without --run_once)");
ABSL_FLAG(std::string, model_file, "",
          "eval_custom.py: evaluate this archive (the same as --model=ARCHIVE)");
ABSL_FLAG(std::string, corrupt_records, "fail",
          "fail: stop at a corrupt record; skip: skip and count it");

namespace {

// The newest checkpoint that verifies (warning about broken ones), or an error.
std::string newest_checkpoint(const std::string& dir) {
  std::vector<std::string> broken;
  const std::string ckpt = y8m::pipeline::latest_valid_checkpoint(dir, &broken);
  for (const auto& b : broken)
    std::fprintf(stderr, "warning: skipping checkpoint: %s\n", b.c_str());
  Y8M_CHECK(!ckpt.empty(), "--train_dir: no valid checkpoint (model.ckpt-<step>.y8m) in '{}'", dir);
  return ckpt;
}

// eval.py step 4 (SPEC §9.1), before every evaluation and alone with --build_only: the checkpoint's
// eval-mode graph with --sample_all and --n_rounds baked in, as <train_dir>/inference_model.y8m
// (written atomically: a reader never sees a partial archive).
void export_inference_model(const std::string& ckpt) {
  using namespace y8m;
  pipeline::ExportOptions eo;
  eo.n_rounds = absl::GetFlag(FLAGS_n_rounds);
  eo.use_ema = absl::GetFlag(FLAGS_use_EMA);
  eo.model_flags = apps::explicit_model_flags();
  eo.notes = stdout;
  for (const auto& [name, value] : eo.model_flags) eo.metadata["flag." + name] = value;
  const std::string out = absl::GetFlag(FLAGS_train_dir) + "/inference_model.y8m";
  pipeline::export_checkpoint(ckpt, out, eo, apps::device_from_flag());
  const auto sample_all = eo.model_flags.find("sample_all");
  std::printf(
      "y8m-eval: exported %s (%s%s, n_rounds %d) to %s (%.1f MB)\n", ckpt.c_str(),
      eo.use_ema ? "EMA weights" : "weights",
      sample_all != eo.model_flags.end() && sample_all->second == "true" ? ", sample_all" : "",
      eo.n_rounds, out.c_str(), std::filesystem::file_size(out) / 1e6);
  std::fflush(stdout);
}

int eval() {
  using namespace y8m;
  const std::string train_dir = absl::GetFlag(FLAGS_train_dir);
  // Every flag is checked before the first export, so a bad one writes nothing.
  Y8M_CHECK(absl::GetFlag(FLAGS_n_rounds) >= 1, "--n_rounds must be at least 1, got {}",
            absl::GetFlag(FLAGS_n_rounds));
  if (absl::GetFlag(FLAGS_build_only)) {
    export_inference_model(newest_checkpoint(train_dir));
    return 0;
  }
  const double poll_secs = absl::GetFlag(FLAGS_poll_secs);
  Y8M_CHECK(absl::GetFlag(FLAGS_run_once) || (std::isfinite(poll_secs) && poll_secs > 0),
            "--poll_secs must be a positive number of seconds, got {}", poll_secs);
  pipeline::EvalOptions o;
  o.train_dir = train_dir;
  o.eval_data_pattern = absl::GetFlag(FLAGS_eval_data_pattern);
  o.batch_size = absl::GetFlag(FLAGS_batch_size);
  o.num_readers = absl::GetFlag(FLAGS_num_readers);
  o.top_k = absl::GetFlag(FLAGS_top_k);
  o.n_rounds = absl::GetFlag(FLAGS_n_rounds);
  o.seed = apps::seed_flag();
  o.device = apps::device_from_flag();
  o.explicit_model_flags = apps::explicit_model_flags();
  o.corrupt_records = absl::GetFlag(FLAGS_corrupt_records);
  o.use_ema = absl::GetFlag(FLAGS_use_EMA);
  pipeline::check_eval_options(o);
  // --model=ARCHIVE or --model_file=ARCHIVE (eval_custom.py) evaluates an archive (a path, or
  // the original's prefix "run1/inference_model"); --model=ClassName is an architecture flag.
  std::string archive = absl::GetFlag(FLAGS_model_file);
  if (archive.empty() && apps::explicit_flags().count("model")) {
    const std::string model = apps::model_config_from_flags().model;
    const std::string resolved = apps::resolve_model_path(model);
    if (std::filesystem::is_regular_file(resolved) || model.find('/') != std::string::npos ||
        (model.size() > 4 && model.substr(model.size() - 4) == ".y8m")) {
      archive = resolved;
      o.explicit_model_flags.erase("model");
    }
  }
  if (!archive.empty()) {
    o.model_archive = apps::resolve_model_path(archive);
    pipeline::run_eval(o, stdout);  // an archive does not change: one evaluation
    return 0;
  }
  // Evaluates (and first exports) the newest valid checkpoint.
  auto evaluate_newest = [&] {
    o.checkpoint = newest_checkpoint(train_dir);
    export_inference_model(o.checkpoint);
    pipeline::run_eval(o, stdout);
  };
  if (absl::GetFlag(FLAGS_run_once)) {
    evaluate_newest();
    return 0;
  }
  int64_t last = -1;
  // One events file for the whole loop, as eval.py's summary writer (created with the first
  // evaluation).
  std::unique_ptr<io::EventWriter> events;
  for (;;) {  // eval.py's loop: evaluate each new checkpoint, forever
    const auto all = pipeline::list_checkpoints(train_dir);
    if (!all.empty() && all.front().first != last) {
      if (!events) events = std::make_unique<io::EventWriter>(train_dir);
      o.events = events.get();
      evaluate_newest();
      last = all.front().first;  // a broken newest file is not retried until a newer one appears
    } else {
      std::this_thread::sleep_for(std::chrono::duration<double>(absl::GetFlag(FLAGS_poll_secs)));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto rest =
      y8m::apps::parse_flags(argc, argv, "Evaluates YouTube-8M checkpoints (eval.py's flags).");
  if (!rest.empty()) {
    std::fprintf(stderr, "y8m-eval: unexpected argument '%s'\n", rest[0].c_str());
    return 1;
  }
  y8m::apps::note_num_gpu("y8m-eval");
  return y8m::apps::run_app("y8m-eval", eval);
}
