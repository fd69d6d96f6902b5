// Evaluation (eval.py, SPEC §9.1): the model comes from a checkpoint (its architecture is stored in
// it), runs in inference mode over one in-order pass of the eval data, optionally averaging
// --n_rounds predictions per video (independent frame samples), and reports Hit@1, PERR, mAP,
// GAP@top_k and the average loss. The final line is appended to <train_dir>/evallog.txt; records
// skipped as corrupt (--corrupt_records=skip) are reported in a warning and in that line.
#pragma once

#include "engine/device.h"
#include "models/zoo.h"
#include "pipeline/metrics.h"

#include <cstdio>
#include <map>
#include <string>

namespace y8m::io {
class EventWriter;
}  // namespace y8m::io

namespace y8m::pipeline {

struct EvalOptions {
  std::string train_dir;
  std::string checkpoint;  // a specific checkpoint; "" = the newest valid one in train_dir
  std::string eval_data_pattern;
  int batch_size = 1024;
  int num_readers = 8;
  int top_k = 20;
  int n_rounds = 1;
  uint64_t seed = 0;
  Device device;
  // Architecture flags given on the command line (name -> value): the sampling ones apply, the
  // others must match the checkpoint (eval_model_config).
  std::map<std::string, std::string> explicit_model_flags;
  std::string corrupt_records = "fail";
  bool use_ema =
      false;  // --use_EMA: evaluate the checkpoint's EMA shadows instead of its weights (SPEC §7.7)
  // eval_custom.py: evaluate an archive (any: exported, quantized, ensembled) instead of a
  // checkpoint. Its graph already holds --n_rounds and --sample_all; architecture flags do not
  // apply.
  std::string model_archive;
  // Where the TensorBoard summaries go when evaluating a checkpoint: this writer (eval.py kept one
  // events file for its whole polling loop), or, when null, a new events file in train_dir.
  io::EventWriter* events = nullptr;
};

struct EvalResult {
  int64_t step = 0;
  Metrics metrics;
  double avg_loss = 0;
  double examples_per_second = 0;
  int64_t skipped_records = 0;  // lost to --corrupt_records=skip (io::SkipReport)
  uint64_t skipped_bytes = 0;
  std::string line;  // the final log line
};

// Checks every option that run_eval reads (numbers, --corrupt_records, the data pattern matching
// files) without loading anything: y8m-eval calls it before it exports, so a bad flag writes
// nothing. Throws naming the flag.
void check_eval_options(const EvalOptions& opts);

EvalResult run_eval(const EvalOptions& opts, std::FILE* log);

}  // namespace y8m::pipeline
