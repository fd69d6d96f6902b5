#include "io/tfrecord.h"

#include "engine/error.h"
#include "io/atomic_file.h"
#include "io/crc32c.h"
#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace y8m::io {

namespace {
uint64_t load_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;  // little-endian host (x86-64, aarch64)
}
uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
constexpr uint64_t kHeader = 12, kFooter = 4;
// Readahead is requested this far ahead of the reader, renewed when it is half consumed: ~90 frame
// records, enough for the disk to stay ahead of the decoder without holding much page cache.
constexpr uint64_t kReadAheadWindow = uint64_t(32) << 20;
// The reader maps pages in steps of this size ahead of the records it returns, so the threads that
// checksum and copy the records (io/reader.cpp) take no page faults.
constexpr uint64_t kPopulateStep = uint64_t(4) << 20;
}  // namespace

const char* compression_of(const uint8_t* data, uint64_t size) {
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) return "GZIP";
  // RFC 1950: CM = 8 (deflate), window <= 32 KiB, FCHECK makes CMF·256 + FLG a multiple of 31.
  if (size >= 2 && (data[0] & 0x0f) == 8 && (data[0] >> 4) <= 7 &&
      (data[0] * 256 + data[1]) % 31 == 0)
    return "ZLIB";
  return nullptr;
}

CorruptPolicy corrupt_policy_from_name(const std::string& name) {
  if (name == "fail") return CorruptPolicy::fail;
  if (name == "skip") return CorruptPolicy::skip;
  Y8M_FAIL("--corrupt_records: expected 'fail' or 'skip', got '{}'", name);
}

RecordReader::RecordReader(const std::string& path, RecordReaderOptions opts)
    : path_(path), opts_(opts) {
  file_ = map_file(path, /*sequential=*/opts_.read_ahead);
  data_ = file_.data.get();
  size_ = file_.size;
}

RecordReader::~RecordReader() = default;

void RecordReader::corrupt(const std::string& what, uint64_t at, uint64_t end, bool frames_lost) {
  const std::string msg =
      fmt::format("{}: record {} at byte offset {}: {}", path_, index_, at, what);
  Y8M_CHECK(opts_.on_corrupt == CorruptPolicy::skip, "{}{}", msg,
            opts_.fail_hint.empty() ? "" : " (" + opts_.fail_hint + ")");
  last_problem_ = msg;
  ++skipped_;
  ++index_;
  lost_bytes_ += end - at;
  lost_records_ += 1 + (frames_lost ? count_framed_records(data_, at + 1, end) : 0);
}

void RecordReader::refuse_compressed(uint64_t at) const {
  const char* kind = at == 0 ? compression_of(data_, size_) : nullptr;
  if (kind == nullptr) return;
  const std::string how =
      kind[0] == 'G'
          ? "gzip -dc IN > OUT"
          : "python3 -c 'import sys, zlib; "
            "sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read()))' < IN > OUT";
  Y8M_FAIL(
      "{}: a {}-compressed TFRecord file (TFRecordOptions compression_type {}); y8m reads "
      "uncompressed TFRecords (the YouTube-8M files are): decompress it first, e.g. {}",
      path_, kind, kind, how);
}

void RecordReader::read_ahead(uint64_t at) {
  if (at + kReadAheadWindow / 2 >= prefetched_ && prefetched_ < size_) {
    prefetch(file_, prefetched_, kReadAheadWindow);
    prefetched_ += kReadAheadWindow;
  }
  // Records are much smaller than a step: mapping the next step covers this record's tail.
  while (at + kPopulateStep > populated_ && populated_ < size_) {
    populate(file_, populated_, kPopulateStep);
    populated_ += kPopulateStep;
  }
}

bool RecordReader::next(std::string_view* record) {
  while (offset_ < size_) {
    const uint64_t at = offset_;
    const uint64_t left = size_ - at;
    if (left < kHeader) {
      refuse_compressed(at);
      corrupt(fmt::format("truncated header ({} bytes left, a header has 12)", left), at, size_,
              false);
      offset_ = size_;
      return false;
    }
    if (opts_.read_ahead) read_ahead(at);
    const uint8_t* p = data_ + at;
    const uint64_t len = load_u64(p);
    if (opts_.verify_crc && crc32c_mask(crc32c(p, 8)) != load_u32(p + 8)) {
      refuse_compressed(at);
      corrupt("length CRC mismatch (corrupt length field)", at, size_, true);
      offset_ = size_;  // the rest of the file cannot be framed
      return false;
    }
    if (len > left - kHeader || left - kHeader - len < kFooter) {
      refuse_compressed(at);
      corrupt(
          fmt::format("record length {} exceeds the {} bytes left in the file (truncated file?)",
                      len, left - kHeader),
          at, size_, true);
      offset_ = size_;
      return false;
    }
    const uint8_t* d = p + kHeader;
    offset_ = at + kHeader + len + kFooter;
    expected_crc_ = crc32c_unmask(load_u32(d + len));
    if (opts_.verify_crc && !opts_.defer_data_crc && crc32c(d, len) != expected_crc_) {
      corrupt("data CRC mismatch (corrupt record)", at, offset_, false);
      continue;
    }
    record_offset_ = at;
    ++index_;
    *record = std::string_view(reinterpret_cast<const char*>(d), len);
    return true;
  }
  return false;
}

void RecordReader::seek(uint64_t offset, int64_t records_read) {
  Y8M_CHECK(offset <= size_, "{}: cannot seek to byte {} of a {}-byte file", path_, offset, size_);
  offset_ = offset;
  index_ = records_read;
}

int64_t count_records(const std::vector<std::string>& files) {
  int64_t total = 0;
  RecordReaderOptions o;
  o.defer_data_crc = true;  // length CRCs only: a record's data is not read
  o.read_ahead = false;     // touches one header per record, not the data
  o.on_corrupt = CorruptPolicy::skip;
  for (const auto& f : files) {
    RecordReader r(f, o);
    std::string_view rec;
    while (r.next(&rec)) ++total;
  }
  return total;
}

int64_t count_framed_records(const uint8_t* data, uint64_t from, uint64_t size) {
  int64_t n = 0;
  for (uint64_t p = from; p <= size && size - p >= kHeader + kFooter;) {
    const uint64_t len = load_u64(data + p);
    if (len <= size - p - kHeader - kFooter &&
        crc32c_mask(crc32c(data + p, 8)) == load_u32(data + p + 8)) {
      ++n;
      p += kHeader + len + kFooter;
    } else {
      ++p;
    }
  }
  return n;
}

void append_record(std::string* out, std::string_view data) {
  char header[12];
  const uint64_t len = data.size();
  std::memcpy(header, &len, 8);
  const uint32_t lcrc = masked_crc32c(header, 8);
  std::memcpy(header + 8, &lcrc, 4);
  out->append(header, 12);
  out->append(data.data(), data.size());
  const uint32_t dcrc = masked_crc32c(data.data(), data.size());
  out->append(reinterpret_cast<const char*>(&dcrc), 4);
}

RecordWriter::RecordWriter(const std::string& path, bool atomic) : path_(path), atomic_(atomic) {
  tmp_path_ = atomic ? temp_path_for(path) : path;
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  Y8M_CHECK(fd_ >= 0, "{}: cannot create: {}", tmp_path_, std::strerror(errno));
}

RecordWriter::~RecordWriter() {
  if (fd_ < 0) return;
  if (atomic_) {
    ::close(fd_);
    ::unlink(tmp_path_.c_str());
    return;
  }
  try {  // an append-mode file keeps what was written; destructors never throw
    flush();
  } catch (...) {
  }
  ::close(fd_);
}

void RecordWriter::flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t w = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (w < 0 && errno == EINTR) continue;
    Y8M_CHECK(w > 0, "{}: write failed: {}", tmp_path_, std::strerror(errno));
    done += static_cast<size_t>(w);
  }
  buffer_.clear();
}

void RecordWriter::write(std::string_view record) {
  Y8M_CHECK(fd_ >= 0, "{}: write after close", path_);
  append_record(&buffer_, record);
  ++count_;
  if (buffer_.size() >= (size_t(4) << 20)) flush();
}

void RecordWriter::close() {
  if (fd_ < 0) return;
  flush();
  Y8M_CHECK(::fsync(fd_) == 0, "{}: fsync failed: {}", tmp_path_, std::strerror(errno));
  Y8M_CHECK(::close(fd_) == 0, "{}: close failed: {}", tmp_path_, std::strerror(errno));
  fd_ = -1;
  if (!atomic_) return;
  Y8M_CHECK(::rename(tmp_path_.c_str(), path_.c_str()) == 0, "{}: cannot rename from {}: {}", path_,
            tmp_path_, std::strerror(errno));
}

}  // namespace y8m::io
