// Teacher datasets for distillation (prepare_distill_dataset.py, SPEC §8.1): a teacher archive
// (single model or ensemble) runs over the input records, and every video is written again as a
// distillation record (SPEC §1.5): context `video_id`, sorted `labels`, `predictions` (the
// teacher's probabilities for every class), and the original uint8 frames (first min(n, 300)), into
// <output_dir>/predictions-%05d.tfrecord files of `file_size` examples (any size; the last file may
// be shorter). The folder appears only once every file is written (OutputFolder): a failed or
// interrupted run leaves no partial set under the final name.
//
// With a communicator of several ranks (mpirun -np P) the ranks share the batches (batch k on rank
// k % P) and predict what one process would (pipeline/distributed.h). Rank 0 creates the
// temporary folder (it must be on a filesystem every rank sees); each rank writes its own files
// there, and once all are closed rank 0 numbers them predictions-00000... in rank order, so names
// never collide, and commits the folder. Every file but each rank's last holds file_size examples.
#pragma once

#include "engine/device.h"
#include "engine/tensor.h"
#include "pipeline/distributed.h"

#include <cstdint>
#include <cstdio>
#include <string>

namespace y8m::pipeline {

struct DistillOptions {
  std::string model_file;          // teacher archive
  std::string input_data_pattern;  // frame-level records
  std::string output_dir;          // must not exist
  int batch_size = 256;
  int64_t file_size = 512;
  int num_readers = 1;  // 1 keeps the input order in the output files
  uint64_t seed = 0;    // the teacher's frame sampling
  engine::Device device;
  std::string corrupt_records = "fail";
  Communicator* comm = nullptr;  // null: one process
};

struct DistillResult {  // over all ranks
  int64_t examples = 0;
  int64_t files = 0;
  int64_t skipped_records = 0;  // lost to --corrupt_records=skip, with their bytes
  uint64_t skipped_bytes = 0;
};

DistillResult write_distill_dataset(const DistillOptions& opts, std::FILE* log);

}  // namespace y8m::pipeline
