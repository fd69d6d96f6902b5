// Tensor basics: factories, shapes, element counts, views (reshape, slice_rows, row), copies and
// host read-back, plus the error macros every layer relies on.
#include "engine/tensor.h"
#include "engine/error.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

namespace y8m::engine {
namespace {

using testing::error_of;

std::vector<float> iota_f(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0.f);
  return v;
}

TEST(ErrorMacros, CheckThrowsErrorWithFormattedText) {
  const std::string msg =
      error_of([] { Y8M_CHECK(1 + 1 == 3, "matmul: inner dims {} vs {}", 4, 5); });
  EXPECT_EQ(msg, "matmul: inner dims 4 vs 5");
  EXPECT_NO_THROW(Y8M_CHECK(true, "never {}", 1));
  EXPECT_EQ(error_of([] { Y8M_FAIL("flag --x: bad value '{}'", "q"); }), "flag --x: bad value 'q'");
}

TEST(ErrorMacros, AssertSaysInternalError) {
  const std::string plain = error_of([] { Y8M_ASSERT(2 < 1); });
  EXPECT_NE(plain.find("internal error"), std::string::npos) << plain;
  EXPECT_NE(plain.find("2 < 1"), std::string::npos) << plain;
  const std::string ctx = error_of([] { Y8M_ASSERT(false, "slot {} empty", 7); });
  EXPECT_NE(ctx.find("internal error"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find("slot 7 empty"), std::string::npos) << ctx;
  // Only the base name of the file, never the build path.
  EXPECT_NE(ctx.find("tensor_test.cpp:"), std::string::npos) << ctx;
  EXPECT_EQ(ctx.find("/tests/"), std::string::npos) << ctx;
}

TEST(Tensor, FactoriesSetShapeDtypeDeviceAndValues) {
  Tensor e = Tensor::empty({2, 3}, DType::f64);
  EXPECT_EQ(e.shape(), (Shape{2, 3}));
  EXPECT_EQ(e.dim(), 2);
  EXPECT_EQ(e.numel(), 6);
  EXPECT_EQ(e.dtype(), DType::f64);
  EXPECT_TRUE(e.device().is_cpu());
  EXPECT_EQ(e.nbytes(), 48u);
  EXPECT_FALSE(e.is_pinned());
  EXPECT_EQ(e.str(), "f64[2, 3] on cpu");

  EXPECT_EQ(Tensor::zeros({4}).to_vector<float>(), std::vector<float>(4, 0.f));
  EXPECT_EQ(Tensor::ones({3}, DType::i32).to_vector<int32_t>(), std::vector<int32_t>(3, 1));
  EXPECT_EQ(Tensor::full({2}, -2.5, DType::f64).to_vector<double>(),
            (std::vector<double>{-2.5, -2.5}));
  EXPECT_EQ(Tensor::full({3}, 200, DType::u8).to_vector<uint8_t>(), std::vector<uint8_t>(3, 200));
  EXPECT_EQ(Tensor::full({2}, 1.5, DType::f16).to_vector<float>(),
            (std::vector<float>{1.5f, 1.5f}));
  EXPECT_EQ(Tensor::full({2}, 3.0, DType::bf16).to_vector<float>(), (std::vector<float>{3.f, 3.f}));
  EXPECT_EQ(Tensor::full({1}, -7, DType::i64).item<int64_t>(), -7);

  Tensor s = Tensor::scalar(4.25);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item<float>(), 4.25f);
  EXPECT_EQ(s.str(), "f32[] on cpu");

  Tensor v = Tensor::from_vector<int32_t>({1, 2, 3, 4, 5, 6}, {3, 2});
  EXPECT_EQ(v.dtype(), DType::i32);
  EXPECT_EQ(v.size(0), 3);
  EXPECT_EQ(v.size(-1), 2);
  EXPECT_EQ(v.to_vector<int32_t>(), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(Tensor().str(), "undefined tensor");
}

TEST(Tensor, ZeroSizedTensors) {
  Tensor z = Tensor::zeros({0, 1152});
  EXPECT_EQ(z.numel(), 0);
  EXPECT_EQ(z.nbytes(), 0u);
  EXPECT_TRUE(z.to_vector<float>().empty());
  EXPECT_NE(z.data_ptr(), nullptr);
  Tensor c = z.clone();
  EXPECT_EQ(c.shape(), (Shape{0, 1152}));
  EXPECT_EQ(z.to(DType::f16).numel(), 0);
  EXPECT_EQ(Tensor::from_vector<float>({}, {0}).numel(), 0);
}

TEST(Tensor, ShapeErrors) {
  EXPECT_NE(error_of([] { Tensor::empty({2, -1}); }).find("negative dimension"), std::string::npos);
  const int64_t big = int64_t(1) << 32;
  const std::string over = error_of([&] { Tensor::empty({big, big, 4}); });
  EXPECT_NE(over.find("overflows"), std::string::npos) << over;
  EXPECT_NE(over.find("[4294967296, 4294967296, 4]"), std::string::npos) << over;
  // The element count fits in int64 but the byte count does not: must not wrap to a tiny block.
  const std::string bytes = error_of([] { Tensor::empty({int64_t(1) << 62}, DType::f32); });
  EXPECT_NE(bytes.find("overflows"), std::string::npos) << bytes;
  EXPECT_NE(error_of([] { Tensor::empty({int64_t(1) << 61}, DType::f64); }).find("overflows"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              Tensor::zeros({2, 3}).size(2);
            }).find("out of range"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              Tensor::zeros({2, 3}).size(-3);
            }).find("out of range"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              Tensor::from_vector<float>({1, 2, 3}, {2, 2});
            }).find("3 values"),
            std::string::npos);
  EXPECT_NE(error_of([] { Tensor().shape(); }).find("undefined tensor"), std::string::npos);
  EXPECT_EQ(shape_numel({}), 1);
  EXPECT_EQ(shape_numel({5, 0, 3}), 0);
  EXPECT_EQ(shape_str({2, 3}), "[2, 3]");
}

TEST(Tensor, DataWithWrongTypeNamesBoth) {
  Tensor t = Tensor::zeros({2});
  EXPECT_NO_THROW(t.data<float>());
  const std::string msg = error_of([&] { t.data<double>(); });
  EXPECT_EQ(msg, "tensor: data<f64>() on a f32[2] on cpu tensor");
  EXPECT_NE(error_of([&] { t.data<int32_t>(); }).find("data<i32>()"), std::string::npos);
}

TEST(Tensor, ItemNeedsOneElement) {
  const std::string msg = error_of([] { Tensor::zeros({2, 2}).item<float>(); });
  EXPECT_NE(msg.find("item"), std::string::npos);
  EXPECT_NE(msg.find("4 elements"), std::string::npos) << msg;
  EXPECT_EQ(Tensor::full({1, 1}, 3).item<int32_t>(), 3);
}

TEST(Tensor, ReshapeIsAViewAndInfersOneDimension) {
  Tensor t = Tensor::from_vector(iota_f(24), {2, 3, 4});
  Tensor r = t.reshape({6, -1});
  EXPECT_EQ(r.shape(), (Shape{6, 4}));
  EXPECT_TRUE(r.shares_storage(t));
  EXPECT_FALSE(r.same(t));
  EXPECT_EQ(r.data_ptr(), t.data_ptr());
  EXPECT_EQ(t.reshape({-1}).shape(), (Shape{24}));
  EXPECT_EQ(t.reshape({2, -1, 3}).shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(Tensor::zeros({1}).reshape({}).dim(), 0);
  EXPECT_EQ(Tensor::zeros({0, 3}).reshape({-1, 3}).shape(), (Shape{0, 3}));
  // A write through the view is visible in the original.
  r.data<float>()[5] = 100.f;
  EXPECT_EQ(t.to_vector<float>()[5], 100.f);

  EXPECT_NE(error_of([&] {
              t.reshape({5, -1});
            }).find("cannot reshape f32[2, 3, 4]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { t.reshape({-1, -1}); }).find("more than one -1"), std::string::npos);
  EXPECT_NE(error_of([&] { t.reshape({5, 5}); }).find("24 vs 25"), std::string::npos);
  EXPECT_NE(error_of([&] { t.reshape({-2, 12}); }).find("bad dimension"), std::string::npos);
  EXPECT_NE(error_of([&] { t.reshape({0, -1}); }).find("cannot reshape"), std::string::npos);
  const int64_t big = int64_t(1) << 62;
  EXPECT_NE(error_of([&] { t.reshape({5, big, -1}); }).find("overflows"), std::string::npos);
  EXPECT_NE(error_of([&] { t.reshape({4, big}); }).find("overflows"), std::string::npos);
}

TEST(Tensor, SliceRowsAndRowShareStorageAtOffsets) {
  Tensor t = Tensor::from_vector(iota_f(12), {4, 3});
  Tensor s = t.slice_rows(1, 3);
  EXPECT_EQ(s.shape(), (Shape{2, 3}));
  EXPECT_TRUE(s.shares_storage(t));
  EXPECT_EQ(static_cast<char*>(s.data_ptr()) - static_cast<char*>(t.data_ptr()), 3 * 4);
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{3, 4, 5, 6, 7, 8}));

  // Views of views accumulate offsets.
  Tensor ss = s.slice_rows(1, 2);
  EXPECT_EQ(static_cast<char*>(ss.data_ptr()) - static_cast<char*>(t.data_ptr()), 6 * 4);
  EXPECT_EQ(ss.to_vector<float>(), (std::vector<float>{6, 7, 8}));

  Tensor r = t.row(3);
  EXPECT_EQ(r.shape(), (Shape{3}));
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{9, 10, 11}));
  r.fill(-1);
  EXPECT_EQ(t.to_vector<float>()[9], -1.f);
  EXPECT_EQ(t.to_vector<float>()[8], 8.f);
  EXPECT_EQ(Tensor::from_vector(iota_f(3), {3}).row(2).dim(), 0);

  EXPECT_EQ(t.slice_rows(2, 2).numel(), 0);
  EXPECT_EQ(t.slice_rows(0, 4).to_vector<float>(), t.to_vector<float>());
  EXPECT_NE(error_of([&] { t.slice_rows(3, 5); }).find("range [3, 5) outside 4 rows"),
            std::string::npos);
  EXPECT_NE(error_of([&] { t.slice_rows(2, 1); }).find("slice_rows"), std::string::npos);
  EXPECT_NE(error_of([&] { t.slice_rows(-1, 1); }).find("slice_rows"), std::string::npos);
  EXPECT_NE(error_of([] { Tensor::scalar(1).slice_rows(0, 1); }).find("at least one dimension"),
            std::string::npos);
  // Slices of a zero-row tensor.
  EXPECT_EQ(Tensor::zeros({0, 5}).slice_rows(0, 0).shape(), (Shape{0, 5}));
}

TEST(Tensor, CloneAndCopyFrom) {
  Tensor t = Tensor::from_vector<double>({1, 2, 3, 4}, {2, 2});
  Tensor c = t.clone();
  EXPECT_FALSE(c.shares_storage(t));
  EXPECT_EQ(c.shape(), t.shape());
  EXPECT_EQ(c.dtype(), DType::f64);
  c.data<double>()[0] = 9;
  EXPECT_EQ(t.to_vector<double>()[0], 1.0);

  // copy_from needs the same dtype and element count, not the same shape.
  Tensor flat = Tensor::zeros({4}, DType::f64);
  flat.copy_from(t);
  EXPECT_EQ(flat.to_vector<double>(), (std::vector<double>{1, 2, 3, 4}));
  // Into a view: only the viewed rows change.
  Tensor big = Tensor::zeros({3, 2}, DType::f64);
  big.slice_rows(1, 3).copy_from(t);
  EXPECT_EQ(big.to_vector<double>(), (std::vector<double>{0, 0, 1, 2, 3, 4}));

  const std::string msg = error_of([&] { Tensor::zeros({4}).copy_from(t); });
  EXPECT_NE(msg.find("cannot copy f64[2, 2] on cpu into f32[4] on cpu"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { Tensor::zeros({3}, DType::f64).copy_from(t); }).find("cannot copy"),
            std::string::npos);
}

TEST(Tensor, ToSameDeviceOrDtypeReturnsSameTensor) {
  Tensor t = Tensor::zeros({3});
  EXPECT_TRUE(t.to(Device::cpu()).same(t));
  EXPECT_TRUE(t.to(DType::f32).same(t));
  EXPECT_FALSE(t.to(DType::f64).shares_storage(t));
}

TEST(Tensor, WrapKeepsOwnerAliveUntilLastUse) {
  auto owner = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4});
  std::weak_ptr<std::vector<float>> watch = owner;
  Tensor w = Tensor::wrap(owner->data(), {2, 2}, DType::f32, Device::cpu(), owner);
  owner.reset();
  EXPECT_FALSE(watch.expired());
  Tensor view = w.slice_rows(1, 2);
  EXPECT_EQ(view.to_vector<float>(), (std::vector<float>{3, 4}));
  w = Tensor();
  EXPECT_FALSE(watch.expired());
  view = Tensor();
  EXPECT_TRUE(watch.expired());
}

TEST(Tensor, RawAddAndScale) {
  Tensor a = Tensor::from_vector<float>({1, 2, 3}, {3});
  Tensor b = Tensor::from_vector<float>({10, 20, 30}, {3});
  EXPECT_EQ(add(a, b).to_vector<float>(), (std::vector<float>{11, 22, 33}));
  scale_(a, 0.5);
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{0.5f, 1.f, 1.5f}));
  Tensor d = Tensor::from_vector<double>({1, 2}, {2});
  scale_(d, -3);
  EXPECT_EQ(d.to_vector<double>(), (std::vector<double>{-3, -6}));
  EXPECT_NE(error_of([&] { add(a, Tensor::zeros({4})); }).find("add:"), std::string::npos);
  Tensor i = Tensor::zeros({2}, DType::i32);
  EXPECT_NE(error_of([&] { scale_(i, 2); }).find("unsupported dtype"), std::string::npos);
  EXPECT_NE(error_of([&] {
              check_dtype(a, DType::f64, "myop");
            }).find("myop: expected a f64 tensor, got f32[3] on cpu"),
            std::string::npos);
}

}  // namespace
}  // namespace y8m::engine
