// y8m-infer: inference.py / inference_gpu.py. Runs an archive over the test records and writes the
// Kaggle submission CSV (SPEC §13: "VideoId,LabelConfidencePairs", top_k "label score" pairs, %g
// scores, descending, ties to the lower class index), atomically; .csv.gz when the name asks for
// it.
//   y8m-infer --train_dir=run1 --input_data_pattern='/data/frame/test*.tfrecord' --output_file=sub.csv
//   y8m-infer --model=ensemble/inference_model.y8m --input_data_pattern=... --output_file=sub.csv.gz
// --seed makes frame sampling, and so the CSV, byte-identical between runs.
// Under `mpirun -np P` the ranks share the batches (batch k on rank k % P, pipeline/distributed.h)
// and rank 0 writes the rows in the single process's order: the same bytes as one process.
#include "apps/common/app_flags.h"
#include "apps/common/model_path.h"
#include "apps/common/model_tgz.h"
#include "io/reader.h"
#include "io/tfrecord.h"
#include "pipeline/archive.h"
#include "pipeline/distributed.h"
#include "pipeline/model_inputs.h"
#include "pipeline/submission.h"

#include <absl/flags/flag.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string_view>

ABSL_FLAG(std::string, train_dir, "/tmp/yt8m_model/",
          "folder with inference_model.y8m (from y8m-eval --build_only)");
ABSL_FLAG(std::string, input_data_pattern, "",
          "comma-separated glob patterns of the records to predict");
ABSL_FLAG(std::string, output_file, "", "submission CSV to write (.csv or .csv.gz)");
ABSL_FLAG(int, top_k, 20, "label/score pairs per video");
ABSL_FLAG(int, batch_size, 8192, "examples per batch");
ABSL_FLAG(int, num_readers, 1, "reader threads (1 keeps the file order)");
ABSL_FLAG(std::string, input_model_tgz, "",
          "a .tar.gz holding inference_model.y8m (and model_flags.json): extracted into "
          "--untar_model_dir and used (instead of --train_dir)");
ABSL_FLAG(std::string, untar_model_dir, "/tmp/yt8m-model", "where --input_model_tgz is extracted");
ABSL_FLAG(std::string, output_model_tgz, "",
          "also write a .tar.gz of the model (inference_model.y8m, and model_flags.json when it "
          "sits next to the model), as Kaggle wanted");
ABSL_FLAG(std::string, corrupt_records, "fail",
          "fail: stop at a corrupt record; skip: skip and count it");

namespace {

int infer() {
  using namespace y8m;
  Y8M_CHECK(!absl::GetFlag(FLAGS_input_data_pattern).empty(), "--input_data_pattern: required");
  Y8M_CHECK(!absl::GetFlag(FLAGS_output_file).empty(), "--output_file: required");
  // The archive: --input_model_tgz's, --model (a path or the original's prefix
  // ".../inference_model"), or <train_dir>/inference_model.y8m.
  const bool model_given = apps::explicit_flags().count("model") > 0;
  const std::string tgz = absl::GetFlag(FLAGS_input_model_tgz);
  std::string archive;
  if (!tgz.empty()) {
    Y8M_CHECK(!model_given && !apps::explicit_flags().count("train_dir"),
              "--input_model_tgz: give it without --train_dir or --model (the model is the "
              "bundle's)");
    const std::string dir = absl::GetFlag(FLAGS_untar_model_dir);
    const std::vector<std::string> names = apps::extract_model_tgz(tgz, dir);
    archive = dir + "/inference_model.y8m";
    std::string listed;
    for (const auto& n : names) listed += (listed.empty() ? "" : ", ") + n;
    Y8M_CHECK(std::filesystem::is_regular_file(archive),
              "--input_model_tgz: {} has no inference_model.y8m at its top level (it holds: {})",
              tgz, listed.empty() ? "no files" : listed);
    std::printf("y8m-infer: extracted %s into %s\n", tgz.c_str(), dir.c_str());
  } else {
    archive = model_given ? apps::resolve_model_path(apps::model_config_from_flags().model)
                          : absl::GetFlag(FLAGS_train_dir) + "/inference_model.y8m";
  }
  Y8M_CHECK(std::filesystem::is_regular_file(archive), "{}: no such archive{}", archive,
            model_given ? "" : " (export one with y8m-eval --build_only)");
  pipeline::Communicator& comm = pipeline::world();
  const Device device = comm.size() > 1 && !apps::explicit_flags().count("device")
                            ? pipeline::rank_default_device(comm)
                            : apps::device_from_flag();
  const pipeline::ArchiveModel model(archive, device);
  std::map<std::string, std::string> flags = apps::explicit_model_flags();
  flags.erase("model");  // the archive's path here
  // inference_gpu.py had no --sample_all (the original README passes it; it was ignored): the
  // archive's sampling was baked in at export (y8m-eval --build_only --sample_all).
  const auto& archive_config = model.archive().model_config;
  if (const auto it = flags.find("sample_all"); it != flags.end()) {
    const auto a = archive_config.find("sample_all");
    if (a != archive_config.end() && a->second != it->second)
      std::fprintf(stderr,
                   "y8m-infer: note: ignoring --sample_all=%s: %s was exported with sample_all=%s "
                   "(y8m-eval --build_only --sample_all bakes it in)\n",
                   it->second.c_str(), archive.c_str(), a->second.c_str());
    flags.erase(it);
  }
  pipeline::check_flags_match_archive(model.archive().model_config, archive, flags);
  const models::ModelConfig config = model.config();
  const std::string bundle = absl::GetFlag(FLAGS_output_model_tgz);
  if (comm.is_root() && !bundle.empty()) {
    // inference.py's Kaggle bundle: the model and the model_flags.json beside it.
    std::vector<std::pair<std::string, std::string>> files = {{archive, "inference_model.y8m"}};
    const auto flags_json = std::filesystem::path(archive).parent_path() / "model_flags.json";
    if (std::filesystem::is_regular_file(flags_json))
      files.emplace_back(flags_json.string(), "model_flags.json");
    apps::write_model_tgz(bundle, files);
    std::printf("y8m-infer: wrote %s (%s%s)\n", bundle.c_str(), "inference_model.y8m",
                files.size() > 1 ? ", model_flags.json" : "");
  }
  pipeline::ReaderFlags rf;
  rf.patterns = absl::GetFlag(FLAGS_input_data_pattern);
  rf.pattern_flag = "--input_data_pattern";
  rf.batch_size = absl::GetFlag(FLAGS_batch_size);
  rf.num_readers = absl::GetFlag(FLAGS_num_readers);
  rf.corrupt_records = absl::GetFlag(FLAGS_corrupt_records);
  rf.require_labels = false;  // test data has no labels
  io::ReaderOptions ro = pipeline::reader_options(config, rf);
  ro.num_shards = comm.size();
  ro.shard = comm.rank();
  io::Reader reader(ro);
  const int64_t total = io::count_records(reader.files());  // for the ETA
  const int top_k = absl::GetFlag(FLAGS_top_k);
  // Rank 0 writes the file; in a job of several ranks every rank keeps its rows per batch until
  // the end, when rank 0 gathers them and writes them in batch order.
  std::unique_ptr<pipeline::SubmissionWriter> out;
  if (comm.is_root())
    out = std::make_unique<pipeline::SubmissionWriter>(absl::GetFlag(FLAGS_output_file), top_k);
  std::string rows;  // this rank's rows: per batch "<index> <count> <bytes>\n<rows>"
  engine::Generator gen(apps::seed_flag() ^ pipeline::kInferenceSeedSalt);
  autograd::NoGradGuard ng;
  const auto t0 = std::chrono::steady_clock::now();
  int64_t done = 0;
  if (comm.is_root())
    std::printf("y8m-infer: %s on %s, %lld videos in %zu files%s\n", archive.c_str(),
                device.str().c_str(), static_cast<long long>(total), reader.files().size(),
                comm.size() > 1 ? fmt::format(", {} ranks", comm.size()).c_str() : "");
  pipeline::for_each_sharded_batch(
      comm, reader, gen, [&](const io::Batch& batch, engine::Generator& g) {
        const Tensor probs = model.predict(batch, g).to(Device::cpu());
        if (comm.size() == 1) {
          out->add_batch(batch.ids, probs);
        } else {
          std::string text;
          const int V = static_cast<int>(probs.size(1));
          for (int64_t i = 0; i < batch.size; ++i)
            pipeline::append_submission_row(&text, batch.ids[static_cast<size_t>(i)],
                                            probs.data<float>() + i * V, V, top_k,
                                            absl::GetFlag(FLAGS_output_file));
          rows += fmt::format("{} {} {}\n", batch.index, batch.size, text.size()) + text;
        }
        done += batch.size;
        if (!comm.is_root()) return;
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double eps = secs > 0 ? done / secs : 0;
        const int64_t share = pipeline::shard_examples(total, ro.batch_size, comm.size(), 0);
        std::printf("y8m-infer: %lld/%lld videos%s, %.0f examples/s, ETA %.0f s\n",
                    static_cast<long long>(done), static_cast<long long>(share),
                    comm.size() > 1 ? " on rank 0" : "", eps,
                    eps > 0 ? std::max<double>(share - done, 0) / eps : 0.0);
        std::fflush(stdout);
      });
  if (comm.size() > 1) {
    const std::vector<std::string> all = comm.gather(rows, 0);
    if (comm.is_root()) {
      // Batch index -> (rows, count), then written in order.
      std::map<int64_t, std::pair<std::string_view, int64_t>> by_index;
      for (const std::string& part : all) {
        for (size_t pos = 0; pos < part.size();) {
          const size_t eol = part.find('\n', pos);
          long long index = 0, count = 0, bytes = 0;
          Y8M_CHECK(eol != std::string::npos && std::sscanf(part.c_str() + pos, "%lld %lld %lld",
                                                            &index, &count, &bytes) == 3,
                    "y8m-infer: malformed rows gathered from a rank");
          by_index[index] = {std::string_view(part).substr(eol + 1, static_cast<size_t>(bytes)),
                             count};
          pos = eol + 1 + static_cast<size_t>(bytes);
        }
      }
      int64_t expect = 0;
      for (const auto& [index, r] : by_index) {
        Y8M_CHECK(index == expect++, "y8m-infer: batch {} missing from the ranks' rows",
                  expect - 1);
        out->add_rows(std::string(r.first), r.second);
      }
    }
  }
  if (!comm.is_root()) return 0;
  out->close();
  const io::SkipReport skipped = reader.skipped();
  io::warn_skipped(stdout, skipped);
  std::printf("y8m-infer: wrote %lld rows to %s%s\n", static_cast<long long>(out->rows_written()),
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
  return y8m::apps::run_app("y8m-infer",
                            [] { return y8m::pipeline::run_on_ranks("y8m-infer", infer); });
}
