// The submission CSV (SPEC §13): byte-exact against a golden file made by Python's "%i %g", gzip
// output, atomic writing and errors.
//
// fixtures/submission_golden.csv was written by this Python (numpy), independently of the C++ code:
//   f32 = np.float32
//   videos = [(id, scores) for the four videos built in golden_videos() below]
//   for vid, s in videos:
//       s = [f32(x) for x in s]
//       order = sorted(range(len(s)), key=lambda i: -s[i])[:20]  # stable: lower index first on ties
//       f.write(vid + "," + " ".join("%i %g" % (i, float(s[i])) for i in order) + "\n")
// after the header line "VideoId,LabelConfidencePairs\n".
#include "pipeline/submission.h"

#include "engine/error.h"
#include "tests/common/test_util.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace y8m::pipeline {
namespace {

namespace fs = std::filesystem;

std::string fixture(const std::string& name) {
  return (fs::path(Y8M_PIPELINE_FIXTURES) / name).string();
}

// The scores of the golden file: %g edge cases, ties inside and at the top-20 cut, fewer classes
// than top_k, and a real-size row (3862 classes) whose best scores are all tied.
std::vector<std::pair<std::string, std::vector<float>>> golden_videos() {
  std::vector<std::pair<std::string, std::vector<float>>> v;
  v.push_back(
      {"Ab3d", {0.5f,       1e-05f,    1.234567e-05f, 0.0001234567f, 100000.f, 1e6f,    0.f,
                0.9999999f, 0.999999f, 1.f,           0.9765625f,    0.1f,     0.0001f, 1234567.f,
                123456.7f,  999999.5f, 1e-45f,        0.3333333f,    2.5e-05f, 1e-30f}});
  std::vector<float> ties(24, 0.25f);
  ties[0] = 0.1f;
  ties[5] = ties[20] = 0.9f;
  v.push_back({"zz9_", ties});
  v.push_back({"Q", {0.2f, 0.7f, 0.1f}});
  std::vector<float> real(3862);
  for (int i = 0; i < 3862; ++i) real[i] = static_cast<float>((i * 37) % 100) / 100.f;
  v.push_back({"-x_Y", real});
  return v;
}

// Writes the golden videos: the first ones with add(), the real-size one with add_batch().
void write_golden(const std::string& path) {
  const auto videos = golden_videos();
  SubmissionWriter w(path);
  for (size_t i = 0; i + 1 < videos.size(); ++i) {
    w.add(videos[i].first, videos[i].second.data(), static_cast<int>(videos[i].second.size()));
  }
  const auto& last = videos.back();
  w.add_batch({last.first}, Tensor::from_vector(last.second, {1, 3862}));
  EXPECT_EQ(w.rows_written(), 4);
  w.close();
}

std::string gunzip(const std::string& bytes) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  char chunk[1 << 16];
  int ret = Z_OK;
  while (ret == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof(chunk);
    ret = inflate(&zs, Z_NO_FLUSH);
    out.append(chunk, sizeof(chunk) - zs.avail_out);
  }
  EXPECT_EQ(ret, Z_STREAM_END);
  EXPECT_EQ(zs.avail_in, 0u);  // a single gzip member, nothing after it
  inflateEnd(&zs);
  return out;
}

std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

using testing::error_of;

TEST(Submission, FormatPairMatchesPythonPercentG) {
  const std::vector<std::pair<float, const char*>> cases = {
      {1.f, "1"},
      {0.5f, "0.5"},
      {1e-05f, "1e-05"},
      {1.234567e-05f, "1.23457e-05"},
      {0.0001234567f, "0.000123457"},
      {100000.f, "100000"},
      {1e6f, "1e+06"},
      {0.f, "0"},
      {0.9999999f, "1"},
      {0.999999f, "0.999999"},   // float32 0.99999988 and 0.99999899
      {0.9765625f, "0.976562"},  // an exact tie at the 7th digit: to even
      {999999.5f, "1e+06"},      // rounds up into the exponent form
      {0.0001f, "0.0001"},       // float32 9.99999975e-05 rounds to 1e-04: fixed
      {0.1f, "0.1"},
      {-0.f, "-0"},
      {INFINITY, "inf"},
      {std::numeric_limits<float>::quiet_NaN(), "nan"},
      {-std::numeric_limits<float>::quiet_NaN(), "nan"},  // glibc alone would print "-nan"
  };
  for (const auto& [score, text] : cases)
    EXPECT_EQ(format_pair(7, score), std::string("7 ") + text);
  EXPECT_EQ(format_pair(3861, 0.25f), "3861 0.25");
}

TEST(Submission, TopKPairsOrderAndTies) {
  const float s[] = {0.3f, 0.9f, 0.3f, 0.5f, 0.9f};
  using P = std::vector<std::pair<int, float>>;
  EXPECT_EQ(top_k_pairs(s, 5, 3), (P{{1, 0.9f}, {4, 0.9f}, {3, 0.5f}}));
  EXPECT_EQ(top_k_pairs(s, 5, 4), (P{{1, 0.9f}, {4, 0.9f}, {3, 0.5f}, {0, 0.3f}}));
  EXPECT_EQ(top_k_pairs(s, 5, 20).size(), 5u);  // k > n: every class
  EXPECT_NE(error_of([&] { top_k_pairs(s, 5, 0); }).find("--top_k"), std::string::npos);
}

TEST(Submission, GoldenFileByteExact) {
  testing::TempDir d;
  write_golden(d.file("sub.csv"));
  EXPECT_EQ(testing::read_file(d.file("sub.csv")),
            testing::read_file(fixture("submission_golden.csv")));
  EXPECT_EQ(listing(d.path()), std::vector<std::string>{"sub.csv"});  // no temporary file left
}

TEST(Submission, GzipDecompressesToTheSameBytes) {
  testing::TempDir d;
  write_golden(d.file("sub.csv.gz"));
  const std::string gz = testing::read_file(d.file("sub.csv.gz"));
  ASSERT_GE(gz.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  EXPECT_EQ(gunzip(gz), testing::read_file(fixture("submission_golden.csv")));
}

TEST(Submission, BatchEqualsRowsAndLargeOutputsFlush) {
  // More than the 1 MiB write buffer, so text and deflate cross several flushes; add_batch and add
  // agree.
  testing::TempDir d;
  const int B = 64, V = 40, batches = 160;
  std::vector<float> probs(static_cast<size_t>(B) * V);
  SubmissionWriter rows(d.file("rows.csv"), 12), batch(d.file("batch.csv"), 12),
      gz(d.file("batch.csv.gz"), 12);
  for (int t = 0; t < batches; ++t) {
    std::vector<std::string> ids;
    for (int b = 0; b < B; ++b) {
      ids.push_back("vid" + std::to_string(t * B + b));
      for (int c = 0; c < V; ++c) {
        probs[static_cast<size_t>(b) * V + c] =
            static_cast<float>((c * 7 + b * 3 + t) % 23) / 23.f + 1e-7f * c;
      }
      rows.add(ids.back(), probs.data() + static_cast<size_t>(b) * V, V);
    }
    const Tensor p = Tensor::from_vector(probs, {B, V});
    batch.add_batch(ids, p);
    gz.add_batch(ids, p);
  }
  rows.close();
  batch.close();
  gz.close();
  const std::string text = testing::read_file(d.file("rows.csv"));
  EXPECT_GT(text.size(), size_t(1) << 20);
  EXPECT_EQ(testing::read_file(d.file("batch.csv")), text);
  EXPECT_EQ(gunzip(testing::read_file(d.file("batch.csv.gz"))), text);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), B * batches + 1);
}

TEST(Submission, UnclosedWriterLeavesNothing) {
  testing::TempDir d;
  const float s[] = {0.1f, 0.9f};
  for (const char* name : {"sub.csv", "sub.csv.gz"}) {
    SubmissionWriter w(d.file(name));
    w.add("abcd", s, 2);
    EXPECT_FALSE(fs::exists(d.file(name)));  // only the temporary file exists while writing
  }
  EXPECT_TRUE(listing(d.path()).empty());
  // An existing file is kept as it was until close() replaces it.
  testing::write_file(d.file("old.csv"), "old");
  {
    SubmissionWriter w(d.file("old.csv"));
    w.add("abcd", s, 2);
  }
  EXPECT_EQ(testing::read_file(d.file("old.csv")), "old");
  SubmissionWriter w(d.file("old.csv"), 1);
  w.add("abcd", s, 2);
  w.close();
  w.close();  // a second close does nothing
  EXPECT_EQ(testing::read_file(d.file("old.csv")), "VideoId,LabelConfidencePairs\nabcd,1 0.9\n");
  EXPECT_NE(error_of([&] { w.add("efgh", s, 2); }).find("after close"), std::string::npos);
  EXPECT_EQ(listing(d.path()), std::vector<std::string>{"old.csv"});
}

TEST(Submission, Errors) {
  testing::TempDir d;
  for (int k : {0, -3}) {
    EXPECT_NE(error_of([&] { SubmissionWriter w(d.file("a.csv"), k); }).find("--top_k"),
              std::string::npos);
  }
  const std::string missing = d.file("no_such_dir/sub.csv");
  EXPECT_NE(error_of([&] { SubmissionWriter w(missing); }).find(missing), std::string::npos);
  EXPECT_NE(error_of([&] { SubmissionWriter w(d.path()); }).find(d.path()), std::string::npos);

  SubmissionWriter w(d.file("a.csv"));
  const float s[] = {0.1f, 0.9f};
  EXPECT_NE(error_of([&] { w.add("ab,cd", s, 2); }).find("ab,cd"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add("ab\ncd", s, 2); }).find("ab\\ncd"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add("ab\rcd", s, 2); }).find("ab\\rcd"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add("", s, 2); }).find("empty video id"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add("abcd", s, 0); }).find("abcd"), std::string::npos);
  const float bad[] = {0.1f, std::numeric_limits<float>::quiet_NaN()};
  const std::string nan_msg = error_of([&] { w.add("nanv", bad, 2); });
  EXPECT_NE(nan_msg.find("nanv"), std::string::npos);
  EXPECT_NE(nan_msg.find("class 1"), std::string::npos);
  const Tensor p = Tensor::zeros({2, 3});
  EXPECT_NE(error_of([&] { w.add_batch({"a"}, p); }).find("1 video ids"), std::string::npos);
  EXPECT_NE(error_of([&] {
              w.add_batch({"a", "b"}, p.to(DType::f64));
            }).find("f32"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              w.add_batch({"a", "b", "c", "d", "e", "f"}, p.reshape({6}));
            }).find("f32"),
            std::string::npos);
  EXPECT_EQ(w.rows_written(), 0);  // a rejected row writes nothing
  w.close();
  EXPECT_EQ(testing::read_file(d.file("a.csv")), "VideoId,LabelConfidencePairs\n");
}

}  // namespace
}  // namespace y8m::pipeline
