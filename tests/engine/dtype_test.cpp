// Element types: names, sizes, f16/bf16 rounding (round to nearest even, as IEEE and CUDA's
// __float2half_rn) and Tensor::to(DType) for every pair of dtypes on the CPU.
#include "engine/dtype.h"
#include "engine/tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace y8m::engine {
namespace {

const DType kAll[] = {DType::f32, DType::f64, DType::f16, DType::bf16,
                      DType::u8,  DType::i8,  DType::i32, DType::i64};

uint16_t h(float f) { return float_to_half(f).bits; }
uint16_t b16(float f) { return float_to_bf16(f).bits; }
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(DType, NamesSizesAndParsing) {
  const size_t sizes[] = {4, 8, 2, 2, 1, 1, 4, 8};
  const char* names[] = {"f32", "f64", "f16", "bf16", "u8", "i8", "i32", "i64"};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(dtype_size(kAll[i]), sizes[i]);
    EXPECT_STREQ(dtype_name(kAll[i]), names[i]);
    EXPECT_EQ(dtype_from_name(names[i]), kAll[i]);
    EXPECT_EQ(is_floating(kAll[i]), i < 4);
  }
  EXPECT_EQ(dtype_from_name("float32"), DType::f32);
  EXPECT_EQ(dtype_from_name("bfloat16"), DType::bf16);
  EXPECT_EQ(dtype_from_name("int64"), DType::i64);
  try {
    dtype_from_name("float8");
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "dtype: unknown dtype name 'float8'");
  }
}

TEST(Half, RoundToNearestEvenVectors) {
  EXPECT_EQ(h(0.f), 0x0000);
  EXPECT_EQ(h(-0.f), 0x8000);
  EXPECT_EQ(h(1.f), 0x3c00);
  EXPECT_EQ(h(-2.f), 0xc000);
  EXPECT_EQ(h(0.1f), 0x2e66);
  EXPECT_EQ(h(65504.f), 0x7bff);    // largest finite half
  EXPECT_EQ(h(65519.99f), 0x7bff);  // below the midpoint to 65536: rounds down
  EXPECT_EQ(h(65520.f), 0x7c00);    // the midpoint; 0x7bff is odd, so it rounds up to inf
  EXPECT_EQ(h(-65520.f), 0xfc00);
  EXPECT_EQ(h(1e6f), 0x7c00);
  EXPECT_EQ(h(INFINITY), 0x7c00);
  EXPECT_EQ(h(-INFINITY), 0xfc00);
  // Ties between neighbours go to the even mantissa.
  EXPECT_EQ(h(1.f + 0x1p-11f), 0x3c00);             // 1 + half ulp -> 1
  EXPECT_EQ(h(1.f + 3 * 0x1p-11f), 0x3c02);         // 1 + 1.5 ulp -> 1 + 2 ulp
  EXPECT_EQ(h(1.f + 0x1p-11f + 0x1p-20f), 0x3c01);  // just above the tie -> up
  // Normal/subnormal boundary and subnormals.
  EXPECT_EQ(h(0x1p-14f), 0x0400);         // smallest normal
  EXPECT_EQ(h(1023 * 0x1p-24f), 0x03ff);  // largest subnormal
  EXPECT_EQ(h(5.96e-8f), 0x0001);         // smallest subnormal, 2^-24 = 5.9604645e-8
  EXPECT_EQ(h(0x1p-24f), 0x0001);
  EXPECT_EQ(h(0x1p-25f), 0x0000);               // tie between 0 and 2^-24 -> 0 (even)
  EXPECT_EQ(h(0x1p-25f * 1.0000001f), 0x0001);  // just above the tie
  EXPECT_EQ(h(3 * 0x1p-25f), 0x0002);           // 1.5 * 2^-24 -> 2 * 2^-24 (even)
  EXPECT_EQ(h(5 * 0x1p-25f), 0x0002);           // 2.5 * 2^-24 -> 2 * 2^-24 (even)
  EXPECT_EQ(h(-0x1p-24f), 0x8001);
  EXPECT_EQ(h(1e-10f), 0x0000);
  EXPECT_EQ(h(2047 * 0x1p-25f), 0x0400);         // rounds up across the subnormal/normal boundary
  EXPECT_EQ(h(from_bits(0x00000001u)), 0x0000);  // float subnormals flush to signed zero
  // NaN stays NaN (quiet).
  const uint16_t n = h(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(n & 0x7c00, 0x7c00);
  EXPECT_NE(n & 0x03ff, 0);
  EXPECT_NE(h(from_bits(0x7f800001u)) & 0x03ff, 0);  // signalling NaN payload in low bits only

  EXPECT_EQ(half_to_float(Half{0x0001}), 0x1p-24f);
  EXPECT_EQ(half_to_float(Half{0x03ff}), 1023 * 0x1p-24f);
  EXPECT_EQ(half_to_float(Half{0x7bff}), 65504.f);
  EXPECT_EQ(half_to_float(Half{0xfc00}), -INFINITY);
  EXPECT_TRUE(std::isnan(half_to_float(Half{0x7e00})));
  EXPECT_TRUE(std::signbit(half_to_float(Half{0x8000})));
}

TEST(Half, EveryHalfRoundTripsThroughFloat) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const float f = half_to_float(Half{static_cast<uint16_t>(bits)});
    const bool is_nan = (bits & 0x7c00) == 0x7c00 && (bits & 0x03ff) != 0;
    if (is_nan) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << bits;
      ASSERT_TRUE(std::isnan(half_to_float(float_to_half(f)))) << std::hex << bits;
    } else {
      ASSERT_EQ(float_to_half(f).bits, bits) << std::hex << bits;
    }
  }
}

TEST(Half, MidpointsBetweenNeighboursRoundToEven) {
  // For every pair of adjacent positive finite halves, the float midpoint goes to the even one.
  for (uint32_t bits = 0; bits < 0x7bff; ++bits) {
    const float lo = half_to_float(Half{static_cast<uint16_t>(bits)});
    const float hi = half_to_float(Half{static_cast<uint16_t>(bits + 1)});
    const float mid = lo + (hi - lo) / 2;  // exact in float
    const uint32_t even = (bits & 1) ? bits + 1 : bits;
    ASSERT_EQ(float_to_half(mid).bits, even) << std::hex << bits;
    ASSERT_EQ(float_to_half(std::nextafter(mid, 0.f)).bits, bits) << std::hex << bits;
    ASSERT_EQ(float_to_half(std::nextafter(mid, INFINITY)).bits, bits + 1) << std::hex << bits;
  }
}

TEST(BFloat16, RoundToNearestEvenVectors) {
  EXPECT_EQ(b16(1.f), 0x3f80);
  EXPECT_EQ(b16(-1.f), 0xbf80);
  EXPECT_EQ(b16(0.f), 0x0000);
  EXPECT_EQ(b16(-0.f), 0x8000);
  EXPECT_EQ(b16(1.f + 0x1p-8f), 0x3f80);             // tie -> even
  EXPECT_EQ(b16(1.f + 3 * 0x1p-8f), 0x3f82);         // tie -> even (up)
  EXPECT_EQ(b16(1.f + 0x1p-8f + 0x1p-20f), 0x3f81);  // above the tie
  EXPECT_EQ(b16(3.1415927f), 0x4049);
  EXPECT_EQ(b16(INFINITY), 0x7f80);
  EXPECT_EQ(b16(-INFINITY), 0xff80);
  EXPECT_EQ(b16(std::numeric_limits<float>::max()), 0x7f80);  // rounds past the largest bf16
  EXPECT_EQ(b16(from_bits(0x7f7f7fffu)), 0x7f7f);
  EXPECT_EQ(b16(from_bits(0x00010000u)), 0x0001);  // subnormals are kept
  const uint16_t n = b16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(n & 0x7f80, 0x7f80);
  EXPECT_NE(n & 0x007f, 0);
  // A NaN whose payload sits in the low 16 bits must not truncate to infinity.
  EXPECT_NE(b16(from_bits(0x7f800001u)) & 0x007f, 0);
  EXPECT_NE(b16(from_bits(0xffff0001u)) & 0x007f, 0);
  EXPECT_EQ(bf16_to_float(BFloat16{0x4049}), 3.140625f);
}

TEST(BFloat16, EveryBFloat16RoundTripsThroughFloat) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const float f = bf16_to_float(BFloat16{static_cast<uint16_t>(bits)});
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(bf16_to_float(float_to_bf16(f)))) << std::hex << bits;
    } else {
      ASSERT_EQ(float_to_bf16(f).bits, bits) << std::hex << bits;
    }
  }
}

TEST(Convert, EveryDtypePairOnExactValues) {
  // Values exact in every dtype (u8 excludes the negatives).
  const std::vector<double> pos = {0, 1, 2, 3, 100, 127};
  const std::vector<double> neg = {-1, -2, -100, -128};
  for (DType from : kAll) {
    for (DType to : kAll) {
      std::vector<double> vals = pos;
      if (from != DType::u8 && to != DType::u8) vals.insert(vals.end(), neg.begin(), neg.end());
      const int64_t n = static_cast<int64_t>(vals.size());
      Tensor src = Tensor::from_vector(vals, {n}).to(from);
      ASSERT_EQ(src.dtype(), from);
      Tensor dst = src.to(to);
      ASSERT_EQ(dst.dtype(), to);
      ASSERT_EQ(dst.shape(), (Shape{n}));
      EXPECT_EQ(dst.to_vector<double>(), vals) << dtype_name(from) << " -> " << dtype_name(to);
    }
  }
}

TEST(Convert, IntegersToFloatsKeepTheirValue) {
  Tensor i = Tensor::from_vector<int32_t>({-5, 0, 7, 123456}, {4});
  EXPECT_EQ(i.to(DType::f32).to_vector<float>(), (std::vector<float>{-5, 0, 7, 123456}));
  EXPECT_EQ(i.to_vector<float>(), (std::vector<float>{-5, 0, 7, 123456}));
  const int64_t big = (int64_t(1) << 40) + 1;
  Tensor l = Tensor::from_vector<int64_t>({big, -big}, {2});
  EXPECT_EQ(l.to(DType::f64).to_vector<double>(), (std::vector<double>{double(big), -double(big)}));
}

TEST(Convert, FloatsToIntegersTruncateTowardZero) {
  Tensor f = Tensor::from_vector<float>({2.75f, -2.75f, 0.5f, 126.9f}, {4});
  EXPECT_EQ(f.to(DType::i32).to_vector<int32_t>(), (std::vector<int32_t>{2, -2, 0, 126}));
  EXPECT_EQ(f.to(DType::i8).to_vector<int8_t>(), (std::vector<int8_t>{2, -2, 0, 126}));
  EXPECT_EQ(f.to_vector<int64_t>(), (std::vector<int64_t>{2, -2, 0, 126}));
}

TEST(Convert, FloatToHalfAndBFloat16Round) {
  Tensor f =
      Tensor::from_vector<float>({1.f, 65504.f, 65520.f, 5.96e-8f, 0x1p-25f, 1.f + 0x1p-11f}, {6});
  const std::vector<Half> hv = f.to(DType::f16).to_vector<Half>();
  const uint16_t want[] = {0x3c00, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x3c00};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(hv[static_cast<size_t>(i)].bits, want[i]) << i;
  // f64 -> f16 goes through f32 (as on CUDA): the values above are exact in f32.
  EXPECT_EQ(f.to(DType::f64).to(DType::f16).to_vector<Half>()[2].bits, 0x7c00);
  const std::vector<float> back = f.to(DType::f16).to_vector<float>();
  EXPECT_EQ(back[1], 65504.f);
  EXPECT_TRUE(std::isinf(back[2]));
  EXPECT_EQ(back[3], 0x1p-24f);

  Tensor nan = Tensor::from_vector<float>({std::nanf("")}, {1});
  EXPECT_TRUE(std::isnan(nan.to(DType::f16).item<float>()));
  EXPECT_TRUE(std::isnan(nan.to(DType::bf16).item<float>()));
  EXPECT_TRUE(std::isnan(nan.to(DType::f64).item<double>()));

  Tensor b = Tensor::from_vector<float>({1.f + 0x1p-8f, 1.f + 3 * 0x1p-8f, 3.1415927f}, {3});
  const std::vector<BFloat16> bv = b.to(DType::bf16).to_vector<BFloat16>();
  EXPECT_EQ(bv[0].bits, 0x3f80);
  EXPECT_EQ(bv[1].bits, 0x3f82);
  EXPECT_EQ(bv[2].bits, 0x4049);
}

TEST(Convert, ParallelConversionOfALargeTensor) {
  // Large enough to be split across threads (the grain is 16384 elements).
  const int64_t n = 100003;
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<int32_t>(i % 2001 - 1000);
  const std::vector<float> f = Tensor::from_vector(v, {n}).to(DType::f16).to_vector<float>();
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(f[static_cast<size_t>(i)], float(v[static_cast<size_t>(i)])) << i;
}

}  // namespace
}  // namespace y8m::engine
