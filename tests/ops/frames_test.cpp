// prepare_frames (SPEC §1.6-1.7): dequantization constants, padding slots, clipping of num_frames,
// the real size against a plain reference loop, errors.
#include "ops/nn/frames.h"
#include "autograd/variable.h"
#include "tests/ops/op_harness.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace y8m::testing {
namespace {

// The reader's dequantization: one rounded float multiply, then one rounded float add (tests build
// with -ffp-contract=off, so these two statements are not fused).
float dequantize(int q) {
  const float scaled = static_cast<float>(q) * ops::kDequantScale;
  return scaled + ops::kDequantBias;
}

Tensor bytes(const std::vector<int64_t>& v, const Shape& shape) {
  return ints(v, shape, DType::u8);
}
Tensor counts(const std::vector<int64_t>& v) {
  return ints(v, {static_cast<int64_t>(v.size())}, DType::i32);
}

// Reference: dequantize, zero padding slots, L2-normalize in double.
std::vector<double> reference(const Tensor& frames, const std::vector<int64_t>& num_frames) {
  const int64_t b = frames.size(0), t = frames.size(1), f = frames.size(2);
  const std::vector<uint8_t> q = frames.to_vector<uint8_t>();
  std::vector<double> out(q.size(), 0.0);
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t j = 0; j < std::clamp<int64_t>(num_frames[static_cast<size_t>(i)], 0, t); ++j) {
      const size_t base = static_cast<size_t>((i * t + j) * f);
      double ss = 0;
      for (int64_t k = 0; k < f; ++k)
        ss += std::pow(static_cast<double>(dequantize(q[base + static_cast<size_t>(k)])), 2);
      for (int64_t k = 0; k < f; ++k)
        out[base + static_cast<size_t>(k)] =
            dequantize(q[base + static_cast<size_t>(k)]) / std::sqrt(std::max(ss, 1e-12));
    }
  }
  return out;
}

TEST(PrepareFrames, DequantizationConstants) {
  EXPECT_EQ(dequantize(0), -1.9921875f);  // 4/512 - 2, exact in binary
  EXPECT_NEAR(dequantize(255), 2.0078125, 1e-6);
  // One frame of two features {0, 255}: x = {-1.9921875, 2.0078125...} / its norm.
  const Tensor out = ops::prepare_frames(bytes({0, 255}, {1, 1, 2}), counts({1}));
  EXPECT_EQ(out.dtype(), DType::f32);
  EXPECT_EQ(out.shape(), (Shape{1, 1, 2}));
  const double x0 = -1.9921875, x1 = static_cast<double>(dequantize(255));
  const double norm = std::sqrt(x0 * x0 + x1 * x1);
  const auto v = out.to_vector<double>();
  EXPECT_NEAR(v[0], x0 / norm, 1e-6);
  EXPECT_NEAR(v[1], x1 / norm, 1e-6);
}

TEST(PrepareFrames, EveryByteDequantizesAsTheReader) {
  // Frames {q, 0}: out[0] / out[1] = x(q) / x(0), which recovers x(q) for every byte value.
  std::vector<int64_t> q;
  for (int v = 0; v < 256; ++v) q.insert(q.end(), {v, 0});
  const auto out = ops::prepare_frames(bytes(q, {1, 256, 2}), counts({256})).to_vector<double>();
  for (int v = 0; v < 256; ++v) {
    const double x =
        -1.9921875 * out[static_cast<size_t>(2 * v)] / out[static_cast<size_t>(2 * v + 1)];
    EXPECT_NEAR(x, dequantize(v), 1e-6) << "byte " << v;
  }
}

TEST(PrepareFrames, PaddingSlotsAreExactZerosAndCountsClip) {
  const Tensor frames = small_ints({4, 4, 3}, 5, 0, 255).to(DType::u8);
  // 2 valid frames; all 4; none; and a count above T (clipped to 4); negative counts mean none.
  const std::vector<int64_t> n = {2, 4, 0, 10};
  const Tensor out = ops::prepare_frames(frames, counts(n));
  const auto v = out.to_vector<float>();
  const auto want = reference(frames, n);
  for (int64_t b = 0; b < 4; ++b) {
    for (int64_t t = 0; t < 4; ++t) {
      const bool valid = t < std::min<int64_t>(n[static_cast<size_t>(b)], 4);
      double ss = 0;
      for (int64_t k = 0; k < 3; ++k) {
        const size_t i = static_cast<size_t>((b * 4 + t) * 3 + k);
        if (!valid) {
          EXPECT_EQ(v[i], 0.0f) << "padding b=" << b << " t=" << t;
        }
        EXPECT_NEAR(v[i], want[i], 1e-6);
        ss += static_cast<double>(v[i]) * v[i];
      }
      if (valid) {
        EXPECT_NEAR(ss, 1.0, 1e-6) << "unit norm b=" << b << " t=" << t;
      }
    }
  }
  const auto none = ops::prepare_frames(frames.slice_rows(0, 1), counts({-3})).to_vector<float>();
  EXPECT_TRUE(std::all_of(none.begin(), none.end(), [](float x) { return x == 0.0f; }));
}

TEST(PrepareFrames, RealSizeMatchesReference) {
  const Tensor frames = small_ints({2, 300, 1152}, 9, 0, 255).to(DType::u8);
  const std::vector<int64_t> n = {300, 123};
  const Tensor out = ops::prepare_frames(frames, counts(n));
  const auto v = out.to_vector<double>();
  const auto want = reference(frames, n);
  double worst = 0;
  for (size_t i = 0; i < v.size(); ++i) worst = std::max(worst, std::fabs(v[i] - want[i]));
  EXPECT_LE(worst, 1e-6);
  EXPECT_FALSE(autograd::requires_grad(out));
}

// The error must name the op; `what` says which bad input this is.
void expect_error(const std::function<void()>& f, const std::string& what) {
  SCOPED_TRACE(what);
  testing::expect_error(f, {"prepare_frames"});
}

TEST(PrepareFrames, Errors) {
  const Tensor frames = bytes({1, 2, 3, 4, 5, 6}, {1, 2, 3});
  expect_error([&] { ops::prepare_frames(frames.to(DType::f32), counts({1})); }, "f32 frames");
  expect_error([&] { ops::prepare_frames(frames.reshape({2, 3}), counts({1, 1})); }, "2-D frames");
  expect_error([&] { ops::prepare_frames(frames, ints({1}, {1}, DType::i64)); }, "i64 num_frames");
  expect_error([&] { ops::prepare_frames(frames, counts({1, 2})); }, "num_frames length");
  expect_error([&] { ops::prepare_frames(frames, ints({1}, {1, 1})); }, "2-D num_frames");
}

}  // namespace
}  // namespace y8m::testing
