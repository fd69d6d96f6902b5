// The YouTube-8M reader pipeline (SPEC §1.10), deterministic for a seed.
//
//   files (comma-separated globs, sorted per pattern)
//     -> per epoch, the file list (shuffled with the seed in training mode)
//     -> `num_readers` threads; reader r takes files r, r+R, r+2R, ... of the epoch sequence, frames,
//        CRC-checks and decodes records (zero-copy views into the mapped file)
//     -> merged round-robin across readers (a fixed interleave, so thread timing never changes the order)
//     -> training: a shuffle buffer of `shuffle_capacity` examples sampled with the counter-based RNG
//     -> batches of `batch_size` (the last one may be short): frames as uint8 [B, max_frames, sum F],
//        zero-padded, in pinned host memory when a GPU is present, plus num_frames, dense labels, ids.
// Evaluation mode reads each file once, in order (one reader gives the exact file order).
//
// position() counts examples delivered since the start of the run; a new Reader with the same
// options and seed, fast-forwarded with skip_examples(position), continues exactly where the old
// one stopped.
#pragma once
#include "io/io_layer.h"

#include "engine/tensor.h"
#include "io/tfrecord.h"
#include "io/yt8m_record.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace y8m::io {

struct ReaderOptions {
  std::string patterns;                       // comma-separated glob patterns
  std::string pattern_flag = "data pattern";  // named in errors (e.g. "--train_data_pattern")
  int num_readers = 1;
  // Threads that check, decode and copy examples into the batch (the pipeline's main work);
  // 0 = one per core, at most 4.
  int assembly_threads = 0;
  int batch_size = 1024;
  bool training = false;  // shuffle files per epoch and examples through the buffer
  int num_epochs = 1;     // passes over the file list (training)
  uint64_t seed = 0;
  int shuffle_capacity = 0;  // examples; 0 = 5 x batch_size (SPEC §1.10)
  bool video_level = false;  // Example records with float features (SPEC §1.4)
  DecodeOptions decode;
  RecordReaderOptions records;
  int64_t skip_budget = 1000;  // corrupt records tolerated under CorruptPolicy::skip
  bool pinned = true;          // pinned batches when a CUDA device is present
  // Data parallelism (pipeline/distributed.h): this reader is shard `shard` of `num_shards`.
  // Training: each epoch's (shuffled) file order is dealt round-robin, shard r reading the files at
  // positions r, r + num_shards, ... (every file by exactly one shard per epoch; at least as many
  // files as shards). Evaluation: every shard frames every record, but only batches k with
  // k % num_shards == shard are assembled and delivered (Batch::index = k): together the shards
  // deliver the single-process batches, each exactly once.
  int num_shards = 1;
  int shard = 0;
};

struct Batch {
  int64_t size = 0;
  Tensor frames;       // u8 [B, max_frames, sum F] (frame-level) or f32 [B, sum F] (video-level)
  Tensor num_frames;   // i32 [B]
  Tensor labels;       // f32 [B, num_classes] multi-hot
  Tensor predictions;  // f32 [B, num_classes] for distillation records, else undefined
  std::vector<std::string> ids;
  std::vector<std::vector<int64_t>> label_lists;  // sorted, without duplicates
  int64_t index = 0;  // the batch's number in the unsharded sequence (0, 1, 2, ...)
};

// Records lost under CorruptPolicy::skip: corrupt records, the readable records a bad length field
// hid (the rest of its file), undecodable records; their bytes; the last problem, for the report.
struct SkipReport {
  int64_t records = 0;
  uint64_t bytes = 0;
  std::string last_problem;
};
// "N records (B bytes)", the figure that apps print at the end and in their summary line.
std::string skip_figure(const SkipReport& s);
// The end-of-run warning every reading app prints when records were skipped (nothing otherwise):
// "warning: skipped <figure> of corrupt data (last: <problem>)".
void warn_skipped(std::FILE* log, const SkipReport& s);

// Expands comma-separated glob patterns; throws naming the pattern when one matches no file.
std::vector<std::string> expand_patterns(const std::string& patterns,
                                         const char* flag_name = "data pattern");

class Reader {
 public:
  explicit Reader(ReaderOptions opts);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The next batch; false when the data is exhausted. Throws y8m::Error (naming file and record) on
  // a corrupt record under CorruptPolicy::fail, or when the skip budget is exceeded.
  bool next(Batch* batch);
  // Drops the next n examples without assembling them (resume).
  void skip_examples(int64_t n);

  int64_t position() const { return delivered_; }
  int64_t skipped_records() const;  // skipped().records
  SkipReport skipped() const;
  double examples_per_second() const;
  const std::vector<std::string>& files() const { return files_; }
  const ReaderOptions& options() const { return opts_; }

 private:
  struct Impl;
  ReaderOptions opts_;
  std::vector<std::string> files_;
  int64_t delivered_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace y8m::io
