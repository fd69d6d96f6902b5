// The codebooks of quantize.py's transforms (pipeline/quantize.h, SPEC §11) on small arrays with
// known answers: linspace endpoints and spacing, quantiles at linspace(0, 1, 256) with linear
// interpolation, 1-D k-means recovering the centres of clustered data, and the nearest-entry
// assignment (ties to the lower index) against a brute-force argmin.
#include "pipeline/quantize.h"
#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>

namespace y8m::pipeline {
namespace {

Tensor f32(const std::vector<float>& v) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
}

std::vector<float> shuffled(std::vector<float> v, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::shuffle(v.begin(), v.end(), g);
  return v;
}

std::vector<float> normal_values(size_t n, uint64_t seed, float stddev = 0.05f) {
  std::mt19937_64 g(seed);
  std::normal_distribution<float> d(0.0f, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

// Brute force: the first index of the smallest |w - c| (computed in double).
std::vector<uint8_t> argmin_indices(const std::vector<float>& w, const std::vector<float>& c) {
  std::vector<uint8_t> out;
  for (float x : w) {
    size_t best = 0;
    for (size_t j = 1; j < c.size(); ++j)
      if (std::fabs(double(x) - c[j]) < std::fabs(double(x) - c[best])) best = j;
    out.push_back(static_cast<uint8_t>(best));
  }
  return out;
}

double mse(const std::vector<float>& w, const Tensor& codebook) {
  const std::vector<float> c = codebook.to_vector<float>();
  const std::vector<uint8_t> q = nearest_indices(f32(w), codebook).to_vector<uint8_t>();
  double s = 0;
  for (size_t i = 0; i < w.size(); ++i) s += std::pow(double(w[i]) - c[q[i]], 2);
  return s / static_cast<double>(w.size());
}

TEST(QuantizeCodebook, TransformNames) {
  for (const char* name : {"float16", "quant_uniform", "quant_quantile", "quant_kmeans"})
    EXPECT_STREQ(quant_transform_name(quant_transform_from_name(name)), name);
  const std::string msg = testing::error_of([] { quant_transform_from_name("quant_linear"); });
  for (const char* part : {"--transform_type", "'quant_linear'", "float16", "quant_uniform",
                           "quant_quantile", "quant_kmeans"})
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
}

TEST(QuantizeCodebook, UniformIsLinspaceOfMinAndMax) {
  // Values spanning [0, 255]: the codebook is the integers 0..255.
  std::vector<float> v = {0.0f, 255.0f, 3.5f, 17.25f, 100.0f};
  std::vector<float> want(256);
  for (int i = 0; i < 256; ++i) want[static_cast<size_t>(i)] = static_cast<float>(i);
  EXPECT_EQ(uniform_codebook(f32(v)).to_vector<float>(), want);
  // A random tensor: c_i = min + i (max - min) / 255 in double, rounded; endpoints exact.
  const std::vector<float> r = normal_values(5000, 1);
  const float lo = *std::min_element(r.begin(), r.end()),
              hi = *std::max_element(r.begin(), r.end());
  const std::vector<float> c = uniform_codebook(f32(r)).to_vector<float>();
  EXPECT_EQ(c.front(), lo);
  EXPECT_EQ(c.back(), hi);
  for (int i = 0; i < 255; ++i)
    EXPECT_EQ(c[static_cast<size_t>(i)], static_cast<float>(lo + i * ((double(hi) - lo) / 255.0)));
  // One distinct value: every entry is that value.
  EXPECT_EQ(uniform_codebook(f32({-2.5f, -2.5f})).to_vector<float>(),
            std::vector<float>(256, -2.5f));
}

TEST(QuantizeCodebook, QuantilesAtLinspaceWithLinearInterpolation) {
  // 511 values 0..510: h_i = i * 510 / 255 = 2i lands on a value, c_i = 2i.
  std::vector<float> v(511);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  std::vector<float> want(256);
  for (size_t i = 0; i < 256; ++i) want[i] = static_cast<float>(2 * i);
  EXPECT_EQ(quantile_codebook(f32(shuffled(v, 2))).to_vector<float>(), want);
  // 256 values: the codebook is the sorted values themselves.
  const std::vector<float> r256 = normal_values(256, 3);
  std::vector<float> sorted = r256;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(quantile_codebook(f32(r256)).to_vector<float>(), sorted);
  // 129 values 0..128 (squares, so interpolation matters): h_i = i * 128 / 255 between two values.
  std::vector<float> sq(129);
  for (size_t i = 0; i < sq.size(); ++i) sq[i] = static_cast<float>(i * i);
  const std::vector<float> c = quantile_codebook(f32(shuffled(sq, 4))).to_vector<float>();
  for (size_t i = 0; i < 256; ++i) {
    const double h = (i == 255 ? 1.0 : i / 255.0) * 128.0;
    const size_t lo = static_cast<size_t>(std::floor(h));
    const double t = h - static_cast<double>(lo);
    const double a = sq[lo], b = sq[std::min<size_t>(lo + 1, 128)];
    EXPECT_FLOAT_EQ(c[i], static_cast<float>(a + (b - a) * t)) << "entry " << i;
  }
  EXPECT_EQ(c.front(), 0.0f);
  EXPECT_EQ(c.back(), 128.0f * 128.0f);
  // Many values (the multi-select path) against a full sort.
  const std::vector<float> big = normal_values(100003, 5);
  std::vector<float> s = big;
  std::sort(s.begin(), s.end());
  const std::vector<float> cb = quantile_codebook(f32(big)).to_vector<float>();
  for (size_t i = 0; i < 256; ++i) {
    const double h = (i == 255 ? 1.0 : i / 255.0) * double(s.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(h));
    const double t = h - static_cast<double>(lo);
    const double a = s[lo], b = s[std::min(lo + 1, s.size() - 1)];
    EXPECT_FLOAT_EQ(cb[i], static_cast<float>(a + (b - a) * t)) << "entry " << i;
  }
}

TEST(QuantizeCodebook, KMeansRecoversClusterCentres) {
  // Three clusters, symmetric around -5, 1 and 10, with different spreads and sizes.
  std::vector<float> v;
  for (float d : {0.5f, 0.25f, 0.125f}) {
    v.push_back(-5.0f - d);
    v.push_back(-5.0f + d);
  }
  for (float d : {1.0f, 0.75f, 0.5f, 0.25f}) {
    v.push_back(1.0f - d);
    v.push_back(1.0f + d);
  }
  for (float d : {2.0f, 1.0f}) {
    v.push_back(10.0f - d);
    v.push_back(10.0f + d);
  }
  KMeansOptions o;
  o.clusters = 3;
  KMeansResult r = kmeans_1d(f32(shuffled(v, 6)), o);
  EXPECT_TRUE(r.converged);
  EXPECT_GE(r.iterations, 1);
  EXPECT_EQ(r.centres, (std::vector<double>{-5.0, 1.0, 10.0}));

  // 256 clusters 10 apart (2 or 4 symmetric points each): the 256-entry codebook is the centres.
  v.clear();
  std::vector<float> centres;
  for (int k = 0; k < 256; ++k) {
    const float c = 10.0f * static_cast<float>(k - 128);
    centres.push_back(c);
    v.push_back(c - 1.0f);
    v.push_back(c + 1.0f);
    if (k % 2 == 1) {
      v.push_back(c - 2.0f);
      v.push_back(c + 2.0f);
    }
  }
  const Tensor w = f32(shuffled(v, 7));
  r = kmeans_1d(w);
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.centres, std::vector<double>(centres.begin(), centres.end()));
  EXPECT_EQ(kmeans_codebook(w).to_vector<float>(), centres);
  EXPECT_EQ(quantize_tensor(w, QuantTransform::quant_kmeans).codebook.to_vector<float>(), centres);
}

TEST(QuantizeCodebook, KMeansWithFewDistinctValuesIsExact) {
  // 5 distinct values: the centres are those values (the last repeated), so the codes are lossless.
  const std::vector<float> v = shuffled({0.5f, -1.0f, 0.5f, 3.0f, 3.0f, 7.25f, -1.0f, 2.0f}, 8);
  const KMeansResult r = kmeans_1d(f32(v));
  EXPECT_EQ(r.iterations, 0);
  EXPECT_TRUE(r.converged);
  ASSERT_EQ(r.centres.size(), 256u);
  EXPECT_EQ((std::vector<double>(r.centres.begin(), r.centres.begin() + 6)),
            (std::vector<double>{-1.0, 0.5, 2.0, 3.0, 7.25, 7.25}));
  const QuantizedTensor q = quantize_tensor(f32(v), QuantTransform::quant_kmeans);
  const std::vector<float> c = q.codebook.to_vector<float>();
  const std::vector<uint8_t> idx = q.indices.to_vector<uint8_t>();
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(c[idx[i]], v[i]);
  EXPECT_EQ(*std::max_element(idx.begin(), idx.end()), 4);  // the first of the repeated entries
}

TEST(QuantizeCodebook, KMeansBeatsUniformAndQuantile) {
  // k-means minimizes the squared error: on bell-shaped and bimodal data it beats the other two
  // codebooks clearly (the companding start wins), on uniform data it is no worse.
  std::vector<float> bimodal = normal_values(6000, 12, 0.1f);
  for (float& x : bimodal) x += x < 0 ? -1.0f : 1.0f;
  std::vector<float> flat(20000);
  std::mt19937_64 gen(13);
  for (float& x : flat) x = std::uniform_real_distribution<float>(-1.0f, 1.0f)(gen);
  for (const auto& [label, values, factor] :
       {std::make_tuple("normal", normal_values(20000, 9), 0.6),
        std::make_tuple("bimodal", bimodal, 0.6), std::make_tuple("uniform", flat, 1.0)}) {
    const Tensor t = f32(values);
    const double km = mse(values, kmeans_codebook(t));
    EXPECT_LE(km, factor * mse(values, uniform_codebook(t))) << label;
    EXPECT_LE(km, factor * mse(values, quantile_codebook(t))) << label;
  }
  const std::vector<float> v = normal_values(20000, 9);
  const Tensor w = f32(v);
  const KMeansResult r = kmeans_1d(w);
  EXPECT_TRUE(std::is_sorted(r.centres.begin(), r.centres.end()));
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.init, "companding");
  // Deterministic.
  EXPECT_EQ(kmeans_1d(w).centres, r.centres);
  // An iteration cap stops it early.
  KMeansOptions o;
  o.max_iterations = 1;
  const KMeansResult one = kmeans_1d(w, o);
  EXPECT_EQ(one.iterations, 1);
  EXPECT_FALSE(one.converged);
}

TEST(QuantizeCodebook, NearestEntryTiesGoToTheLowerIndex) {
  std::vector<float> c(256);
  for (int i = 0; i < 256; ++i) c[static_cast<size_t>(i)] = static_cast<float>(i);
  const Tensor cb = f32(c);
  // Halfway values go down; below and above the range clamp to the ends.
  const std::vector<float> w = {2.5f, 2.4f, 2.6f, -7.0f, 300.0f, 0.5f, 254.5f, 255.0f, 0.0f};
  EXPECT_EQ(nearest_indices(f32(w), cb).to_vector<uint8_t>(),
            (std::vector<uint8_t>{2, 2, 3, 0, 255, 0, 254, 255, 0}));
  // Equal entries resolve to the first of them, from either side (15 is halfway to 20: down).
  std::vector<float> dup = c;
  for (size_t i = 10; i < 20; ++i) dup[i] = 10.0f;  // entries 10..19 equal 10
  EXPECT_EQ(nearest_indices(f32({10.0f, 9.6f, 14.0f, 15.0f, 15.5f}), f32(dup)).to_vector<uint8_t>(),
            (std::vector<uint8_t>{10, 10, 10, 10, 20}));
  // Random values against a random sorted codebook with repeats: the brute-force argmin.
  std::vector<float> rc = normal_values(256, 10, 1.0f);
  for (size_t i = 0; i < 256; i += 7) rc[i] = rc[(i + 1) % 256];
  std::sort(rc.begin(), rc.end());
  const std::vector<float> rv = normal_values(40000, 11, 1.5f);
  EXPECT_EQ(nearest_indices(f32(rv), f32(rc)).to_vector<uint8_t>(), argmin_indices(rv, rc));
  // The shape of w is kept.
  const Tensor m = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(nearest_indices(m, cb).shape(), (Shape{2, 3}));
}

TEST(QuantizeCodebook, Errors) {
  auto has = [](const std::string& msg, const std::string& part) {
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  };
  has(testing::error_of([] { uniform_codebook(f32({1.0f, NAN, 2.0f}), "quantize: 'w'"); }), "'w'");
  has(testing::error_of([] { quantile_codebook(f32({1.0f, INFINITY})); }), "non-finite");
  has(testing::error_of([] { kmeans_1d(f32({})); }), "no values");
  has(testing::error_of([] { uniform_codebook(Tensor::zeros({3}, DType::f64)); }), "f32");
  std::vector<float> unsorted(256, 0.0f);
  unsorted[0] = 1.0f;
  has(testing::error_of([&] { nearest_indices(f32({1.0f}), f32(unsorted)); }), "sorted");
  has(testing::error_of([] { nearest_indices(f32({1.0f}), f32({1.0f, 2.0f})); }), "[256]");
  KMeansOptions o;
  o.clusters = 0;
  has(testing::error_of([&] { kmeans_1d(f32({1.0f}), o); }), "cluster");
  has(testing::error_of([] { quantize_tensor(f32({1.0f}), QuantTransform::float16); }), "float16");
}

}  // namespace
}  // namespace y8m::pipeline
