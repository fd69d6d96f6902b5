// TFRecord framing: round trips, the on-disk layout, every corruption case and the atomic writer.
#include "io/tfrecord.h"
#include "io/crc32c.h"
#include "tests/common/test_util.h"

#include "engine/error.h"

#include <gtest/gtest.h>

#include <functional>

#include <cstring>
#include <filesystem>

namespace y8m::io {
namespace {

using testing::TempDir;

std::vector<std::string> write_records(const std::string& path,
                                       const std::vector<std::string>& recs) {
  RecordWriter w(path);
  for (const auto& r : recs) w.write(r);
  w.close();
  return recs;
}

std::vector<std::string> read_all(const std::string& path, RecordReaderOptions o = {},
                                  int64_t* skipped = nullptr) {
  RecordReader r(path, o);
  std::vector<std::string> out;
  std::string_view v;
  while (r.next(&v)) out.emplace_back(v);
  if (skipped) *skipped = r.skipped();
  return out;
}

using testing::error_of;

TEST(TFRecord, RoundTripAndLayout) {
  TempDir d;
  const auto recs =
      write_records(d.file("a.tfrecord"), {"", "x", std::string(100000, 'z'), "last"});
  EXPECT_EQ(read_all(d.file("a.tfrecord")), recs);
  const std::string bytes = testing::read_file(d.file("a.tfrecord"));
  ASSERT_EQ(bytes.size(), 4 * 16 + 1 + 100000 + 4);
  // Record 1 ("x"): u64 length 1, masked CRC of the length bytes, the data, masked CRC of the data.
  const char* r1 = bytes.data() + 16;
  uint64_t len;
  std::memcpy(&len, r1, 8);
  EXPECT_EQ(len, 1u);
  uint32_t lcrc, dcrc;
  std::memcpy(&lcrc, r1 + 8, 4);
  std::memcpy(&dcrc, r1 + 13, 4);
  EXPECT_EQ(lcrc, masked_crc32c(r1, 8));
  EXPECT_EQ(r1[12], 'x');
  EXPECT_EQ(dcrc, masked_crc32c("x", 1));
}

TEST(TFRecord, EmptyFileHasNoRecords) {
  TempDir d;
  testing::write_file(d.file("empty"), "");
  EXPECT_TRUE(read_all(d.file("empty")).empty());
}

TEST(TFRecord, MissingFileNamesIt) {
  const std::string msg = error_of([] { RecordReader r("/nonexistent/file.tfrecord"); });
  EXPECT_NE(msg.find("/nonexistent/file.tfrecord"), std::string::npos) << msg;
}

class Corrupt : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = d_.file("c.tfrecord");
    write_records(path_, {"first record", "second record", "third record"});
    bytes_ = testing::read_file(path_);
  }
  void corrupt(size_t at) {
    std::string b = bytes_;
    b[at] = static_cast<char>(b[at] ^ 0x40);
    testing::write_file(path_, b);
  }
  TempDir d_;
  std::string path_, bytes_;
};

// Offsets: record 0 at 0 (12 data bytes), record 1 at 28, record 2 at 57.
TEST_F(Corrupt, FlippedPayloadByteFailsNamingFileRecordAndOffset) {
  corrupt(28 + 12 + 3);
  const std::string msg = error_of([&] { read_all(path_); });
  EXPECT_NE(msg.find(path_), std::string::npos) << msg;
  EXPECT_NE(msg.find("record 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("offset 28"), std::string::npos) << msg;
  EXPECT_NE(msg.find("data CRC"), std::string::npos) << msg;
}

TEST_F(Corrupt, FlippedPayloadByteIsSkippedAndCounted) {
  corrupt(28 + 12 + 3);
  int64_t skipped = 0;
  const auto recs = read_all(path_, {true, CorruptPolicy::skip}, &skipped);
  EXPECT_EQ(recs, (std::vector<std::string>{"first record", "third record"}));
  EXPECT_EQ(skipped, 1);
}

TEST_F(Corrupt, FlippedLengthByte) {
  corrupt(28 + 1);
  const std::string msg = error_of([&] { read_all(path_); });
  EXPECT_NE(msg.find("length CRC"), std::string::npos) << msg;
  int64_t skipped = 0;
  // The rest of the file cannot be framed: one record read, the tail counted as one skip.
  EXPECT_EQ(read_all(path_, {true, CorruptPolicy::skip}, &skipped).size(), 1u);
  EXPECT_EQ(skipped, 1);
}

// What a skip lost: a bad length field hides the records behind it (found by their headers) and
// every byte from the bad header on; a data CRC mismatch loses one record and its bytes.
TEST_F(Corrupt, SkipsCountLostRecordsAndBytes) {
  RecordReaderOptions skip;
  skip.on_corrupt = CorruptPolicy::skip;
  corrupt(28 + 1);
  {
    RecordReader r(path_, skip);
    std::string_view v;
    while (r.next(&v)) {
    }
    EXPECT_EQ(r.skipped(), 1);
    EXPECT_EQ(r.lost_records(), 2);
    EXPECT_EQ(r.lost_bytes(), bytes_.size() - 28);
  }
  corrupt(28 + 12 + 3);
  RecordReader r(path_, skip);
  std::string_view v;
  while (r.next(&v)) {
  }
  EXPECT_EQ(r.lost_records(), 1);
  EXPECT_EQ(r.lost_bytes(), 12u + 13 + 4);
}

TEST_F(Corrupt, CountRecordsNeverFailsOnCorruptFiles) {
  corrupt(28 + 1);  // framed before the bad length: record 0
  EXPECT_EQ(count_records({path_}), 1);
  testing::write_file(path_, bytes_.substr(0, bytes_.size() - 5));
  EXPECT_EQ(count_records({path_}), 2);
}

TEST_F(Corrupt, FailHintIsOptional) {
  corrupt(28 + 12 + 3);
  EXPECT_NE(error_of([&] { read_all(path_); }).find("--corrupt_records=skip"), std::string::npos);
  RecordReaderOptions o;
  o.fail_hint.clear();
  const std::string msg = error_of([&] { read_all(path_, o); });
  EXPECT_EQ(msg.find("--corrupt_records"), std::string::npos) << msg;
  EXPECT_NE(msg.find("data CRC mismatch"), std::string::npos) << msg;
}

TEST_F(Corrupt, TruncatedTail) {
  testing::write_file(path_, bytes_.substr(0, bytes_.size() - 5));
  const std::string msg = error_of([&] { read_all(path_); });
  EXPECT_NE(msg.find("record 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  testing::write_file(path_, bytes_.substr(0, 57 + 5));  // inside record 2's header
  EXPECT_NE(error_of([&] { read_all(path_); }).find("truncated header"), std::string::npos);
}

TEST_F(Corrupt, UncheckedCrcStillFramesSafely) {
  corrupt(28 + 12 + 3);
  EXPECT_EQ(read_all(path_, {false, CorruptPolicy::fail}).size(), 3u);
}

TEST(TFRecord, GarbageFileFails) {
  TempDir d;
  testing::write_file(d.file("g"), std::string(1000, '\x7f'));
  const std::string msg = error_of([&] { read_all(d.file("g")); });
  EXPECT_NE(msg.find("record 0"), std::string::npos) << msg;
}

TEST(TFRecord, HugeLengthWithValidCrcIsRejected) {
  TempDir d;
  std::string b(12, '\0');
  const uint64_t len = uint64_t(1) << 62;
  std::memcpy(&b[0], &len, 8);
  const uint32_t c = masked_crc32c(b.data(), 8);
  std::memcpy(&b[8], &c, 4);
  testing::write_file(d.file("h"), b + "abc");
  const std::string msg = error_of([&] { read_all(d.file("h")); });
  EXPECT_NE(msg.find("exceeds"), std::string::npos) << msg;
}

TEST(TFRecord, UnclosedWriterLeavesNothing) {
  TempDir d;
  {
    RecordWriter w(d.file("out.tfrecord"));
    w.write("data");
  }
  EXPECT_TRUE(std::filesystem::is_empty(d.path()));
}

TEST(TFRecord, SeekResumes) {
  TempDir d;
  write_records(d.file("s"), {"a", "bb", "ccc"});
  RecordReader r(d.file("s"));
  std::string_view v;
  ASSERT_TRUE(r.next(&v));
  const uint64_t off = r.offset();
  RecordReader r2(d.file("s"));
  r2.seek(off, 1);
  ASSERT_TRUE(r2.next(&v));
  EXPECT_EQ(v, "bb");
  EXPECT_EQ(r2.records_read(), 2);
}

// CRC-32 (IEEE, reflected 0xEDB88320) and Adler-32, for hand-built gzip and zlib files.
uint32_t crc32_ieee(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}
uint32_t adler32(const std::string& s) {
  uint32_t a = 1, b = 0;
  for (unsigned char x : s) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return b << 16 | a;
}
// One stored (uncompressed) deflate block holding `s` (< 64 KiB): valid gzip and zlib payloads.
std::string stored_block(const std::string& s) {
  const uint16_t n = static_cast<uint16_t>(s.size()), nn = static_cast<uint16_t>(~n);
  std::string out(1, '\x01');  // BFINAL, BTYPE 00
  out.append(reinterpret_cast<const char*>(&n), 2);
  out.append(reinterpret_cast<const char*>(&nn), 2);
  return out + s;
}
std::string gzip_file(const std::string& s) {  // RFC 1952
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  out += stored_block(s);
  const uint32_t crc = crc32_ieee(s), size = static_cast<uint32_t>(s.size());
  out.append(reinterpret_cast<const char*>(&crc), 4);
  out.append(reinterpret_cast<const char*>(&size), 4);
  return out;
}
std::string zlib_file(const std::string& s) {  // RFC 1950, as TF's ZLIB option writes
  std::string out("\x78\x9c", 2);
  out += stored_block(s);
  const uint32_t a = adler32(s);
  for (int k = 3; k >= 0; --k) out += static_cast<char>((a >> (8 * k)) & 0xff);  // big-endian
  return out;
}

// TFRecordOptions(GZIP / ZLIB) files are refused under both policies, with or without CRC checks,
// naming the file and the compression and saying how to decompress; so does count_records.
TEST(TFRecord, CompressedFilesAreRefusedSayingHowToDecompress) {
  TempDir d;
  write_records(d.file("plain.tfrecord"), {"first", std::string(300, 'r'), "last"});
  const std::string plain = testing::read_file(d.file("plain.tfrecord"));
  testing::write_file(d.file("a.gz.tfrecord"), gzip_file(plain));
  testing::write_file(d.file("a.zlib.tfrecord"), zlib_file(plain));
  testing::write_file(d.file("tiny.gz"), std::string("\x1f\x8b\x08", 3));  // shorter than a header
  const struct {
    std::string file, kind, hint;
  } cases[] = {{"a.gz.tfrecord", "GZIP", "gzip -dc"},
               {"a.zlib.tfrecord", "ZLIB", "zlib.decompress"},
               {"tiny.gz", "GZIP", "gzip -dc"}};
  for (const auto& c : cases) {
    for (auto policy : {CorruptPolicy::fail, CorruptPolicy::skip}) {
      for (bool verify : {true, false}) {
        RecordReaderOptions o;
        o.on_corrupt = policy;
        o.verify_crc = verify;
        const std::string msg = error_of([&] { read_all(d.file(c.file), o); });
        EXPECT_NE(msg.find(d.file(c.file) + ": a " + c.kind + "-compressed TFRecord file"),
                  std::string::npos)
            << msg;
        EXPECT_NE(msg.find(c.hint), std::string::npos) << msg;
      }
    }
  }
  EXPECT_EQ(count_records({d.file("plain.tfrecord")}), 3);
  EXPECT_NE(error_of([&] { count_records({d.file("a.gz.tfrecord")}); }).find("GZIP-compressed"),
            std::string::npos);
}

// An uncompressed file whose first length field starts with the gzip or zlib magic bytes (records
// of 0x8b1f and 0x9c78 bytes) reads normally: the magic is only looked at when framing fails.
TEST(TFRecord, LengthFieldsThatLookCompressedStillRead) {
  TempDir d;
  for (size_t len : {size_t{0x8b1f}, size_t{0x9c78}}) {
    const std::string path = d.file("look" + std::to_string(len) + ".tfrecord");
    const auto recs = write_records(path, {std::string(len, 'q'), "b"});
    const std::string bytes = testing::read_file(path);
    ASSERT_NE(compression_of(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
              nullptr);
    EXPECT_EQ(read_all(path), recs);
  }
}

TEST(TFRecord, PolicyNames) {
  EXPECT_EQ(corrupt_policy_from_name("skip"), CorruptPolicy::skip);
  EXPECT_NE(error_of([] { corrupt_policy_from_name("ignore"); }).find("--corrupt_records"),
            std::string::npos);
}

}  // namespace
}  // namespace y8m::io
