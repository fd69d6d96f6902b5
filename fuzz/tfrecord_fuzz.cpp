// libFuzzer target: io::RecordReader (TFRecord framing with CRC32C, io/tfrecord.h).
//
// The input is one TFRecord file (an in-memory file). Every exec reads it under each reader
// configuration: verify_crc off / on / on with the data CRC deferred to the caller, times
// CorruptPolicy fail / skip, plus a skip-mode read resumed from an arbitrary offset (seek) and a
// seek past the end (must throw). Contract and invariants:
//   - under `fail`, malformed framing throws y8m::Error naming the file; under `skip` nothing
//   throws, except for a compressed file (a gzip or zlib header where the first record does not
//   frame): another format, not corrupt data, refused under both policies;
//   - every returned record is the input's bytes at record_offset() + 12, its length field matches,
//     offset() moves to just past its footer, and records come in file order;
//   - with the CRC checked here, the record's CRC32C equals expected_data_crc();
//   - the reader always terminates at the end of the file: records_read() = returned + skipped,
//     offset() = file size afterwards, and no more records than 16-byte frames fit;
//   - memory: a reader holds at most about a copy of the file, whatever the length fields claim.
#include "fuzz/fuzz_util.h"

#include "io/crc32c.h"
#include "io/tfrecord.h"

#include <cstring>
#include <string_view>

namespace {

using y8m::fuzz::expect_user_error;
using y8m::fuzz::HeapScope;
using y8m::fuzz::MemFile;
using y8m::io::CorruptPolicy;
using y8m::io::RecordReader;
using y8m::io::RecordReaderOptions;

// Records are views of the file's bytes (mapped, or read into a chunk of at most the bytes left, so
// about one copy of a small file per reader, two while a chunk is replaced); otherwise only error
// messages (which quote the path, never the data) and the reader objects are allocated.
constexpr int64_t kHeapFactor = 3;
constexpr int64_t kHeapSlack = 16 << 10;

uint64_t load_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Reads to the end (or the first error under `fail`), checking every record against the input.
void read_all(const std::string& path, const uint8_t* data, size_t size, RecordReaderOptions opts,
              uint64_t start) {
  const bool skip = opts.on_corrupt == CorruptPolicy::skip;
  int64_t returned = 0;
  try {
    RecordReader r(path, opts);
    Y8M_FUZZ_CHECK(r.file_size() == size, "file_size %llu for %zu bytes",
                   static_cast<unsigned long long>(r.file_size()), size);
    if (start > 0) r.seek(start, 0);
    uint64_t prev_end = start;
    std::string_view rec;
    while (r.next(&rec)) {
      ++returned;
      Y8M_FUZZ_CHECK(returned <= static_cast<int64_t>(size / 16) + 1, "%lld records from %zu bytes",
                     static_cast<long long>(returned), size);
      const uint64_t at = r.record_offset();
      Y8M_FUZZ_CHECK(
          at >= prev_end && at + 16 + rec.size() <= size && r.offset() == at + 16 + rec.size(),
          "record at %llu of %zu bytes, next offset %llu, file %zu",
          static_cast<unsigned long long>(at), rec.size(),
          static_cast<unsigned long long>(r.offset()), size);
      Y8M_FUZZ_CHECK(load_u64(data + at) == rec.size(), "length field disagrees with the record");
      Y8M_FUZZ_CHECK(rec.empty() || std::memcmp(rec.data(), data + at + 12, rec.size()) == 0,
                     "record bytes differ from the file at %llu",
                     static_cast<unsigned long long>(at));
      if (opts.verify_crc && !opts.defer_data_crc)
        Y8M_FUZZ_CHECK(y8m::io::crc32c(rec.data(), rec.size()) == r.expected_data_crc(),
                       "returned a record whose data CRC is wrong");
      prev_end = r.offset();
    }
    Y8M_FUZZ_CHECK(r.offset() == size, "stopped at %llu of %zu bytes",
                   static_cast<unsigned long long>(r.offset()), size);
    Y8M_FUZZ_CHECK(r.records_read() == returned + r.skipped(), "records_read %lld != %lld + %lld",
                   static_cast<long long>(r.records_read()), static_cast<long long>(returned),
                   static_cast<long long>(r.skipped()));
    Y8M_FUZZ_CHECK(skip || r.skipped() == 0, "skipped a record under the fail policy");
    Y8M_FUZZ_CHECK(r.skipped() == 0 || !r.last_problem().empty(), "a skip without a problem");
    Y8M_FUZZ_CHECK(!r.next(&rec), "next() returned a record after the end");
    if (y8m::fuzz::verbose())
      std::fprintf(stderr, "  verify_crc %d defer %d %s from %llu: %lld records, %lld skipped\n",
                   opts.verify_crc, opts.defer_data_crc, skip ? "skip" : "fail",
                   static_cast<unsigned long long>(start), static_cast<long long>(returned),
                   static_cast<long long>(r.skipped()));
    bool threw = false;
    try {
      r.seek(size + 1, 0);
    } catch (const y8m::Error& e) {
      threw = std::string_view(e.what()).rfind("internal error", 0) != 0;
    }
    Y8M_FUZZ_CHECK(threw, "seek past the end accepted (or an internal assertion)");
  } catch (const y8m::Error& e) {
    Y8M_FUZZ_CHECK(!skip || (std::strstr(e.what(), "-compressed TFRecord file") != nullptr &&
                             y8m::io::compression_of(data, size) != nullptr),
                   "skip policy threw: %s", e.what());
    expect_user_error(e);
    Y8M_FUZZ_CHECK(std::strstr(e.what(), path.c_str()) != nullptr,
                   "message does not name the file: %s", e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MemFile file;
  file.write(data, size);
  HeapScope heap;
  for (CorruptPolicy policy : {CorruptPolicy::fail, CorruptPolicy::skip}) {
    RecordReaderOptions o;
    o.on_corrupt = policy;
    o.verify_crc = false;
    read_all(file.path(), data, size, o, 0);
    o.verify_crc = true;
    read_all(file.path(), data, size, o, 0);
    o.defer_data_crc = true;
    read_all(file.path(), data, size, o, 0);
  }
  // Resume from an arbitrary byte (the last two bytes pick it): framing garbage must end cleanly.
  if (size >= 2) {
    const uint64_t start = (uint64_t{data[size - 1]} << 8 | data[size - 2]) % (size + 1);
    RecordReaderOptions o;
    o.on_corrupt = CorruptPolicy::skip;
    read_all(file.path(), data, size, o, start);
    o.verify_crc = false;
    read_all(file.path(), data, size, o, start);
  }
  heap.check(size, kHeapFactor, kHeapSlack, "tfrecord");
  return 0;
}
