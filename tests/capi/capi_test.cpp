// The C API (capi/y8m.h), linked statically (y8m_capi_static): archive queries, predictions equal to the pipeline's
// ArchiveModel (bit for bit on the CPU), the float32 path, padding, errors with their codes and
// per-thread messages, and concurrent predictions on one handle. Archives are exported from small
// untrained models here.
#include "capi/y8m.h"

#include "autograd/variable.h"
#include "engine/rng.h"
#include "models/zoo.h"
#include "pipeline/archive.h"
#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace y8m {
namespace {

constexpr int64_t kT = 10, kF = 24, kV = 7;

models::ModelConfig frame_config() {
  models::ModelConfig c;
  c.model = "NetVLADModelLF";
  c.frame_features = true;
  c.feature_names = {"rgb", "audio"};
  c.feature_sizes = {16, 8};
  c.num_classes = kV;
  c.max_frames = kT;
  c.netvlad_cluster_size = 4;
  c.netvlad_hidden_size = 8;
  c.iterations = 5;  // samples frames: predictions depend on the seed
  return c;
}

models::ModelConfig video_config() {
  models::ModelConfig c;
  c.model = "LogisticModel";
  c.feature_names = {"mean_rgb", "mean_audio"};
  c.feature_sizes = {16, 8};
  c.num_classes = kV;
  return c;
}

std::string export_archive(const testing::TempDir& dir, const models::ModelConfig& c,
                           const std::string& name) {
  auto model = models::create_model(c, 11);
  const std::string path = dir.file(name);
  pipeline::export_model(*model, path);
  return path;
}

std::vector<uint8_t> random_frames(int64_t b, int64_t t, uint64_t seed) {
  std::vector<uint8_t> q(static_cast<size_t>(b * t * kF));
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  for (auto& v : q) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    v = static_cast<uint8_t>(s >> 24);
  }
  return q;
}

class CApi : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = export_archive(dir_, frame_config(), "frame.y8m");
    ASSERT_EQ(y8m_archive_open(path_.c_str(), "cpu", &a_), Y8M_OK) << y8m_last_error();
  }
  void TearDown() override { y8m_archive_close(a_); }

  std::vector<float> predict_u8(const std::vector<uint8_t>& q, int64_t b, int64_t t,
                                const std::vector<int32_t>& n, uint64_t seed) {
    std::vector<float> s(static_cast<size_t>(b * kV));
    EXPECT_EQ(y8m_predict(a_, Y8M_UINT8, q.data(), b, t, kF, n.data(), seed, s.data(), s.size()),
              Y8M_OK)
        << y8m_last_error();
    return s;
  }

  testing::TempDir dir_;
  std::string path_;
  y8m_archive* a_ = nullptr;
};

TEST_F(CApi, VersionMatchesTheHeader) {
  EXPECT_EQ(std::string(y8m_version()), std::to_string(Y8M_VERSION_MAJOR) + "." +
                                            std::to_string(Y8M_VERSION_MINOR) + "." +
                                            std::to_string(Y8M_VERSION_PATCH));
}

TEST_F(CApi, QueriesDescribeTheArchive) {
  int fl = -1;
  int64_t t = 0, f = 0, v = 0;
  size_t nf = 0, no = 0;
  ASSERT_EQ(y8m_archive_frame_level(a_, &fl), Y8M_OK);
  ASSERT_EQ(y8m_archive_max_frames(a_, &t), Y8M_OK);
  ASSERT_EQ(y8m_archive_feature_size(a_, &f), Y8M_OK);
  ASSERT_EQ(y8m_archive_num_classes(a_, &v), Y8M_OK);
  ASSERT_EQ(y8m_archive_num_features(a_, &nf), Y8M_OK);
  ASSERT_EQ(y8m_archive_num_outputs(a_, &no), Y8M_OK);
  EXPECT_EQ(fl, 1);
  EXPECT_EQ(t, kT);
  EXPECT_EQ(f, kF);
  EXPECT_EQ(v, kV);
  ASSERT_EQ(nf, 2u);
  const char* name = nullptr;
  int64_t size = 0;
  ASSERT_EQ(y8m_archive_feature(a_, 1, &name, &size), Y8M_OK);
  EXPECT_STREQ(name, "audio");
  EXPECT_EQ(size, 8);
  EXPECT_EQ(y8m_archive_feature(a_, 2, &name, &size), Y8M_ERROR_ARGUMENT);
  EXPECT_STREQ(y8m_last_error(), "index: 2, the archive has 2 feature streams");
  ASSERT_EQ(no, 1u);
  ASSERT_EQ(y8m_archive_output_name(a_, 0, &name), Y8M_OK);
  EXPECT_STREQ(name, "predictions");
  ASSERT_EQ(y8m_archive_model(a_, &name), Y8M_OK);
  EXPECT_STREQ(name, "NetVLADModelLF");
  ASSERT_EQ(y8m_archive_device(a_, &name), Y8M_OK);
  EXPECT_STREQ(name, "cpu");
  const char* value = "x";
  ASSERT_EQ(y8m_archive_metadata(a_, "graph_version", &value), Y8M_OK);
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(std::string(value), std::to_string(pipeline::kGraphVersion));
  ASSERT_EQ(y8m_archive_metadata(a_, "no such key", &value), Y8M_OK);
  EXPECT_EQ(value, nullptr);
  EXPECT_STREQ(y8m_last_error(), "");  // a successful call clears the message
}

TEST_F(CApi, PredictEqualsTheArchiveModelWithInferSeeding) {
  const int64_t b = 3;
  const auto q = random_frames(b, kT, 1);
  const std::vector<int32_t> n = {10, 4, 0};
  const auto got = predict_u8(q, b, kT, n, 5);

  const pipeline::ArchiveModel m(path_);
  Tensor frames = Tensor::empty({b, kT, kF}, DType::u8);
  std::memcpy(frames.data_ptr(), q.data(), q.size());
  engine::Generator gen(5 ^ pipeline::kInferenceSeedSalt);
  autograd::NoGradGuard ng;
  const Tensor want =
      m.predict({{"frames", frames}, {"num_frames", Tensor::from_vector(n, {b})}}, gen);
  ASSERT_EQ(want.numel(), b * kV);
  EXPECT_EQ(std::memcmp(got.data(), want.data<float>(), got.size() * sizeof(float)), 0);
  // Another seed draws other frames.
  EXPECT_NE(predict_u8(q, b, kT, n, 6), got);
}

TEST_F(CApi, FloatFramesAgreeWithUint8AndPaddingIsIgnored) {
  const int64_t b = 2, t = 6;  // fewer frames than max_frames: padded
  auto q = random_frames(b, t, 2);
  const std::vector<int32_t> n = {6, 3};
  const auto want = predict_u8(q, b, t, n, 0);
  std::vector<float> x(q.size());
  ASSERT_EQ(y8m_dequantize(q.data(), q.size(), x.data()), Y8M_OK);
  EXPECT_FLOAT_EQ(x[0], static_cast<float>(q[0]) * (4.0f / 255.0f) + (4.0f / 512.0f - 2.0f));
  // Frames at or after num_frames do not matter.
  for (int64_t k = 3 * kF; k < t * kF; ++k) {
    x[static_cast<size_t>(t * kF + k)] = 1e6f;
    q[static_cast<size_t>(t * kF + k)] = 255;
  }
  EXPECT_EQ(predict_u8(q, b, t, n, 0), want);
  std::vector<float> got(want.size());
  ASSERT_EQ(y8m_predict(a_, Y8M_FLOAT32, x.data(), b, t, kF, n.data(), 0, got.data(), got.size()),
            Y8M_OK)
      << y8m_last_error();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;
}

TEST_F(CApi, ErrorsHaveCodesAndOneLineMessages) {
  const auto q = random_frames(2, kT, 3);
  std::vector<int32_t> n = {10, 10};
  std::vector<float> s(2 * kV);
  auto run = [&](const void* frames, int64_t b, int64_t t, int64_t f, size_t len) {
    return y8m_predict(a_, Y8M_UINT8, frames, b, t, f, n.data(), 0, s.data(), len);
  };
  EXPECT_EQ(run(q.data(), 2, kT, kF, s.size() - 1), Y8M_ERROR_ARGUMENT);
  EXPECT_STREQ(y8m_last_error(), "scores: room for 13 floats, batch 2 x 7 classes needs 14");
  EXPECT_EQ(run(q.data(), 2, kT, kF + 1, s.size()), Y8M_ERROR_ARGUMENT);
  EXPECT_STREQ(y8m_last_error(), "feature_size: 25, the archive expects 24");
  EXPECT_EQ(run(q.data(), 2, kT + 1, kF, s.size()), Y8M_ERROR_ARGUMENT);
  EXPECT_STREQ(y8m_last_error(),
               "frames_per_video: 11, expected 1 to 10 (the archive's max_frames)");
  EXPECT_EQ(run(nullptr, 2, kT, kF, s.size()), Y8M_ERROR_ARGUMENT);
  EXPECT_STREQ(y8m_last_error(), "frames: NULL");
  n[1] = 11;
  EXPECT_EQ(run(q.data(), 2, kT, kF, s.size()), Y8M_ERROR_ARGUMENT);
  EXPECT_STREQ(y8m_last_error(), "num_frames[1]: 11, expected 0 to 10 (frames per video)");
  EXPECT_EQ(y8m_predict(nullptr, Y8M_UINT8, q.data(), 2, kT, kF, n.data(), 0, s.data(), s.size()),
            Y8M_ERROR_ARGUMENT);
  EXPECT_STREQ(y8m_last_error(), "archive: NULL");

  y8m_archive* b = reinterpret_cast<y8m_archive*>(&s);
  const std::string missing = dir_.file("missing.y8m");
  EXPECT_EQ(y8m_archive_open(missing.c_str(), "cpu", &b), Y8M_ERROR_RUNTIME);
  EXPECT_EQ(b, nullptr);
  EXPECT_NE(std::string(y8m_last_error()).find(missing), std::string::npos) << y8m_last_error();
  EXPECT_EQ(y8m_archive_open(path_.c_str(), "tpu", &b), Y8M_ERROR_RUNTIME);
  EXPECT_NE(std::string(y8m_last_error()).find("tpu"), std::string::npos) << y8m_last_error();
  y8m_reader* r = nullptr;
  const std::string pattern = dir_.file("none*.tfrecord");
  EXPECT_EQ(y8m_reader_open_for(pattern.c_str(), a_, 0, &r), Y8M_ERROR_RUNTIME);
  EXPECT_NE(std::string(y8m_last_error()).find(pattern), std::string::npos) << y8m_last_error();
  EXPECT_EQ(std::string(y8m_last_error()).find('\n'), std::string::npos);

  // The message belongs to the thread that failed.
  std::string other = "unset";
  std::thread([&] { other = y8m_last_error(); }).join();
  EXPECT_EQ(other, "");
}

TEST_F(CApi, ConcurrentPredictionsEqualSequentialOnes) {
  // Even threads feed uint8 frames, odd ones float32 frames (the float executor is built by
  // whichever thread comes first); the references come from a second handle, one call at a time.
  constexpr int kThreads = 4, kRuns = 3;
  const int64_t b = 4;
  const std::vector<int32_t> n = {10, 7, 1, 5};
  y8m_archive* ref = nullptr;
  ASSERT_EQ(y8m_archive_open(path_.c_str(), "cpu", &ref), Y8M_OK) << y8m_last_error();
  const size_t runs = kThreads * kRuns;
  std::vector<std::vector<uint8_t>> q(runs);
  std::vector<std::vector<float>> x(runs), want(runs, std::vector<float>(b * kV)),
      got(runs, std::vector<float>(b * kV));
  auto run = [&](y8m_archive* a, size_t i, float* out) {
    const bool f32 = i % 2 == 1;
    return y8m_predict(a, f32 ? Y8M_FLOAT32 : Y8M_UINT8,
                       f32 ? static_cast<const void*>(x[i].data()) : q[i].data(), b, kT, kF,
                       n.data(), i, out, static_cast<size_t>(b * kV));
  };
  for (size_t i = 0; i < runs; ++i) {
    q[i] = random_frames(b, kT, 100 + i);
    x[i].resize(q[i].size());
    ASSERT_EQ(y8m_dequantize(q[i].data(), q[i].size(), x[i].data()), Y8M_OK);
    ASSERT_EQ(run(ref, i, want[i].data()), Y8M_OK) << y8m_last_error();
  }
  y8m_archive_close(ref);
  std::vector<int> status(runs, -1);
  std::vector<std::thread> threads;
  for (size_t th = 0; th < kThreads; ++th)
    threads.emplace_back([&, th] {
      for (size_t r = 0; r < kRuns; ++r) {
        const size_t i = r * kThreads + th;  // thread th: i % 2 == th % 2
        status[i] = run(a_, i, got[i].data());
      }
    });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < runs; ++i) {
    EXPECT_EQ(status[i], Y8M_OK) << i;
    EXPECT_EQ(got[i], want[i]) << "run " << i;
  }
}

TEST(CApiVideo, VideoLevelArchivesTakeFeatures) {
  testing::TempDir dir;
  const std::string path = export_archive(dir, video_config(), "video.y8m");
  y8m_archive* a = nullptr;
  ASSERT_EQ(y8m_archive_open(path.c_str(), nullptr, &a), Y8M_OK) << y8m_last_error();
  int fl = -1;
  int64_t t = -1;
  ASSERT_EQ(y8m_archive_frame_level(a, &fl), Y8M_OK);
  ASSERT_EQ(y8m_archive_max_frames(a, &t), Y8M_OK);
  EXPECT_EQ(fl, 0);
  EXPECT_EQ(t, 0);
  std::vector<float> x(2 * kF);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 5) - 2.f;
  std::vector<float> s(2 * kV);
  ASSERT_EQ(y8m_predict(a, Y8M_FLOAT32, x.data(), 2, 0, kF, nullptr, 0, s.data(), s.size()), Y8M_OK)
      << y8m_last_error();
  const pipeline::ArchiveModel m(path);
  engine::Generator gen(0);
  autograd::NoGradGuard ng;
  const Tensor want = m.predict({{"features", Tensor::from_vector(x, {2, kF})}}, gen);
  EXPECT_EQ(std::memcmp(s.data(), want.data<float>(), s.size() * sizeof(float)), 0);
  const std::vector<uint8_t> q(2 * kF);
  EXPECT_EQ(y8m_predict(a, Y8M_UINT8, q.data(), 2, 0, kF, nullptr, 0, s.data(), s.size()),
            Y8M_ERROR_ARGUMENT);
  EXPECT_STREQ(y8m_last_error(),
               "frames: uint8, but this video-level archive takes float32 features");
  y8m_archive_close(a);
}

}  // namespace
}  // namespace y8m
