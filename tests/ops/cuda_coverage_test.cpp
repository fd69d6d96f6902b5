// CUDA paths the op harness's shapes never reach (issue 14): the warp-per-row l2_normalize kernels
// (rows of 32..1024), reductions over rows that are not a multiple of 8, row copies of f16 and u8
// with odd widths, every family on offset views (a slice of a larger buffer, so pointers are not
// 16-byte aligned), and a grid-stride loop that actually loops. Each compares CUDA with the CPU
// (STYLE.md tolerances) and skips without a GPU.
#include "engine/device.h"
#include "engine/tensor.h"
#include "ops/ops.h"
#include "tests/common/test_util.h"
#include "tests/ops/op_harness.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace y8m::testing {
namespace {

const Device kGpu = Device::cuda(0);

// got (on the GPU) against the same op on the CPU.
void expect_parity(const Tensor& gpu, const Tensor& cpu, double tol, const std::string& what) {
  ASSERT_EQ(gpu.shape(), cpu.shape()) << what;
  EXPECT_EQ(compare(gpu.to(Device::cpu()), cpu, tol, tol), "") << what;
}

// Rows [1, 1 + rows) of a [rows + 2, width] f32 buffer: a view whose data starts one row in.
Tensor offset_view(int64_t rows, int64_t width, uint64_t seed, Device dev) {
  const Tensor whole = uniform({rows + 2, width}, seed).to(DType::f32).to(dev);
  return whole.slice_rows(1, 1 + rows);
}

TEST(CudaCoverage, L2NormalizeRowWidths) {
  Y8M_REQUIRE_CUDA();
  for (int64_t w :
       {31, 32, 33, 64, 100, 127, 128, 255, 256, 500, 512, 777, 1000, 1023, 1024, 1025, 1152}) {
    for (int64_t rows : {1, 7, 300}) {
      const Tensor x = uniform({rows, w}, static_cast<uint64_t>(w * 13 + rows)).to(DType::f32);
      expect_parity(ops::l2_normalize(x.to(kGpu), -1), ops::l2_normalize(x, -1), 1e-5,
                    "l2_normalize rows " + std::to_string(rows) + " x " + std::to_string(w));
    }
  }
}

TEST(CudaCoverage, ReductionsOverRowsNotAMultipleOf8) {
  Y8M_REQUIRE_CUDA();
  for (const Shape& s : {Shape{7, 33}, Shape{13, 1}, Shape{1001, 9}, Shape{3, 5, 1031}}) {
    const Tensor x = uniform(s, 41).to(DType::f32);
    const Tensor g = x.to(kGpu);
    for (int64_t axis : {int64_t{0}, int64_t{-1}}) {
      const std::string what = engine::shape_str(s) + " axis " + std::to_string(axis);
      expect_parity(ops::sum(g, axis), ops::sum(x, axis), 1e-5, "sum " + what);
      expect_parity(ops::mean(g, axis), ops::mean(x, axis), 1e-5, "mean " + what);
      expect_parity(ops::max(g, axis), ops::max(x, axis), 0, "max " + what);
    }
  }
}

TEST(CudaCoverage, RowCopiesOfF16AndU8WithOddWidths) {
  Y8M_REQUIRE_CUDA();
  for (DType dt : {DType::f16, DType::u8}) {
    for (int64_t w : {1, 3, 7, 9, 33}) {
      const Tensor a = small_ints({5, w}, 3, 0, 9).to(dt),
                   b = small_ints({5, w + 2}, 4, 0, 9).to(dt);
      const std::string what = std::string(engine::dtype_name(dt)) + " width " + std::to_string(w);
      const Tensor cat = ops::concat({a, b}, 1);
      expect_parity(ops::concat({a.to(kGpu), b.to(kGpu)}, 1), cat, 0, "concat " + what);
      expect_parity(ops::slice(cat.to(kGpu), 1, 1, w + 1), ops::slice(cat, 1, 1, w + 1), 0,
                    "slice " + what);
      const Tensor idx = ints({4, 0, 4, 2}, {4});
      expect_parity(ops::gather_rows(cat.to(kGpu), idx.to(kGpu)), ops::gather_rows(cat, idx), 0,
                    "gather_rows " + what);
      const std::vector<Tensor> parts = ops::split(cat.to(kGpu), {w, w + 2}, 1);
      expect_parity(parts[0], a, 0, "split " + what);
      expect_parity(parts[1], b, 0, "split " + what);
    }
  }
}

// One op of each family on a view that starts one row into its buffer (odd row widths make the
// pointer unaligned for the vector paths).
TEST(CudaCoverage, EveryFamilyOnOffsetViews) {
  Y8M_REQUIRE_CUDA();
  for (int64_t w : {33, 1024, 1031}) {
    const std::string what = " width " + std::to_string(w);
    const Tensor xc = offset_view(9, w, 5, Device::cpu()), xg = offset_view(9, w, 5, kGpu);
    const Tensor yc = offset_view(9, w, 6, Device::cpu()), yg = offset_view(9, w, 6, kGpu);
    expect_parity(ops::add(xg, yg), ops::add(xc, yc), 1e-6, "add" + what);
    expect_parity(ops::mul(xg, yg), ops::mul(xc, yc), 1e-6, "mul" + what);
    expect_parity(ops::sigmoid(xg), ops::sigmoid(xc), 1e-6, "sigmoid" + what);
    expect_parity(ops::relu6(xg), ops::relu6(xc), 0, "relu6" + what);
    expect_parity(ops::sum(xg, -1), ops::sum(xc, -1), 1e-5, "sum" + what);
    expect_parity(ops::softmax(xg), ops::softmax(xc), 1e-5, "softmax" + what);
    expect_parity(ops::l2_normalize(xg, -1), ops::l2_normalize(xc, -1), 1e-5,
                  "l2_normalize" + what);
    expect_parity(ops::transpose(xg), ops::transpose(xc), 0, "transpose" + what);
    expect_parity(ops::concat({xg, yg}, 1), ops::concat({xc, yc}, 1), 0, "concat" + what);
    const Tensor w2c = offset_view(w, 17, 7, Device::cpu()), w2g = offset_view(w, 17, 7, kGpu);
    expect_parity(ops::matmul(xg, w2g), ops::matmul(xc, w2c), 1e-4, "matmul" + what);
    const Tensor idx = ints({8, 0, 3}, {3});
    expect_parity(ops::gather_rows(xg, idx.to(kGpu)), ops::gather_rows(xc, idx), 0,
                  "gather_rows" + what);
  }
}

// 2^27 + 3 elements: more than the 65535 * 8 blocks of 256 threads grid_for allows, so each thread
// of the element-wise kernels loops.
TEST(CudaCoverage, GridStrideLoopsOverMoreElementsThanThreads) {
  Y8M_REQUIRE_CUDA();
  const int64_t n = (int64_t{1} << 27) + 3;
  const Tensor x = uniform({n}, 9).to(DType::f32);
  expect_parity(ops::relu(x.to(kGpu)), ops::relu(x), 0, "relu over 2^27 + 3 elements");
  expect_parity(ops::mul_scalar(x.to(kGpu), 3.0), ops::mul_scalar(x, 3.0), 1e-6,
                "mul_scalar over 2^27 + 3 elements");
}

}  // namespace
}  // namespace y8m::testing
