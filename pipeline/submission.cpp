#include "pipeline/submission.h"

#include "engine/error.h"
#include "io/atomic_file.h"
#include "pipeline/metrics.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace y8m::pipeline {

namespace {
constexpr size_t kFlushBytes = size_t(1) << 20;  // CSV text buffered before it goes to the file
constexpr size_t kZChunk = size_t(1) << 16;      // compressed bytes per write

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}
}  // namespace

std::vector<std::pair<int, float>> top_k_pairs(const float* scores, int n, int k) {
  Y8M_CHECK(k >= 1, "--top_k must be at least 1, got {}", k);
  Y8M_CHECK(n >= 0, "top_k_pairs: negative number of classes {}", n);
  std::vector<std::pair<int, float>> pairs;
  for (const int32_t c : top_k_indices(scores, n, k)) pairs.emplace_back(c, scores[c]);
  return pairs;
}

namespace {
// Appends "%d %g" of (label, (double)score). glibc prints a NaN with the sign bit set as "-nan";
// Python always prints "nan".
void append_pair(std::string* out, int label, float score) {
  char buf[64];
  const int len = std::isnan(score)
                      ? std::snprintf(buf, sizeof(buf), "%d nan", label)
                      : std::snprintf(buf, sizeof(buf), "%d %g", label, static_cast<double>(score));
  out->append(buf, static_cast<size_t>(len));
}
}  // namespace

std::string format_pair(int label, float score) {
  std::string s;
  append_pair(&s, label, score);
  return s;
}

SubmissionWriter::SubmissionWriter(const std::string& path, int top_k)
    : path_(path), top_k_(top_k), gzip_(ends_with(path, ".gz")) {
  Y8M_CHECK(top_k >= 1, "--top_k must be at least 1, got {}", top_k);
  Y8M_CHECK(!path.empty(), "submission: empty output path");
  struct stat st;
  Y8M_CHECK(::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode),
            "{}: cannot write the submission: it is a directory", path);
  tmp_path_ = io::temp_path_for(path);
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  Y8M_CHECK(fd_ >= 0, "{}: cannot create the submission (temporary file {}): {}", path, tmp_path_,
            std::strerror(errno));
  if (gzip_) {
    zstream_ = new z_stream{};
    // windowBits 15 + 16: a gzip wrapper (header with no name and mtime 0, so the output is
    // reproducible).
    if (deflateInit2(zstream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      delete zstream_;
      zstream_ = nullptr;
      ::close(fd_);
      ::unlink(tmp_path_.c_str());
      fd_ = -1;
      Y8M_FAIL("{}: zlib deflateInit2 failed", path);
    }
    zout_.resize(kZChunk);
  }
  buffer_ = "VideoId,LabelConfidencePairs\n";
}

SubmissionWriter::~SubmissionWriter() {
  if (zstream_ != nullptr) {
    deflateEnd(zstream_);
    delete zstream_;
  }
  if (fd_ >= 0) {  // never closed: drop the partial file, never throw
    ::close(fd_);
    ::unlink(tmp_path_.c_str());
  }
}

void append_submission_row(std::string* out, const std::string& id, const float* scores,
                           int num_classes, int top_k, const std::string& where) {
  Y8M_CHECK(!id.empty(), "{}: empty video id", where);
  Y8M_CHECK(id.find_first_of(",\n\r") == std::string::npos,
            "{}: video id {:?} contains a comma or a line break and cannot be written to the CSV",
            where, id);
  Y8M_CHECK(num_classes >= 1 && scores != nullptr, "{}: video '{}' has no scores (num_classes {})",
            where, id, num_classes);
  for (int c = 0; c < num_classes; ++c) {
    Y8M_CHECK(!std::isnan(scores[c]), "{}: video '{}' has a NaN score for class {}", where, id, c);
  }
  *out += id;
  char sep = ',';
  for (const auto& [label, score] : top_k_pairs(scores, num_classes, top_k)) {
    *out += sep;
    append_pair(out, label, score);
    sep = ' ';
  }
  *out += '\n';
}

void SubmissionWriter::add(const std::string& id, const float* scores, int num_classes) {
  Y8M_CHECK(fd_ >= 0, "{}: add after close", path_);
  append_submission_row(&buffer_, id, scores, num_classes, top_k_,
                        fmt::format("{} (row {})", path_, rows_ + 1));
  ++rows_;
  if (buffer_.size() >= kFlushBytes) write_out(false);
}

void SubmissionWriter::add_rows(const std::string& rows, int64_t count) {
  Y8M_CHECK(fd_ >= 0, "{}: add after close", path_);
  buffer_ += rows;
  rows_ += count;
  if (buffer_.size() >= kFlushBytes) write_out(false);
}

void SubmissionWriter::add_batch(const std::vector<std::string>& ids, const Tensor& probs) {
  Y8M_CHECK(probs.dim() == 2 && probs.dtype() == DType::f32,
            "{}: submission probabilities must be f32 [batch, classes], got {}", path_,
            probs.str());
  Y8M_CHECK(probs.size(0) == static_cast<int64_t>(ids.size()),
            "{}: {} video ids for probabilities {}", path_, ids.size(), probs.str());
  Y8M_CHECK(probs.size(1) >= 1 && probs.size(1) <= INT32_MAX,
            "{}: bad number of classes in probabilities {}", path_, probs.str());
  const Tensor host = probs.to(Device::cpu());
  const float* p = host.data<float>();
  const int V = static_cast<int>(host.size(1));
  for (size_t b = 0; b < ids.size(); ++b) add(ids[b], p + b * static_cast<size_t>(V), V);
}

void SubmissionWriter::write_bytes(const char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t w = ::write(fd_, data + done, size - done);
    if (w < 0 && errno == EINTR) continue;
    Y8M_CHECK(w > 0, "{}: write failed (temporary file {}): {}", path_, tmp_path_,
              std::strerror(errno));
    done += static_cast<size_t>(w);
  }
}

void SubmissionWriter::write_out(bool finish) {
  if (!gzip_) {
    write_bytes(buffer_.data(), buffer_.size());
    buffer_.clear();
    return;
  }
  zstream_->next_in = reinterpret_cast<Bytef*>(buffer_.data());
  zstream_->avail_in = static_cast<uInt>(buffer_.size());
  int ret = Z_OK;
  do {  // deflate until it stops filling whole chunks (all input consumed; with Z_FINISH, stream
        // ended)
    zstream_->next_out = reinterpret_cast<Bytef*>(zout_.data());
    zstream_->avail_out = static_cast<uInt>(zout_.size());
    ret = deflate(zstream_, finish ? Z_FINISH : Z_NO_FLUSH);
    Y8M_CHECK(ret != Z_STREAM_ERROR, "{}: zlib deflate failed", path_);
    write_bytes(zout_.data(), zout_.size() - zstream_->avail_out);
  } while (zstream_->avail_out == 0);
  Y8M_ASSERT(zstream_->avail_in == 0 && (!finish || ret == Z_STREAM_END), "deflate left input");
  buffer_.clear();
}

void SubmissionWriter::close() {
  if (fd_ < 0) return;
  write_out(true);
  Y8M_CHECK(::fsync(fd_) == 0, "{}: fsync failed (temporary file {}): {}", path_, tmp_path_,
            std::strerror(errno));
  const int fd = fd_;
  fd_ = -1;
  const bool closed = ::close(fd) == 0;
  const int close_errno = errno;
  if (!closed || ::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    const int err = closed ? errno : close_errno;
    ::unlink(tmp_path_.c_str());
    Y8M_FAIL("{}: cannot {} the submission (temporary file {}): {}", path_,
             closed ? "rename into place" : "close", tmp_path_, std::strerror(err));
  }
}

}  // namespace y8m::pipeline
