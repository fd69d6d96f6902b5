// y8m-distill: prepare_distill_dataset.py (SPEC §8.1). Runs a teacher archive (a single model or an
// ensemble) over frame-level records and writes distillation records with its predictions:
//   y8m-distill --model_file=ens/inference_model.y8m --input_data_pattern="/data/frame/train*.tfrecord"
//       --output_dir=/data/distill --batch_size=128 --file_size=512
// Any --file_size works (the original asserted it was a multiple of the batch size).
// `mpirun -np P y8m-distill ...` shares the batches among P ranks (pipeline/distill.h).
#include "apps/common/app_flags.h"
#include "apps/common/model_path.h"
#include "engine/error.h"
#include "pipeline/distill.h"

#include <absl/flags/flag.h>
#include <fmt/format.h>

#include <cstdio>

ABSL_FLAG(std::string, model_file, "", "teacher archive (.y8m)");
ABSL_FLAG(std::string, input_data_pattern, "",
          "comma-separated glob patterns of frame-level records");
ABSL_FLAG(std::string, output_dir, "",
          "folder to create for predictions-NNNNN.tfrecord (must not exist)");
ABSL_FLAG(int, batch_size, 256, "examples per teacher batch");
ABSL_FLAG(int64_t, file_size, 512, "examples per output file");
ABSL_FLAG(int, num_readers, 1, "reader threads (1 keeps the input order)");
ABSL_FLAG(std::string, input_feature_names, "", "unused (original flag)");
ABSL_FLAG(std::string, input_feature_sizes, "", "unused (original flag)");
ABSL_FLAG(std::string, prediction_feature_names, "", "unused (original flag)");
ABSL_FLAG(std::string, corrupt_records, "fail",
          "fail: stop at a corrupt record; skip: skip and count it");

namespace {

int distill() {
  using namespace y8m;
  Y8M_CHECK(!absl::GetFlag(FLAGS_model_file).empty(), "--model_file: required (a teacher archive)");
  Y8M_CHECK(!absl::GetFlag(FLAGS_input_data_pattern).empty(), "--input_data_pattern: required");
  pipeline::DistillOptions o;
  o.model_file = apps::resolve_model_path(absl::GetFlag(FLAGS_model_file));
  o.input_data_pattern = absl::GetFlag(FLAGS_input_data_pattern);
  o.output_dir = absl::GetFlag(FLAGS_output_dir);
  o.batch_size = absl::GetFlag(FLAGS_batch_size);
  o.file_size = absl::GetFlag(FLAGS_file_size);
  o.num_readers = absl::GetFlag(FLAGS_num_readers);
  o.seed = apps::seed_flag();
  pipeline::Communicator& comm = pipeline::world();
  o.comm = &comm;
  o.device = comm.size() > 1 && !apps::explicit_flags().count("device")
                 ? pipeline::rank_default_device(comm)
                 : apps::device_from_flag();
  o.corrupt_records = absl::GetFlag(FLAGS_corrupt_records);
  const auto r = pipeline::write_distill_dataset(o, stdout);
  if (!comm.is_root()) return 0;
  std::printf("y8m-distill: wrote %lld videos in %lld files to %s%s\n",
              static_cast<long long>(r.examples), static_cast<long long>(r.files),
              o.output_dir.c_str(),
              r.skipped_records > 0 ? fmt::format("; skipped {} records ({} bytes) of corrupt data",
                                                  r.skipped_records, r.skipped_bytes)
                                          .c_str()
                                    : "");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto rest = y8m::apps::parse_flags(
      argc, argv, "Writes a distillation dataset (prepare_distill_dataset.py's flags).");
  if (!rest.empty()) {
    std::fprintf(stderr, "y8m-distill: unexpected argument '%s'\n", rest[0].c_str());
    return 1;
  }
  return y8m::apps::run_app("y8m-distill",
                            [] { return y8m::pipeline::run_on_ranks("y8m-distill", distill); });
}
