// ops/sampling: sample_frames against a reference written from SPEC §1.8 (uniforms taken from
// engine::fill_uniform of the documented shape and generator state), the use of the generator,
// frame_counts, and the errors.
#include "engine/philox.h"
#include "engine/rng.h"
#include "ops/sampling/frame_sampling.h"
#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace y8m::ops {
namespace {

Tensor nf(const std::vector<int32_t>& n) {
  return Tensor::from_vector(n, {static_cast<int64_t>(n.size())});
}

// SPEC §1.8 with u from a [B, S] (random, sample_all) or [B] (random_sequence) uniform fill.
std::vector<int32_t> reference(const std::vector<int32_t>& n_in, int64_t t, int64_t s,
                               SampleMode mode, uint64_t seed, uint64_t offset) {
  const int64_t b = static_cast<int64_t>(n_in.size());
  Tensor u = Tensor::empty({mode == SampleMode::random_sequence ? b : b * s});
  engine::fill_uniform(u, seed, offset);
  const std::vector<float> uv = u.to_vector<float>();
  std::vector<int32_t> out;
  for (int64_t i = 0; i < b; ++i) {
    const int64_t n = std::clamp<int64_t>(n_in[static_cast<size_t>(i)], 0, t);
    for (int64_t k = 0; k < s; ++k) {
      int64_t f;
      if (mode == SampleMode::random_sequence) {
        const int64_t start = static_cast<int64_t>(std::floor(
            static_cast<double>(uv[static_cast<size_t>(i)]) * (std::max<int64_t>(n - s, 0) + 1)));
        f = std::max<int64_t>(std::min(start + k, n - 1), 0);
      } else if (mode == SampleMode::sample_all && k < n) {
        f = k;
      } else {
        f = n == 0 ? 0
                   : static_cast<int64_t>(
                         std::floor(static_cast<double>(uv[static_cast<size_t>(i * s + k)]) * n));
      }
      out.push_back(static_cast<int32_t>(i * t + f));
    }
  }
  return out;
}

TEST(SampleFramesOp, MatchesTheReferenceInEveryMode) {
  const std::vector<int32_t> n = {300, 17, 0, 1, 299, 450};
  for (SampleMode mode :
       {SampleMode::random, SampleMode::sample_all, SampleMode::random_sequence}) {
    for (int64_t s : {int64_t{300}, int64_t{30}}) {
      if (mode == SampleMode::sample_all && s != 300) continue;
      engine::Generator g(77, 1000);
      const Tensor idx = sample_frames(nf(n), 300, s, mode, g);
      EXPECT_EQ(idx.dtype(), DType::i32);
      EXPECT_EQ(idx.shape(), (Shape{static_cast<int64_t>(n.size()) * s}));
      EXPECT_EQ(idx.to_vector<int32_t>(), reference(n, 300, s, mode, 77, 1000))
          << sample_mode_name(mode) << " S=" << s;
      const int64_t draws = mode == SampleMode::random_sequence ? 6 : 6 * s;
      EXPECT_EQ(g.offset(), 1000 + engine::uniform_counters(draws)) << sample_mode_name(mode);
    }
  }
}

TEST(SampleFramesOp, SameGeneratorStateSameIndicesAndI64Counts) {
  engine::Generator a(5, 9), b(5, 9);
  const Tensor x = sample_frames(nf({3, 8}), 10, 7, SampleMode::random, a);
  const Tensor y =
      sample_frames(Tensor::from_vector<int64_t>({3, 8}, {2}), 10, 7, SampleMode::random, b);
  EXPECT_EQ(x.to_vector<int32_t>(), y.to_vector<int32_t>());
  // A second call draws fresh counters.
  const Tensor z = sample_frames(nf({3, 8}), 10, 7, SampleMode::random, a);
  EXPECT_NE(x.to_vector<int32_t>(), z.to_vector<int32_t>());
}

TEST(SampleFramesOp, ModeNames) {
  for (SampleMode m : {SampleMode::random, SampleMode::sample_all, SampleMode::random_sequence,
                       SampleMode::shuffle})
    EXPECT_EQ(sample_mode_from_name(sample_mode_name(m)), m);
  const std::string msg = testing::error_of([] { sample_mode_from_name("reverse"); });
  EXPECT_NE(msg.find("sample_frames"), std::string::npos) << msg;
  EXPECT_NE(msg.find("reverse"), std::string::npos) << msg;
}

// --frame_shuffle (SPEC §1.8): each video's valid frames permuted by descending uniform keys,
// padding kept at the end in order; T*B uniforms drawn.
TEST(SampleFramesOp, ShuffleIsAPermutationOfValidFramesWithPaddingLast) {
  engine::Generator g(7, 100);
  const std::vector<int> n = {6, 3, 0};
  const int64_t t = 6;
  const std::vector<int32_t> idx =
      sample_frames(nf(n), t, t, SampleMode::shuffle, g).to_vector<int32_t>();
  EXPECT_EQ(g.offset(), 100 + engine::uniform_counters(3 * t));
  std::vector<float> u(static_cast<size_t>(3 * t));
  for (size_t i = 0; i < u.size(); ++i) u[i] = engine::philox::uniform_at(7, 100, i);
  for (int64_t b = 0; b < 3; ++b) {
    for (int64_t s = 0; s < t; ++s) {
      const int64_t frame = idx[b * t + s] - b * t;
      ASSERT_GE(frame, 0);
      ASSERT_LT(frame, t);
      if (s < n[b]) {
        EXPECT_LT(frame, n[b]) << "b=" << b << " s=" << s;
        if (s > 0) EXPECT_GE(u[b * t + idx[b * t + s - 1] - b * t], u[b * t + frame]);
      } else {
        EXPECT_EQ(frame, s) << "padding stays in place, b=" << b;
      }
    }
    std::vector<int32_t> sorted(idx.begin() + b * t, idx.begin() + (b + 1) * t);
    std::sort(sorted.begin(), sorted.end());
    for (int64_t s = 0; s < t; ++s) EXPECT_EQ(sorted[s], b * t + s);
  }
  // This seed's permutation of video 0 is not the identity (1 in 720 would be).
  EXPECT_NE(std::vector<int32_t>(idx.begin(), idx.begin() + t),
            (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
}

TEST(SampleFramesOp, Errors) {
  engine::Generator g(1);
  auto expect = [](const std::function<void()>& f, const std::string& op, const std::string& part) {
    const std::string msg = testing::error_of(f);
    EXPECT_EQ(msg.rfind(op + ":", 0), 0u) << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  };
  expect([&] { sample_frames(Tensor::zeros({2}), 4, 2, SampleMode::random, g); }, "sample_frames",
         "i32");
  expect(
      [&] {
        sample_frames(nf({1, 2}).reshape({1, 2}), 4, 2, SampleMode::random, g);
      },
      "sample_frames", "num_frames");
  expect([&] { sample_frames(nf({1}), 4, 0, SampleMode::random, g); }, "sample_frames",
         "iterations");
  expect([&] { sample_frames(nf({1}), 0, 2, SampleMode::random, g); }, "sample_frames",
         "max_frames");
  expect([&] { sample_frames(nf({1}), 4, 3, SampleMode::sample_all, g); }, "sample_frames",
         "sample_all");
  expect([&] { sample_frames(Tensor(), 4, 3, SampleMode::random, g); }, "sample_frames",
         "undefined");
  expect([&] { frame_counts(Tensor::zeros({2}), 4, 1); }, "frame_counts", "i32");
  expect([&] { frame_counts(nf({1}), 4, 1, DType::i32); }, "frame_counts", "dtype");
}

TEST(FrameCountsOp, ClampsToValidFramesAndMinimum) {
  const Tensor c = frame_counts(nf({300, 17, 0, 400, -3}), 300, 1);
  EXPECT_EQ(c.dtype(), DType::f32);
  EXPECT_EQ(c.to_vector<float>(), (std::vector<float>{300, 17, 1, 300, 1}));
  EXPECT_EQ(frame_counts(nf({0, 5}), 4, 0, DType::f64).to_vector<double>(),
            (std::vector<double>{0, 4}));
}

}  // namespace
}  // namespace y8m::ops
