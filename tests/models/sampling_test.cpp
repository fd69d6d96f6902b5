// models/sampling.h: SampleRandomFrames, --sample_all and SampleRandomSequence (SPEC §1.8), the use
// of the generator, and the gather with its gradient.
#include "models/sampling.h"

#include "model_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace y8m::models {
namespace {

using testing::expect_error;
using testing::num_frames;
using testing::uniform;

std::vector<int32_t> indices(const std::vector<int32_t>& n, int64_t t, const SamplingOptions& o,
                             engine::Generator& g) {
  return sample_frame_indices(num_frames(n), t, o, g).to_vector<int32_t>();
}

TEST(SampleRandomFrames, WithReplacementOverValidFrames) {
  const std::vector<int32_t> n = {1, 5, 0, 300, 7};
  const int64_t t = 300;
  SamplingOptions o;
  o.num_samples = 300;
  engine::Generator g(42);
  const auto idx = indices(n, t, o, g);
  ASSERT_EQ(idx.size(), n.size() * 300);
  for (size_t b = 0; b < n.size(); ++b) {
    std::set<int32_t> seen;
    for (int s = 0; s < 300; ++s) {
      const int32_t row = idx[b * 300 + s];
      const int32_t f = row - static_cast<int32_t>(b * t);
      if (n[b] == 0) {
        EXPECT_EQ(f, 0);
      } else {
        EXPECT_GE(f, 0);
        EXPECT_LT(f, n[b]);
      }
      seen.insert(f);
    }
    // 300 draws cover every frame of the short videos; duplicates appear (with replacement).
    if (n[b] > 0 && n[b] <= 7) {
      EXPECT_EQ(static_cast<int32_t>(seen.size()), n[b]);
    }
    if (n[b] == 300) {
      EXPECT_LT(seen.size(), 300u);
    }
  }
}

TEST(SampleRandomFrames, GeneratorUseIsDocumentedFloorOfUniformFill) {
  const std::vector<int32_t> n = {3, 10, 299};
  SamplingOptions o;
  o.num_samples = 7;
  engine::Generator g(9, 1234);
  const auto idx = indices(n, 300, o, g);
  EXPECT_EQ(g.offset(), 1234 + engine::uniform_counters(3 * 7));
  // The documented draw: the uniforms of fill_uniform on a [B, S] tensor from (seed, old offset).
  Tensor u = Tensor::empty({3, 7});
  engine::fill_uniform(u, 9, 1234);
  const auto uv = u.to_vector<float>();
  for (int b = 0; b < 3; ++b)
    for (int s = 0; s < 7; ++s)
      EXPECT_EQ(
          idx[b * 7 + s],
          b * 300 + static_cast<int32_t>(std::floor(static_cast<double>(uv[b * 7 + s]) * n[b])));
  // Same state, same indices; the next call continues with fresh numbers.
  engine::Generator g2(9, 1234);
  EXPECT_EQ(indices(n, 300, o, g2), idx);
  EXPECT_NE(indices(n, 300, o, g2), idx);
}

TEST(SampleAll, KeepsValidFramesInOrderAndFillsPaddingRandomly) {
  const std::vector<int32_t> n = {4, 6, 0};
  SamplingOptions o;
  o.num_samples = 6;
  o.sample_all = true;
  engine::Generator g(5);
  const auto idx = indices(n, 6, o, g);
  EXPECT_EQ(g.offset(), engine::uniform_counters(3 * 6));  // the full random sample is still drawn
  for (int s = 0; s < 6; ++s) {
    const int32_t f0 = idx[s], f1 = idx[6 + s] - 6, f2 = idx[12 + s] - 12;
    if (s < 4) {
      EXPECT_EQ(f0, s);
    } else {
      EXPECT_GE(f0, 0);
      EXPECT_LT(f0, 4);
    }
    EXPECT_EQ(f1, s);  // n == T: deterministic
    EXPECT_EQ(f2, 0);
  }
  o.num_samples = 5;
  expect_error([&] { indices(n, 6, o, g); }, {"sample_all", "iterations"});
}

TEST(SampleRandomSequence, ConsecutiveClippedFrames) {
  const std::vector<int32_t> n = {10, 3, 0, 4};
  SamplingOptions o;
  o.num_samples = 4;
  o.sample_random_frames = false;
  engine::Generator g(77, 5);
  const auto idx = indices(n, 12, o, g);
  EXPECT_EQ(g.offset(), 5 + engine::uniform_counters(4));
  Tensor u = Tensor::empty({4});
  engine::fill_uniform(u, 77, 5);
  const auto uv = u.to_vector<float>();
  for (int b = 0; b < 4; ++b) {
    const int64_t span = std::max(n[b] - 4, 0) + 1;
    const int32_t start = static_cast<int32_t>(std::floor(static_cast<double>(uv[b]) * span));
    for (int s = 0; s < 4; ++s) {
      const int32_t want = std::max(std::min(start + s, n[b] - 1), 0);
      EXPECT_EQ(idx[b * 4 + s], b * 12 + want) << "video " << b << " slot " << s;
    }
  }
  // n = 3 < S: frames 0, 1, 2, 2; n = 4 == S: 0..3.
  EXPECT_EQ(std::vector<int32_t>(idx.begin() + 4, idx.begin() + 8),
            (std::vector<int32_t>{12, 13, 14, 14}));
  EXPECT_EQ(std::vector<int32_t>(idx.begin() + 12, idx.end()),
            (std::vector<int32_t>{36, 37, 38, 39}));
  o.sample_all = true;
  expect_error([&] { indices(n, 12, o, g); }, {"sample_all", "sample_random_frames"});
}

TEST(SampleFrames, GathersRowsAndPassesGradients) {
  const std::vector<int32_t> n = {2, 3};
  Tensor x = uniform({2, 3, 4}, 1);
  SamplingOptions o;
  o.num_samples = 5;
  engine::Generator g(8);
  const Tensor y = sample_frames(x, num_frames(n), o, g);
  EXPECT_EQ(y.shape(), (Shape{2, 5, 4}));
  engine::Generator g2(8);
  const auto idx = indices(n, 3, o, g2);
  const auto xv = x.to_vector<double>(), yv = y.to_vector<double>();
  for (int r = 0; r < 10; ++r)
    for (int f = 0; f < 4; ++f) EXPECT_EQ(yv[r * 4 + f], xv[idx[r] * 4 + f]);
  autograd::set_requires_grad(x, true);
  const auto res = autograd::gradcheck(
      [&](const std::vector<Tensor>&) {
        engine::Generator gg(8);
        return sample_frames(x, num_frames(n), o, gg);
      },
      {x});
  EXPECT_TRUE(res.ok) << res.message;
}

TEST(SampleFrames, NumFramesClippedAndChecked) {
  SamplingOptions o;
  o.num_samples = 50;
  engine::Generator g(1);
  for (int32_t row : indices({1000}, 4, o, g)) EXPECT_LT(row, 4);  // n clipped to T
  for (int32_t row : indices({-3}, 4, o, g)) EXPECT_EQ(row, 0);    // clipped to 0
  expect_error([&] { sample_frame_indices(Tensor::zeros({2}, DType::f32), 4, o, g); },
               {"sample_frames", "i32"});
  expect_error(
      [&] {
        sample_frames(uniform({2, 4, 3}, 1), num_frames({1, 2, 3}), o, g);
      },
      {"sample_frames", "[3]"});
  o.num_samples = 0;
  expect_error([&] { indices({1}, 4, o, g); }, {"iterations"});
}

}  // namespace
}  // namespace y8m::models
