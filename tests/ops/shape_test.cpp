// Targeted tests of the shape family: hand-computed values, view and multi-output semantics, the
// deterministic scatter-add of gather_rows, and error messages.
#include "ops/shape/shape.h"
#include "tests/ops/op_harness.h"

#include "autograd/variable.h"
#include "engine/device.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <functional>

namespace y8m::testing {
namespace {

Tensor f32(const std::vector<float>& v, const Shape& s) { return Tensor::from_vector(v, s); }

using testing::expect_error;

TEST(Shape, ConcatSplitSliceValues) {
  const Tensor a = f32({1, 2, 3, 4}, {2, 2}), b = f32({5, 6}, {2, 1});
  const Tensor c = ops::concat({a, b}, -1);
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(c.to_vector<float>(), (std::vector<float>{1, 2, 5, 3, 4, 6}));
  const Tensor r = ops::concat({a, b.reshape({1, 2})}, 0);
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  const auto parts = ops::split(c, {1, 2}, 1);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].to_vector<float>(), (std::vector<float>{1, 3}));
  EXPECT_EQ(parts[1].to_vector<float>(), (std::vector<float>{2, 5, 4, 6}));
  EXPECT_EQ(ops::slice(c, 1, 1, 3).to_vector<float>(), (std::vector<float>{2, 5, 4, 6}));
  EXPECT_EQ(ops::slice(c, -2, 1, 2).to_vector<float>(), (std::vector<float>{3, 4, 6}));
  EXPECT_EQ(ops::transpose(c).to_vector<float>(), (std::vector<float>{1, 3, 2, 4, 5, 6}));
}

TEST(Shape, ReshapeIsADifferentiableView) {
  Tensor x = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  autograd::set_requires_grad(x, true);
  Tensor y = ops::reshape(x, {3, -1});
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_TRUE(y.shares_storage(x));
  autograd::backward(y, f32({1, 2, 3, 4, 5, 6}, {3, 2}));
  EXPECT_EQ(autograd::grad(x).shape(), (Shape{2, 3}));
  EXPECT_EQ(autograd::grad(x).to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Shape, SplitIsOneNodeAndUnusedPiecesGetZeros) {
  Tensor x = f32({1, 2, 3, 4, 5, 6}, {6});
  autograd::set_requires_grad(x, true);
  const auto parts = ops::split(x, {2, 1, 3}, 0);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(autograd::grad_fn(parts[0]), autograd::grad_fn(parts[2]));
  autograd::backward(parts[2], f32({7, 8, 9}, {3}));
  EXPECT_EQ(autograd::grad(x).to_vector<float>(), (std::vector<float>{0, 0, 0, 7, 8, 9}));
}

TEST(Shape, GatherRowsBackwardSumsRepeatsInOrder) {
  Tensor x = f32({1, 2, 3, 4, 5, 6}, {3, 2});
  autograd::set_requires_grad(x, true);
  const Tensor idx = ints({2, 0, 2}, {3});
  Tensor y = ops::gather_rows(x, idx);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{5, 6, 1, 2, 5, 6}));
  autograd::backward(y, f32({1, 2, 3, 4, 5, 6}, {3, 2}));
  EXPECT_EQ(autograd::grad(x).to_vector<float>(), (std::vector<float>{3, 4, 0, 0, 6, 8}));
}

TEST(Shape, GatherRowsAnyDtypeForward) {
  const Tensor x = Tensor::from_vector<uint8_t>({1, 2, 3, 4, 5, 6}, {3, 2});
  const Tensor y = ops::gather_rows(x, ints({1, 1, 0}, {3}, DType::i64));
  EXPECT_EQ(y.dtype(), DType::u8);
  EXPECT_EQ(y.to_vector<int32_t>(), (std::vector<int32_t>{3, 4, 3, 4, 1, 2}));
}

TEST(Shape, Errors) {
  const Tensor x = Tensor::zeros({5, 3});
  expect_error(
      [&] {
        ops::gather_rows(x, ints({0, 7, 1}, {3}));
      },
      {"gather_rows", "index 7", "position 1", "[0, 5)"});
  expect_error([&] { ops::gather_rows(x, ints({-1}, {1}, DType::i64)); },
               {"gather_rows", "index -1"});
  expect_error([&] { ops::gather_rows(x, Tensor::zeros({2})); }, {"gather_rows", "i32 or i64"});
  expect_error([&] { ops::gather_rows(x, ints({0, 1}, {1, 2})); }, {"gather_rows", "index"});
  expect_error([&] { ops::split(x, {2, 2}, 0); }, {"split", "sum to 4", "length 5"});
  expect_error([&] { ops::split(x, {6, -1}, 0); }, {"split", "negative"});
  expect_error(
      [&] {
        ops::concat({x, Tensor::zeros({5, 2})}, 0);
      },
      {"concat", "input 1", "f32[5, 2]"});
  expect_error([&] { ops::concat({x, Tensor::zeros({5})}, 0); }, {"concat"});
  expect_error(
      [&] {
        ops::concat({x, Tensor::zeros({5, 3}, DType::f64)}, 0);
      },
      {"concat", "dtype"});
  expect_error([&] { ops::concat({}, 0); }, {"concat"});
  expect_error([&] { ops::concat({x}, 2); }, {"concat", "axis 2"});
  expect_error([&] { ops::slice(x, 0, 2, 6); }, {"slice", "[2, 6)"});
  expect_error([&] { ops::slice(x, -3, 0, 1); }, {"slice", "axis"});
  expect_error([&] { ops::transpose(Tensor::zeros({4})); }, {"transpose", "2 dimensions"});
  expect_error([&] { ops::reshape(x, {4, -1}); }, {"reshape"});
  if (engine::cuda_device_count() > 0) {
    expect_error([&] { ops::gather_rows(x.to(Device::cuda(0)), ints({0}, {1})); },
                 {"gather_rows", "device"});
  }
}

// A CUDA index is not copied back to be checked (that would synchronize every step): the builder
// checks it (check_gather_index), and the kernel turns a bad one into a zero row with no gradient
// instead of reading out of bounds.
TEST(Shape, GatherRowsCudaBadIndexGivesZeroRowsWithoutReadingOutside) {
  expect_error(
      [] {
        ops::check_gather_index(ints({0, 5, 9}, {3}), 5, "f32[5, 3]");
      },
      {"gather_rows", "index 5", "position 1", "[0, 5)", "f32[5, 3]"});
  expect_error([] { ops::check_gather_index(ints({-1}, {1}, DType::i64), 5, "x"); },
               {"gather_rows", "index -1"});
  EXPECT_NO_THROW(ops::check_gather_index(ints({0, 4}, {2}), 5, "x"));
  Y8M_REQUIRE_CUDA();
  const Device gpu = Device::cuda(0);
  const Tensor xh = uniform({5, 3}, 3).to(DType::f32);
  for (DType it : {DType::i32, DType::i64}) {
    Tensor x = xh.to(gpu);
    autograd::set_requires_grad(x, true);
    const Tensor y = ops::gather_rows(x, ints({4, 9, -3, 0, 4}, {5}, it).to(gpu));
    const std::vector<float> xv = xh.to_vector<float>(), yv = y.to_vector<float>();
    const std::vector<float> want = {xv[12], xv[13], xv[14], 0,     0,      0,      0,     0,
                                     0,      xv[0],  xv[1],  xv[2], xv[12], xv[13], xv[14]};
    EXPECT_EQ(yv, want);
    autograd::backward(y, Tensor::ones({5, 3}).to(gpu));
    const std::vector<float> g = autograd::grad(x).to_vector<float>();
    EXPECT_EQ(g, std::vector<float>({1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2}));
  }
}

// Many repeats of few rows: the sort-based CUDA scatter-add must match the CPU's serial order
// exactly.
TEST(Shape, GatherRowsBackwardCudaMatchesCpuExactly) {
  Y8M_REQUIRE_CUDA();
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < 5000; ++i) idx.push_back((i * 7919) % 3 + (i % 11 == 0 ? 4 : 0));
  const Tensor index = ints(idx, {5000});
  const Tensor dy = uniform({5000, 37}, 5).to(DType::f32);
  Tensor results[2];
  const Device devs[2] = {Device::cpu(), Device::cuda(0)};
  for (int k = 0; k < 2; ++k) {
    Tensor x = Tensor::zeros({9, 37}, DType::f32, devs[k]);
    autograd::set_requires_grad(x, true);
    Tensor y = ops::gather_rows(x, index.to(devs[k]));
    autograd::backward(y, dy.to(devs[k]));
    results[k] = autograd::grad(x);
  }
  EXPECT_EQ(compare(results[1], results[0], 0, 0), "");
}

TEST(Shape, TransposeCudaOddSizes) {
  Y8M_REQUIRE_CUDA();
  for (const Shape& s : {Shape{1, 1}, Shape{33, 65}, Shape{3, 100, 31}, Shape{2, 2, 64, 32}}) {
    const Tensor x = uniform(s, 7).to(DType::f32);
    EXPECT_EQ(compare(ops::transpose(x.to(Device::cuda(0))), ops::transpose(x), 0, 0), "")
        << engine::shape_str(s);
  }
}

}  // namespace
}  // namespace y8m::testing
