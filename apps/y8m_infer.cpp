// y8m-infer: inference.py / inference_gpu.py. Runs an archive over the test records and writes the
// Kaggle submission CSV (SPEC §13: "VideoId,LabelConfidencePairs", top_k "label score" pairs, %g
// scores, descending, ties to the lower class index), atomically; .csv.gz when the name asks for
// it.
//   y8m-infer --train_dir=run1 --input_data_pattern='/data/frame/test*.tfrecord'
//   --output_file=sub.csv y8m-infer --model=ensemble/inference_model.y8m --input_data_pattern=...
//   --output_file=sub.csv.gz
// --seed makes frame sampling, and so the CSV, byte-identical between runs.
#include "apps/common/app_flags.h"
#include "io/reader.h"
#include "io/tfrecord.h"
#include "pipeline/archive.h"
#include "pipeline/model_inputs.h"
#include "pipeline/submission.h"

#include <absl/flags/flag.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

ABSL_FLAG(std::string, train_dir, "/tmp/yt8m_model/",
          "folder with inference_model.y8m (from y8m-eval --build_only)");
ABSL_FLAG(std::string, input_data_pattern, "",
          "comma-separated glob patterns of the records to predict");
ABSL_FLAG(std::string, output_file, "", "submission CSV to write (.csv or .csv.gz)");
ABSL_FLAG(int, top_k, 20, "label/score pairs per video");
ABSL_FLAG(int, batch_size, 8192, "examples per batch");
ABSL_FLAG(int, num_readers, 1, "reader threads (1 keeps the file order)");
ABSL_FLAG(std::string, input_model_tgz, "",
          "unused (the original's tarball of the model; use --model)");
ABSL_FLAG(std::string, untar_model_dir, "/tmp/yt8m-model", "unused (original flag)");
ABSL_FLAG(std::string, output_model_tgz, "", "unused (original flag)");
ABSL_FLAG(std::string, corrupt_records, "fail",
          "fail: stop at a corrupt record; skip: skip and count it");

namespace {

int infer() {
  using namespace y8m;
  Y8M_CHECK(!absl::GetFlag(FLAGS_input_data_pattern).empty(), "--input_data_pattern: required");
  Y8M_CHECK(!absl::GetFlag(FLAGS_output_file).empty(), "--output_file: required");
  // --model names an archive here (the model class comes from the archive).
  const bool model_given = apps::explicit_flags().count("model") > 0;
  const std::string archive = model_given ? apps::model_config_from_flags().model
                                          : absl::GetFlag(FLAGS_train_dir) + "/inference_model.y8m";
  Y8M_CHECK(std::filesystem::is_regular_file(archive), "{}: no such archive{}", archive,
            model_given ? "" : " (export one with y8m-eval --build_only)");
  const Device device = apps::device_from_flag();
  const pipeline::ArchiveModel model(archive, device);
  std::map<std::string, std::string> flags = apps::explicit_model_flags();
  flags.erase("model");  // the archive's path here
  pipeline::check_flags_match_archive(model.archive().model_config, archive, flags);
  const models::ModelConfig config = model.config();
  io::ReaderOptions ro = pipeline::reader_options(config);
  ro.decode.require_labels = false;  // test data has no labels
  ro.patterns = absl::GetFlag(FLAGS_input_data_pattern);
  ro.pattern_flag = "--input_data_pattern";
  ro.batch_size = absl::GetFlag(FLAGS_batch_size);
  ro.num_readers = absl::GetFlag(FLAGS_num_readers);
  ro.records.on_corrupt = io::corrupt_policy_from_name(absl::GetFlag(FLAGS_corrupt_records));
  io::Reader reader(ro);
  const int64_t total = io::count_records(reader.files());  // for the ETA
  pipeline::SubmissionWriter out(absl::GetFlag(FLAGS_output_file), absl::GetFlag(FLAGS_top_k));
  engine::Generator gen(apps::seed_flag() ^ 0x696e6665ull);
  autograd::NoGradGuard ng;
  const auto t0 = std::chrono::steady_clock::now();
  int64_t done = 0;
  io::Batch batch;
  std::printf("y8m-infer: %s on %s, %lld videos in %zu files\n", archive.c_str(),
              device.str().c_str(), static_cast<long long>(total), reader.files().size());
  while (reader.next(&batch)) {
    const Tensor probs = model.predict(batch, gen).to(Device::cpu());
    out.add_batch(batch.ids, probs);
    done += batch.size;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double eps = secs > 0 ? done / secs : 0;
    std::printf("y8m-infer: %lld/%lld videos, %.0f examples/s, ETA %.0f s\n",
                static_cast<long long>(done), static_cast<long long>(total), eps,
                eps > 0 ? (total - done) / eps : 0.0);
    std::fflush(stdout);
  }
  out.close();
  const io::SkipReport skipped = reader.skipped();
  if (skipped.records > 0)
    std::printf("warning: skipped %s of corrupt data (last: %s)\n",
                io::skip_figure(skipped).c_str(), skipped.last_problem.c_str());
  std::printf("y8m-infer: wrote %lld rows to %s%s\n", static_cast<long long>(out.rows_written()),
              absl::GetFlag(FLAGS_output_file).c_str(),
              skipped.records > 0
                  ? ("; skipped " + io::skip_figure(skipped) + " of corrupt data").c_str()
                  : "");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto rest =
      y8m::apps::parse_flags(argc, argv, "Writes a Kaggle submission CSV (inference.py's flags).");
  if (!rest.empty()) {
    std::fprintf(stderr, "y8m-infer: unexpected argument '%s'\n", rest[0].c_str());
    return 1;
  }
  return y8m::apps::run_app("y8m-infer", infer);
}
