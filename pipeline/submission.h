// The Kaggle submission CSV written by inference (SPEC §13, §16 items 22 and 25).
//
//   VideoId,LabelConfidencePairs
//   <id>,<label> <score> <label> <score> ...        one line per video, '\n'-terminated
//
// Each pair is printf "%d %g" of (class index, (double)score): what Python's "%i %g" % (label,
// score) gives for a numpy float32 score turned into a Python float (6 significant digits, trailing
// zeros removed, exponent form below 1e-4 or from 1e6 on: "1", "0.5", "1e-05", "0.000123457",
// "1e+06"). The top_k classes are listed by descending score; equal scores list the lower class
// index first (the original broke ties arbitrarily, SPEC §16 item 25). A video with fewer than
// top_k classes lists all of them.
//
// The header is the one the code wrote, not README_original's "Id,Labels" (SPEC §16 item 22).
#pragma once

#include "engine/tensor.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

struct z_stream_s;  // zlib's z_stream (global namespace)

namespace y8m::pipeline {

// The k best (class, score) pairs of one row of n scores, best first, ties to the lower class index
// (the ordering of top_k_indices in metrics.h). k > n gives n pairs; k <= 0 is an error naming
// --top_k.
std::vector<std::pair<int, float>> top_k_pairs(const float* scores, int n, int k);

// One "label score" pair exactly as the submission writes it ("%d %g").
std::string format_pair(int label, float score);

// Writes a submission atomically: rows go to a temporary file in the target's folder
// ("<path>.tmp-XXXXXXXX") and close() flushes, fsyncs and renames it to `path` (replacing any file
// there). Destroying an unclosed writer deletes the temporary file, so an interrupted run leaves
// nothing under the final name. A path ending in ".gz" is written gzip-compressed (zlib, default
// level); it decompresses to the same bytes as the plain file.
//
// Ids are written verbatim; an empty id or one containing ',', '\n' or '\r' is an error naming the
// id (it would break the CSV). A NaN score is an error naming the id and class: it cannot be
// ranked, and Kaggle rejects "nan" (the original would have written it).
// Appends one row ("<id>,<label> <score> ...\n") exactly as SubmissionWriter::add writes it, with
// its checks (errors name `where`).
void append_submission_row(std::string* out, const std::string& id, const float* scores,
                           int num_classes, int top_k, const std::string& where);

class SubmissionWriter {
 public:
  // Creates the temporary file and writes the header. Errors: top_k <= 0 (names --top_k), a path
  // that cannot be created (names the path and the system's reason).
  SubmissionWriter(const std::string& path, int top_k = 20);
  ~SubmissionWriter();
  SubmissionWriter(const SubmissionWriter&) = delete;
  SubmissionWriter& operator=(const SubmissionWriter&) = delete;

  // One video: `scores` holds num_classes (> 0) probabilities on the host.
  void add(const std::string& id, const float* scores, int num_classes);
  // A batch: probs is f32 [B, V] (any device; copied to the host when needed), ids has B entries.
  void add_batch(const std::vector<std::string>& ids, const Tensor& probs);
  // `count` rows formatted by append_submission_row (sharded inference: other ranks' rows).
  void add_rows(const std::string& rows, int64_t count);
  // Finishes the file and renames it into place. A second close() does nothing; add() after close()
  // is an error.
  void close();

  int64_t rows_written() const { return rows_; }
  const std::string& path() const { return path_; }

 private:
  void write_out(bool finish);  // moves buffer_ (compressed when gzip_) to the file
  void write_bytes(const char* data, size_t size);

  std::string path_, tmp_path_;
  int top_k_;
  bool gzip_;
  int fd_ = -1;
  ::z_stream_s* zstream_ = nullptr;  // gzip output only
  std::string buffer_;               // CSV text not yet written
  std::vector<char> zout_;           // compressed-output chunk
  int64_t rows_ = 0;
};

}  // namespace y8m::pipeline
