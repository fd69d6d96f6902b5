// Counter-based random numbers: Philox4x32-10 against the Random123 known-answer vectors, uniform
// and normal fills (range, reproducibility, statistics, layout of counters) and Generator offsets.
#include "engine/rng.h"
#include "engine/philox.h"
#include "engine/rng_math.h"
#include "engine/tensor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace y8m::engine {
namespace {

void expect_block(const philox::U32x4& got, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  EXPECT_EQ(got.v[0], a);
  EXPECT_EQ(got.v[1], b);
  EXPECT_EQ(got.v[2], c);
  EXPECT_EQ(got.v[3], d);
}

// Known-answer vectors from Random123's kat_vectors (philox4x32 with 10 rounds).
TEST(Philox, Random123KnownAnswers) {
  expect_block(philox::philox4x32_10(0, 0, 0, 0, 0, 0), 0x6627e8d5, 0xe169c58d, 0xbc57ac4c,
               0x9b00dbd8);
  expect_block(
      philox::philox4x32_10(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff),
      0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd);
  expect_block(
      philox::philox4x32_10(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0),
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1);
}

TEST(Philox, BlockMapsSeedAndCounterToKeyAndCounterWords) {
  const uint64_t seed = 0x299f31d0a4093822ull, counter = 0x85a308d3243f6a88ull;
  // The 64-bit counter fills counter words 0 and 1 (words 2 and 3 stay 0); the seed is the key.
  const philox::U32x4 want =
      philox::philox4x32_10(0x243f6a88, 0x85a308d3, 0, 0, 0xa4093822, 0x299f31d0);
  expect_block(philox::block(seed, counter), want.v[0], want.v[1], want.v[2], want.v[3]);
  expect_block(philox::block(0, 0), 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8);
}

TEST(Philox, UniformFromTopBits) {
  EXPECT_EQ(philox::to_uniform(0), 0.f);
  EXPECT_EQ(philox::to_uniform(0xffffffffu), 1.f - 0x1p-24f);
  EXPECT_EQ(philox::to_uniform(0x80000000u), 0.5f);
  EXPECT_EQ(philox::to_uniform(0x000000ffu), 0.f);  // the low 8 bits are dropped
}

TEST(FillUniform, ElementLayoutFollowsCounters) {
  Tensor t = Tensor::empty({10}, DType::f64);
  fill_uniform(t, 42, 7);
  const std::vector<double> v = t.to_vector<double>();
  for (uint64_t i = 0; i < 10; ++i) {
    const philox::U32x4 b = philox::block(42, 7 + i / 4);
    EXPECT_EQ(v[i], static_cast<double>(philox::to_uniform(b.v[i % 4]))) << i;
  }
}

TEST(FillUniform, RangeReproducibilityAndOffsets) {
  const int64_t n = 100000;
  Tensor a = Tensor::empty({n});
  fill_uniform(a, 1234, 0, -0.05, 0.05);
  Tensor b = Tensor::empty({n});
  fill_uniform(b, 1234, 0, -0.05, 0.05);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());  // same seed and offset: identical

  Tensor c = Tensor::empty({n});
  fill_uniform(c, 1234, 1, -0.05, 0.05);
  Tensor d = Tensor::empty({n});
  fill_uniform(d, 1235, 0, -0.05, 0.05);
  const std::vector<float> va = a.to_vector<float>(), vc = c.to_vector<float>(),
                           vd = d.to_vector<float>();
  int64_t same_c = 0, same_d = 0;
  double sum = 0, lo = 1, hi = -1;
  for (size_t i = 0; i < va.size(); ++i) {
    same_c += va[i] == vc[i];
    same_d += va[i] == vd[i];
    sum += va[i];
    lo = std::min<double>(lo, va[i]);
    hi = std::max<double>(hi, va[i]);
    ASSERT_GE(va[i], -0.05f);
    ASSERT_LT(static_cast<double>(va[i]), 0.05);
  }
  EXPECT_LT(same_c, 10);  // a different offset gives different numbers
  EXPECT_LT(same_d, 10);  // so does a different seed
  // Offset 1 starts at block 1: shifting by four elements lines the two fills up.
  for (size_t i = 0; i + 4 < va.size(); i += 997) EXPECT_EQ(vc[i], va[i + 4]);
  EXPECT_NEAR(sum / n, 0.0, 0.05 * 0.01);
  EXPECT_LT(lo, -0.0499);
  EXPECT_GT(hi, 0.0499);
}

// Block 2330056 of seed 0 holds a word whose top 24 bits are all ones, i.e. u = 1 - 2^-24, the
// largest uniform. With lo = 1, hi = 2 the double 2 - 2^-24 rounds to 2.0f; the fill must stay
// below hi.
TEST(FillUniform, LargestDrawStaysBelowHigh) {
  const uint64_t block = 2330056;
  ASSERT_EQ(philox::block(0, block).v[2] >> 8, 0xffffffu) << "the test's search result is stale";
  Tensor f = Tensor::empty({4});
  fill_uniform(f, 0, block, 1.0, 2.0);
  const std::vector<float> v = f.to_vector<float>();
  EXPECT_EQ(v[2], std::nextafter(2.f, 0.f));
  for (float x : v) {
    EXPECT_GE(x, 1.f);
    EXPECT_LT(x, 2.f);
  }
  Tensor g = Tensor::empty({4});
  fill_uniform(g, 0, block, -0.05, 0.05);
  for (float x : g.to_vector<float>()) EXPECT_LT(static_cast<double>(x), 0.05);
  Tensor d = Tensor::empty({4}, DType::f64);
  fill_uniform(d, 0, block, 1.0, 2.0);
  EXPECT_EQ(d.to_vector<double>()[2], 2.0 - 0x1p-24);
  // The default range is [0, 1).
  fill_uniform(f, 0, block);
  EXPECT_EQ(f.to_vector<float>()[2], 1.f - 0x1p-24f);
}

TEST(FillNormal, MomentsOfAMillionSamples) {
  for (DType dt : {DType::f32, DType::f64}) {
    const int64_t n = 1000000;
    Tensor t = Tensor::empty({n}, dt);
    fill_normal(t, 7, 0);
    const std::vector<double> v = t.to_vector<double>();
    double sum = 0, sq = 0;
    int64_t beyond3 = 0;
    for (double x : v) {
      ASSERT_TRUE(std::isfinite(x));
      sum += x;
      sq += x * x;
      beyond3 += std::fabs(x) > 3;
    }
    const double mean = sum / n, var = sq / n - mean * mean;
    EXPECT_LT(std::fabs(mean), 0.01) << dtype_name(dt);
    EXPECT_LT(std::fabs(var - 1), 0.01) << dtype_name(dt);
    // P(|z| > 3) = 0.0027: a Gaussian tail, not a uniform's.
    EXPECT_NEAR(static_cast<double>(beyond3) / n, 0.0027, 0.0005) << dtype_name(dt);
  }
}

TEST(FillNormal, MeanStddevAndLayout) {
  Tensor t = Tensor::empty({5}, DType::f64);
  fill_normal(t, 3, 11, 2.0, 0.5);
  const std::vector<double> v = t.to_vector<double>();
  for (uint64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(v[i], 0.5 * philox::normal_at(3, 11, i) + 2.0) << i;
    // Pairs (2k, 2k+1) come from one block: cos and sin of the same angle share the radius.
  }
  const double z0 = philox::normal_at(3, 11, 0), z1 = philox::normal_at(3, 11, 1);
  const philox::U32x4 b = philox::block(3, 11);
  const double u1 = (static_cast<double>(b.v[0] >> 8) + 1.0) / 16777216.0;
  EXPECT_NEAR(z0 * z0 + z1 * z1, -2.0 * std::log(u1), 1e-12);
  // f32 is the same double rounded once.
  Tensor f = Tensor::empty({5});
  fill_normal(f, 3, 11, 2.0, 0.5);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(f.to_vector<float>()[i], static_cast<float>(v[i]));
}

TEST(FillRandom, RejectsNonFloatTensors) {
  Tensor i = Tensor::zeros({3}, DType::i32);
  try {
    fill_uniform(i, 0, 0);
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fill_uniform: needs an f32 or f64 tensor, got i32[3]"),
              std::string::npos);
  }
  EXPECT_THROW(fill_normal(i, 0, 0), Error);
  Tensor h = Tensor::zeros({3}, DType::f16);
  EXPECT_THROW(fill_uniform(h, 0, 0), Error);
  Tensor z = Tensor::empty({0});
  EXPECT_NO_THROW(fill_normal(z, 0, 0));
}

TEST(Generator, AdvanceReservesWholeBlocks) {
  Generator g(99, 5);
  EXPECT_EQ(g.seed(), 99u);
  EXPECT_EQ(g.offset(), 5u);
  EXPECT_EQ(g.advance(3), 5u);
  EXPECT_EQ(g.offset(), 8u);
  EXPECT_EQ(uniform_counters(0), 0u);
  EXPECT_EQ(uniform_counters(1), 1u);
  EXPECT_EQ(uniform_counters(4), 1u);
  EXPECT_EQ(uniform_counters(5), 2u);
  EXPECT_EQ(normal_counters(1), 1u);
  EXPECT_EQ(normal_counters(2), 1u);
  EXPECT_EQ(normal_counters(3), 2u);
  g.set_state(1, 2);
  EXPECT_EQ(g.seed(), 1u);
  EXPECT_EQ(g.offset(), 2u);
}

TEST(Generator, ConsecutiveFillsUseDisjointCounters) {
  Generator g(2024);
  Tensor a = Tensor::empty({5}, DType::f64);  // 5 uniforms: 2 blocks
  Tensor b = Tensor::empty({3}, DType::f64);  // 3 normals: 2 blocks
  Tensor c = Tensor::empty({4}, DType::f64);
  fill_uniform(a, g);
  EXPECT_EQ(g.offset(), 2u);
  fill_normal(b, g, 1.0, 2.0);
  EXPECT_EQ(g.offset(), 4u);
  fill_uniform(c, g, -1.0, 1.0);
  EXPECT_EQ(g.offset(), 5u);

  // The same fills with explicit offsets.
  Tensor a2 = Tensor::empty({5}, DType::f64), b2 = Tensor::empty({3}, DType::f64),
         c2 = Tensor::empty({4}, DType::f64);
  fill_uniform(a2, 2024, 0);
  fill_normal(b2, 2024, 2, 1.0, 2.0);
  fill_uniform(c2, 2024, 4, -1.0, 1.0);
  EXPECT_EQ(a.to_vector<double>(), a2.to_vector<double>());
  EXPECT_EQ(b.to_vector<double>(), b2.to_vector<double>());
  EXPECT_EQ(c.to_vector<double>(), c2.to_vector<double>());

  // Two fills of 4 from a generator equal one fill of 8: nothing is skipped when n is a multiple
  // of 4.
  Generator g2(77);
  Tensor x = Tensor::empty({4}), y = Tensor::empty({4}), xy = Tensor::empty({8});
  fill_uniform(x, g2);
  fill_uniform(y, g2);
  fill_uniform(xy, 77, 0);
  const std::vector<float> vxy = xy.to_vector<float>();
  EXPECT_EQ(x.to_vector<float>(), std::vector<float>(vxy.begin(), vxy.begin() + 4));
  EXPECT_EQ(y.to_vector<float>(), std::vector<float>(vxy.begin() + 4, vxy.end()));
}

TEST(FillUniform, ParallelFillMatchesPerElementFormula) {
  // Large enough to be split across threads; element values must not depend on the split.
  const int64_t n = 70001;
  Tensor t = Tensor::empty({n});
  fill_uniform(t, 5, 123, -3.0, 4.0);
  const std::vector<float> v = t.to_vector<float>();
  for (int64_t i = 0; i < n; i += 4999) {
    const double u = philox::uniform_at(5, 123, static_cast<uint64_t>(i));
    EXPECT_EQ(v[static_cast<size_t>(i)], static_cast<float>(7.0 * u - 3.0)) << i;
  }
}

}  // namespace
}  // namespace y8m::engine
