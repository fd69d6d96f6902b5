// The reader pipeline on a tiny synthetic dataset: exactly-once per epoch across threads,
// reproducible order for a seed, in-order evaluation, short final batches, exact resume,
// corrupt-record policies.
#include "io/reader.h"
#include "io/proto/example.pb.h"
#include "io/synth.h"
#include "tests/common/test_util.h"

#include "engine/error.h"

#include <gtest/gtest.h>

#include <functional>

#include <filesystem>
#include <map>

namespace y8m::io {
namespace {

class ReaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    SynthOptions o;
    apply_synth_preset("tiny", &o);
    o.output_dir = dir_->file("data");
    o.train_videos = 103;  // not a multiple of anything used below
    o.shards = 3;
    o.threads = 2;
    write_synth_dataset(o);
  }
  static void TearDownTestSuite() { delete dir_; }

  static ReaderOptions options(int batch, bool training, int readers, int epochs = 1,
                               uint64_t seed = 7) {
    ReaderOptions o;
    o.patterns = dir_->file("data/frame/train*.tfrecord");
    o.batch_size = batch;
    o.training = training;
    o.num_readers = readers;
    o.num_epochs = epochs;
    o.seed = seed;
    o.decode.num_classes = 50;
    return o;
  }
  static std::vector<std::string> ids(Reader& r, std::vector<int64_t>* sizes = nullptr) {
    std::vector<std::string> out;
    Batch b;
    while (r.next(&b)) {
      if (sizes) sizes->push_back(b.size);
      out.insert(out.end(), b.ids.begin(), b.ids.end());
    }
    return out;
  }
  static testing::TempDir* dir_;
};
testing::TempDir* ReaderTest::dir_ = nullptr;

TEST_F(ReaderTest, EvaluationReadsEveryExampleOnceInFileOrder) {
  Reader r(options(10, false, 1));
  std::vector<int64_t> sizes;
  const auto got = ids(r, &sizes);
  ASSERT_EQ(got.size(), 103u);
  EXPECT_EQ(sizes.back(), 3);  // short final batch
  // File order: the same as reading the files one after the other.
  std::vector<std::string> want;
  for (const auto& f : r.files()) {
    ReaderOptions o = options(1000, false, 1);
    o.patterns = f;
    Reader one(o);
    const auto part = ids(one);
    want.insert(want.end(), part.begin(), part.end());
  }
  EXPECT_EQ(got, want);
}

TEST_F(ReaderTest, TrainingReturnsEachExampleOncePerEpochAcrossThreads) {
  Reader r(options(16, true, 2, 3));
  const auto got = ids(r);
  ASSERT_EQ(got.size(), 3u * 103u);
  std::map<std::string, int> count;
  for (const auto& id : got) ++count[id];
  EXPECT_EQ(count.size(), 103u);
  for (const auto& kv : count) EXPECT_EQ(kv.second, 3) << kv.first;
}

TEST_F(ReaderTest, SeedReproducesTheOrder) {
  Reader a(options(16, true, 2, 2, 5)), b(options(16, true, 2, 2, 5)),
      c(options(16, true, 2, 2, 6));
  const auto ia = ids(a), ib = ids(b), ic = ids(c);
  EXPECT_EQ(ia, ib);
  EXPECT_NE(ia, ic);
  Reader e(options(16, false, 1));
  EXPECT_NE(std::vector<std::string>(ia.begin(), ia.begin() + 103), ids(e))
      << "training order is shuffled";
}

TEST_F(ReaderTest, SkipExamplesResumesExactly) {
  Reader full(options(8, true, 2, 2, 9));
  const auto all = ids(full);
  Reader resumed(options(8, true, 2, 2, 9));
  resumed.skip_examples(37);
  const auto rest = ids(resumed);
  EXPECT_EQ(rest, std::vector<std::string>(all.begin() + 37, all.end()));
  EXPECT_EQ(resumed.position(), static_cast<int64_t>(all.size()));
}

TEST_F(ReaderTest, BatchContents) {
  Reader r(options(4, false, 1));
  Batch b;
  ASSERT_TRUE(r.next(&b));
  EXPECT_EQ(b.frames.shape(), (Shape{4, 300, 1152}));
  EXPECT_EQ(b.frames.dtype(), DType::u8);
  EXPECT_EQ(b.labels.shape(), (Shape{4, 50}));
  const auto nf = b.num_frames.to_vector<int32_t>();
  const auto frames = b.frames.to_vector<uint8_t>();
  const auto labels = b.labels.to_vector<float>();
  for (int i = 0; i < 4; ++i) {
    EXPECT_GE(nf[static_cast<size_t>(i)], 5);
    EXPECT_LE(nf[static_cast<size_t>(i)], 20);
    // Padding slots are zero bytes; the last valid frame is not all zero.
    const size_t base = static_cast<size_t>(i) * 300 * 1152;
    for (size_t k = static_cast<size_t>(nf[static_cast<size_t>(i)]) * 1152; k < 300 * 1152; k += 97)
      ASSERT_EQ(frames[base + k], 0);
    float nlab = 0;
    for (int c = 0; c < 50; ++c) nlab += labels[static_cast<size_t>(i * 50 + c)];
    EXPECT_EQ(nlab, static_cast<float>(b.label_lists[static_cast<size_t>(i)].size()));
  }
}

TEST_F(ReaderTest, NoMatchingFileIsAnError) {
  ReaderOptions o = options(4, false, 1);
  o.patterns = dir_->file("nothing*.tfrecord");
  try {
    Reader r(o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nothing*.tfrecord"), std::string::npos) << e.what();
  }
}

TEST_F(ReaderTest, CorruptRecordFailsOrIsSkipped) {
  testing::TempDir d;
  const auto files = expand_patterns(dir_->file("data/frame/train*.tfrecord"));
  std::string bytes = testing::read_file(files[0]);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 1);
  testing::write_file(d.file("bad.tfrecord"), bytes);
  ReaderOptions o = options(8, false, 1);
  o.patterns = d.file("bad.tfrecord");
  {
    Reader r(o);
    Batch b;
    try {
      while (r.next(&b)) {
      }
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("bad.tfrecord: record"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("data CRC mismatch"), std::string::npos) << e.what();
    }
  }
  o.records.on_corrupt = CorruptPolicy::skip;
  Reader r(o);
  const auto got = ids(r);
  EXPECT_EQ(r.skipped_records(), 1);
  ReaderOptions clean = options(8, false, 1);
  clean.patterns = files[0];
  Reader c(clean);
  EXPECT_EQ(got.size() + 1, ids(c).size());
  o.skip_budget = 0;
  Reader strict(o);
  EXPECT_THROW(ids(strict), Error);
}

// A corrupt length field loses the rest of its file: the reader reports every record behind it and
// every byte, and the budget counts them.
TEST_F(ReaderTest, BadLengthReportsEveryLostRecordAndByte) {
  testing::TempDir d;
  const auto files = expand_patterns(dir_->file("data/frame/train*.tfrecord"));
  std::string bytes = testing::read_file(files[0]);
  uint64_t len0 = 0;
  std::memcpy(&len0, bytes.data(), 8);
  const size_t at = 12 + len0 + 4;  // record 1
  bytes[at + 5] = static_cast<char>(bytes[at + 5] ^ 1);
  testing::write_file(d.file("bad.tfrecord"), bytes);
  ReaderOptions clean = options(8, false, 1);
  clean.patterns = files[0];
  Reader c(clean);
  const int64_t total = static_cast<int64_t>(ids(c).size());
  ReaderOptions o = options(8, false, 1);
  o.patterns = d.file("bad.tfrecord");
  o.records.on_corrupt = CorruptPolicy::skip;
  Reader r(o);
  EXPECT_EQ(ids(r).size(), 1u);
  const SkipReport s = r.skipped();
  EXPECT_EQ(s.records, total - 1);
  EXPECT_EQ(r.skipped_records(), total - 1);
  EXPECT_EQ(s.bytes, bytes.size() - at);
  EXPECT_NE(s.last_problem.find("bad.tfrecord: record 1 at byte offset " + std::to_string(at)),
            std::string::npos)
      << s.last_problem;
  EXPECT_EQ(skip_figure(s), fmt::format("{} records ({} bytes)", total - 1, bytes.size() - at));
  o.skip_budget = total - 2;
  Reader strict(o);
  EXPECT_NE(testing::error_of([&] { ids(strict); }).find("too many corrupt records"),
            std::string::npos);
}

// Every byte of every batch row is the record's frames in feature order, zero-padded: for the
// default layout (frames copied with aligned streaming stores) and for odd feature sizes (unaligned
// rows, plain copies), across more batches than the buffer pool holds so reused buffers are
// checked too (a short example after a long one in the same slot), with a record over 300 frames.
TEST_F(ReaderTest, BatchRowsHoldTheRecordFramesExactly) {
  const std::vector<int> lengths = {300, 3, 250, 1, 7, 299, 2, 301, 5, 300, 4, 1, 60, 2};
  for (const auto& [names, sizes] : std::vector<std::pair<std::string, std::string>>{
           {"rgb,audio", "1024,128"}, {"rgb,audio", "21,7"}}) {
    SCOPED_TRACE(sizes);
    const FeatureSpec fs = FeatureSpec::parse(names, sizes);
    const int F = fs.total();
    auto byte_of = [](int video, int feature, int frame, int k) {
      return static_cast<uint8_t>(1 + (video * 31 + feature * 17 + frame * 7 + k) % 251);
    };
    testing::TempDir d;
    {
      RecordWriter w(d.file("rows.tfrecord"));
      for (int v = 0; v < static_cast<int>(lengths.size()); ++v) {
        std::vector<std::vector<std::string>> bytes(fs.sizes.size());
        std::vector<std::vector<std::string_view>> views(fs.sizes.size());
        for (size_t f = 0; f < fs.sizes.size(); ++f) {
          for (int t = 0; t < lengths[static_cast<size_t>(v)]; ++t) {
            std::string frame(static_cast<size_t>(fs.sizes[f]), '\0');
            for (int k = 0; k < fs.sizes[f]; ++k)
              frame[static_cast<size_t>(k)] =
                  static_cast<char>(byte_of(v, static_cast<int>(f), t, k));
            bytes[f].push_back(frame);
          }
          for (const std::string& b : bytes[f]) views[f].push_back(b);
        }
        w.write(encode_frame_record("v" + std::to_string(v), {v % 50}, views, fs));
      }
      w.close();
    }
    ReaderOptions o = options(2, false, 1);
    o.patterns = d.file("rows.tfrecord");
    o.decode.features = fs;
    Reader r(o);
    Batch b;
    int v = 0;
    while (r.next(&b)) {
      ASSERT_EQ(b.frames.shape(), (Shape{b.size, 300, F}));
      const auto frames = b.frames.to_vector<uint8_t>();
      const auto nf = b.num_frames.to_vector<int32_t>();
      for (int64_t i = 0; i < b.size; ++i, ++v) {
        ASSERT_EQ(b.ids[static_cast<size_t>(i)], "v" + std::to_string(v));
        const int n = std::min(lengths[static_cast<size_t>(v)], 300);
        ASSERT_EQ(nf[static_cast<size_t>(i)], n);
        for (int t = 0; t < 300; ++t)
          for (int c = 0, f = 0, k = 0; c < F; ++c, ++k) {
            if (k == fs.sizes[static_cast<size_t>(f)]) k = 0, ++f;
            const uint8_t want = t < n ? byte_of(v, f, t, k) : 0;
            ASSERT_EQ(frames[static_cast<size_t>((i * 300 + t) * F + c)], want)
                << "video " << v << " frame " << t << " column " << c;
          }
      }
    }
    EXPECT_EQ(v, static_cast<int>(lengths.size()));
  }
}

// A record with a valid CRC that does not decode (label out of range): the error names the file,
// the record and its offset, in training mode (decode deferred to the batch assembly threads)
// and evaluation mode alike; under the skip policy it is skipped and counted.
TEST_F(ReaderTest, UndecodableRecordNamesFileRecordAndOffset) {
  testing::TempDir d;
  const std::string frame(1024 + 128, '\x01');
  const std::string rgb = frame.substr(0, 1024), audio = frame.substr(1024);
  const FeatureSpec fs = FeatureSpec::frame_default();
  std::string first_record;
  {
    RecordWriter w(d.file("labels.tfrecord"));
    first_record = encode_frame_record("ok0", {1}, {{rgb, rgb}, {audio, audio}}, fs);
    w.write(first_record);
    w.write(encode_frame_record("bad1", {2, 77}, {{rgb}, {audio}}, fs));
    w.write(encode_frame_record("ok2", {3}, {{rgb}, {audio}}, fs));
    w.close();
  }
  const std::string offset = std::to_string(first_record.size() + 16);
  for (bool training : {false, true}) {
    ReaderOptions o = options(2, training, 1);
    o.patterns = d.file("labels.tfrecord");
    Reader r(o);
    const std::string msg = testing::error_of([&] { ids(r); });
    EXPECT_NE(msg.find("labels.tfrecord: record 1 at byte offset " + offset +
                       ": label 77 outside [0, 50)"),
              std::string::npos)
        << msg;
  }
  ReaderOptions o = options(2, true, 1);
  o.patterns = d.file("labels.tfrecord");
  o.records.on_corrupt = CorruptPolicy::skip;
  Reader r(o);
  std::vector<std::string> got = ids(r);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"ok0", "ok2"}));
  EXPECT_EQ(r.skipped_records(), 1);
}

// A record without a `labels` key (TF VarLenFeature: no labels) reads as an all-zero label row, for
// training and for evaluation.
TEST_F(ReaderTest, RecordWithoutLabelsKeyHasNoLabels) {
  testing::TempDir d;
  const std::string rgb(1024, '\x02'), audio(128, '\x03');
  const FeatureSpec fs = FeatureSpec::frame_default();
  tensorflow::SequenceExample ex;
  ASSERT_TRUE(ex.ParseFromString(encode_frame_record("nolabels", {4}, {{rgb}, {audio}}, fs)));
  ex.mutable_context()->mutable_feature()->erase("labels");
  {
    RecordWriter w(d.file("mixed.tfrecord"));
    w.write(encode_frame_record("labelled", {1, 3}, {{rgb}, {audio}}, fs));
    w.write(ex.SerializeAsString());
    w.close();
  }
  for (bool training : {false, true}) {
    ReaderOptions o = options(2, training, 1);
    o.patterns = d.file("mixed.tfrecord");
    Reader r(o);
    Batch b;
    ASSERT_TRUE(r.next(&b));
    ASSERT_EQ(b.size, 2);
    for (int64_t i = 0; i < 2; ++i) {
      const float* row = b.labels.data<float>() + i * 50;
      float sum = 0;
      for (int c = 0; c < 50; ++c) sum += row[c];
      if (b.ids[static_cast<size_t>(i)] == "nolabels") {
        EXPECT_EQ(sum, 0.f);
      } else {
        EXPECT_EQ(sum, 2.f);
        EXPECT_EQ(row[1], 1.f);
        EXPECT_EQ(row[3], 1.f);
      }
    }
    EXPECT_FALSE(r.next(&b));
  }
}

// A GZIP-compressed TFRecord file is refused with a message saying so, under either policy.
TEST_F(ReaderTest, CompressedFileIsRefusedSayingSo) {
  testing::TempDir d;
  // A gzip member header (what TF's GZIP option writes first); the rest is never read.
  const std::string gz =
      std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10) + std::string(64, '\x55');
  testing::write_file(d.file("train.tfrecord.gz"), gz);
  for (auto policy : {CorruptPolicy::fail, CorruptPolicy::skip}) {
    ReaderOptions o = options(2, true, 1);
    o.patterns = d.file("train.tfrecord.gz");
    o.records.on_corrupt = policy;
    const std::string msg = testing::error_of([&] {
      Reader r(o);
      ids(r);
    });
    EXPECT_NE(msg.find("train.tfrecord.gz: a GZIP-compressed TFRecord file"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("gzip -dc"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace y8m::io

namespace y8m::io {
namespace {

// Data parallelism: training shards split each epoch's files, every file read by exactly one shard
// per epoch; evaluation shards take every P-th batch of the unsharded sequence.
TEST_F(ReaderTest, TrainingShardsReadEachFileOncePerEpoch) {
  std::map<std::string, int> unsharded, sharded;
  {
    ReaderOptions o = options(16, true, 1, 2);
    Reader r(o);
    for (const auto& id : ids(r)) ++unsharded[id];
  }
  std::vector<size_t> per_shard;
  for (int s = 0; s < 2; ++s) {
    ReaderOptions o = options(16, true, 1, 2);
    o.num_shards = 2;
    o.shard = s;
    Reader r(o);
    const std::vector<std::string> got = ids(r);
    per_shard.push_back(got.size());
    for (const auto& id : got) ++sharded[id];
  }
  EXPECT_EQ(sharded, unsharded);
  EXPECT_EQ(unsharded.size(), 103u);
  for (const auto& [id, n] : sharded) ASSERT_EQ(n, 2) << id;
  // 3 files, 2 shards: whole files, so neither shard has all, and both have some.
  EXPECT_GT(per_shard[0], 0u);
  EXPECT_GT(per_shard[1], 0u);
  EXPECT_EQ(per_shard[0] + per_shard[1], 2 * 103u);
}

TEST_F(ReaderTest, EvaluationShardsDeliverEveryPthBatch) {
  std::vector<std::vector<std::string>> batches;
  {
    Reader r(options(10, false, 1));
    Batch b;
    while (r.next(&b)) {
      EXPECT_EQ(b.index, static_cast<int64_t>(batches.size()));
      batches.push_back(b.ids);
    }
  }
  ASSERT_EQ(batches.size(), 11u);  // 103 examples
  std::vector<std::vector<std::string>> merged(batches.size());
  for (int s = 0; s < 3; ++s) {
    ReaderOptions o = options(10, false, 1);
    o.num_shards = 3;
    o.shard = s;
    Reader r(o);
    Batch b;
    int64_t expect = s;
    while (r.next(&b)) {
      ASSERT_EQ(b.index, expect);
      expect += 3;
      merged[static_cast<size_t>(b.index)] = b.ids;
    }
  }
  EXPECT_EQ(merged, batches);
}

TEST_F(ReaderTest, MoreTrainingShardsThanFilesIsAnError) {
  ReaderOptions o = options(16, true, 1);
  o.pattern_flag = "--train_data_pattern";
  o.num_shards = 4;
  o.shard = 3;
  testing::expect_error([&] { Reader r(o); },
                        {"--train_data_pattern: 3 file(s) for 4 ranks", "at least as many"});
}

}  // namespace
}  // namespace y8m::io
