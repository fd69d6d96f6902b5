// TFRecord files (SPEC §1.1): a sequence of records, each
//   uint64 length | uint32 masked_crc32c(length bytes) | data[length] | uint32 masked_crc32c(data)
// little-endian, no file header. A file may end only after a complete record.
//
// RecordReader maps the file read-only and returns views into it (no copy). Every error names the
// file, the record index and the byte offset. With CorruptPolicy::fail (the default) the first bad
// record throws; with CorruptPolicy::skip a record whose data CRC is wrong is skipped and reading
// goes on, while a bad length field or a truncated tail ends the file (its remaining bytes cannot
// be framed); each skip is counted, and so is what it lost: the records (a bad length field loses
// the records after it too, counted by scanning the rest of the file for valid record headers) and
// the bytes. The reader always advances: it cannot loop.
//
// A GZIP- or ZLIB-compressed file (TFRecordOptions) is not read: when the first record does not
// frame and the file starts with a gzip (1f 8b) or zlib header, the reader throws under either
// policy, saying which compression it is and how to decompress the file. A valid uncompressed
// file is never taken for one (its first length CRC matches).
#pragma once
#include "io/io_layer.h"

#include "io/mapped_file.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace y8m::io {

enum class CorruptPolicy { fail, skip };

// "GZIP" or "ZLIB" when `data` starts with that format's header, else nullptr. Only a hint: an
// uncompressed record's length field can start with the same bytes.
const char* compression_of(const uint8_t* data, uint64_t size);
// Parses "fail" / "skip" (the --corrupt_records flag); throws naming the value otherwise.
CorruptPolicy corrupt_policy_from_name(const std::string& name);

struct RecordReaderOptions {
  bool verify_crc = true;
  CorruptPolicy on_corrupt = CorruptPolicy::fail;
  // With verify_crc, leave the data CRC to the caller (expected_data_crc()): the reader pipeline
  // checks it on the thread that copies the record into the batch (io/reader.cpp). Length CRCs are
  // always checked here.
  bool defer_data_crc = false;
  // Reading the records' data: the file is mapped for a front-to-back read and readahead is
  // requested a window ahead of the reader. false when only the framing is read (count_records).
  bool read_ahead = true;
  // Appended to the message of a corrupt record under CorruptPolicy::fail (empty: none). Apps
  // without --corrupt_records (y8m-inspect) clear it.
  std::string fail_hint = "use --corrupt_records=skip to skip bad records";
};

class RecordReader {
 public:
  RecordReader(const std::string& path, RecordReaderOptions opts = {});
  ~RecordReader();
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  // The next record, valid until the reader is destroyed. false at the end of the file.
  bool next(std::string_view* record);
  // Continue from a position previously reported by offset()/records_read() (exact resume).
  void seek(uint64_t offset, int64_t records_read);

  const std::string& path() const { return path_; }
  uint64_t offset() const { return offset_; }      // byte offset of the next record
  int64_t records_read() const { return index_; }  // records returned or skipped so far
  int64_t skipped() const { return skipped_; }     // corrupt records skipped
  // What the skips lost: the corrupt records plus, after a bad length field or a truncated header,
  // the records found behind it; and the bytes not returned (the whole tail after a bad length).
  int64_t lost_records() const { return lost_records_; }
  uint64_t lost_bytes() const { return lost_bytes_; }
  // The unmasked CRC32C the last returned record's data must have (for defer_data_crc).
  uint32_t expected_data_crc() const { return expected_crc_; }
  // Byte offset of the last returned record.
  uint64_t record_offset() const { return record_offset_; }
  uint64_t file_size() const { return size_; }
  // Describes why the last skip happened (empty if none), for end-of-run reports.
  const std::string& last_problem() const { return last_problem_; }

 private:
  // Requests readahead and maps pages ahead of byte `at` (RecordReaderOptions::read_ahead).
  void read_ahead(uint64_t at);
  // Handles a corrupt record at byte `at`: throws under `fail`; under `skip` records the problem
  // and what it lost: the bytes up to `end` (where reading resumes), and with `frames_lost` the
  // records that a bad length field hides in [at + 1, end).
  void corrupt(const std::string& what, uint64_t at, uint64_t end, bool frames_lost);
  // Throws if the record at `at` (framing failed there) is the start of a compressed file.
  void refuse_compressed(uint64_t at) const;

  std::string path_;
  RecordReaderOptions opts_;
  MappedFile file_;
  uint64_t prefetched_ = 0;        // readahead requested up to this byte
  uint64_t populated_ = 0;         // pages mapped up to this byte
  const uint8_t* data_ = nullptr;  // file_.data
  uint64_t size_ = 0;              // file_.size
  uint64_t offset_ = 0;
  int64_t index_ = 0;
  int64_t skipped_ = 0;
  int64_t lost_records_ = 0;
  uint64_t lost_bytes_ = 0;
  uint32_t expected_crc_ = 0;
  uint64_t record_offset_ = 0;
  std::string last_problem_;
};

// Writes records to `path` atomically: data goes to a temporary file in the same folder, and
// close() flushes, fsyncs and renames it to `path`. Destroying an unclosed writer deletes the
// temporary file, so an interrupted run never leaves a partial file under the final name. With
// atomic = false (TensorBoard event files, read while they grow) records go straight to `path`
// (created, must not exist) and flush() makes them visible.
class RecordWriter {
 public:
  explicit RecordWriter(const std::string& path, bool atomic = true);
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  void write(std::string_view record);
  void flush();
  void close();
  int64_t records_written() const { return count_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_path_;
  bool atomic_ = true;
  int fd_ = -1;
  std::string buffer_;
  int64_t count_ = 0;
};

// Records in the files, by framing alone (length CRCs checked, data CRCs not, no decoding):
// progress totals and ETAs. Never fails on a corrupt file (the reader reports it): the records
// framed before a bad length field count. A compressed file throws, as it does for the reader.
int64_t count_records(const std::vector<std::string>& files);

// Records with a valid header (length CRC) that fit in data[from, size), found by sliding over
// bytes that do not frame one: what a bad length field at `from - 1` made unreadable.
int64_t count_framed_records(const uint8_t* data, uint64_t from, uint64_t size);

// Frames one record into `out` (appends header, data and footer).
void append_record(std::string* out, std::string_view data);

}  // namespace y8m::io
