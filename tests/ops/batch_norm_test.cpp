// batch_norm against hand-computed values (SPEC §2.1): training statistics and the moving-average
// update with and without Bessel's correction, inference, a batch of one row, gradients, errors.
#include "ops/nn/batch_norm.h"
#include "autograd/variable.h"
#include "engine/device.h"
#include "tests/ops/op_harness.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace y8m::testing {
namespace {

// Channel 0 holds 1, 3, 5, 7 (mean 4, biased variance 5); channel 1 holds 2, 6, 10, 14 (mean 8,
// biased variance 20).
const std::vector<double> kX = {1, 2, 3, 6, 5, 10, 7, 14};
const std::vector<double> kGamma = {2.0, 0.5};
const std::vector<double> kBeta = {0.1, -0.3};
constexpr double kEps = 1e-3;

struct Bn {
  Tensor gamma, beta, mm, mv;
  explicit Bn(DType dt = DType::f64)
      : gamma(Tensor::from_vector<double>(kGamma, {2}).to(dt)),
        beta(Tensor::from_vector<double>(kBeta, {2}).to(dt)),
        mm(Tensor::from_vector<double>({0.5, -1.0}, {2}).to(dt)),
        mv(Tensor::from_vector<double>({1.0, 2.0}, {2}).to(dt)) {}
  Tensor run(const Tensor& x, ops::BatchNormOptions opts) {
    return ops::batch_norm(x, gamma, beta, mm, mv, opts);
  }
};

ops::BatchNormOptions decay(double d, bool training = true) {
  ops::BatchNormOptions o;
  o.decay = d;
  o.training = training;
  return o;
}

void expect_training_y(const Tensor& y, double tol) {
  const double mean[2] = {4.0, 8.0}, var[2] = {5.0, 20.0};
  const std::vector<double> got = y.to_vector<double>();
  ASSERT_EQ(got.size(), kX.size());
  for (size_t i = 0; i < kX.size(); ++i) {
    const size_t c = i % 2;
    const double want = kGamma[c] * (kX[i] - mean[c]) / std::sqrt(var[c] + kEps) + kBeta[c];
    EXPECT_NEAR(got[i], want, tol) << "element " << i;
  }
}

TEST(BatchNorm, Training2DUsesBesselForMovingVariance) {
  for (DType dt : {DType::f64, DType::f32}) {
    Bn bn(dt);
    const Tensor x = Tensor::from_vector<double>(kX, {4, 2}).to(dt);
    const Tensor y = bn.run(x, decay(0.9));
    const double tol = dt == DType::f64 ? 1e-12 : 1e-6;
    expect_training_y(y, tol);
    // moving <- moving - 0.1 (moving - stat); the variance stat is 5 * 4/3 and 20 * 4/3.
    const auto mm = bn.mm.to_vector<double>(), mv = bn.mv.to_vector<double>();
    EXPECT_NEAR(mm[0], 0.85, tol);
    EXPECT_NEAR(mm[1], -0.1, tol);
    EXPECT_NEAR(mv[0], 47.0 / 30.0, tol);
    EXPECT_NEAR(mv[1], 67.0 / 15.0, tol);
  }
}

TEST(BatchNorm, Training3DHasNoBessel) {
  Bn bn;
  const Tensor x = Tensor::from_vector<double>(kX, {2, 2, 2});
  expect_training_y(bn.run(x, decay(0.9)), 1e-12);
  const auto mm = bn.mm.to_vector<double>(), mv = bn.mv.to_vector<double>();
  EXPECT_NEAR(mm[0], 0.85, 1e-12);
  EXPECT_NEAR(mm[1], -0.1, 1e-12);
  EXPECT_NEAR(mv[0], 1.4, 1e-12);  // 1 - 0.1 (1 - 5)
  EXPECT_NEAR(mv[1], 3.8, 1e-12);  // 2 - 0.1 (2 - 20)
}

TEST(BatchNorm, DefaultDecayAndNoUpdate) {
  Bn bn;
  const Tensor x = Tensor::from_vector<double>(kX, {4, 2});
  bn.run(x, {});  // decay 0.999
  EXPECT_NEAR(bn.mm.to_vector<double>()[0], 0.5 - 0.001 * (0.5 - 4.0), 1e-12);
  ops::BatchNormOptions frozen;
  frozen.update_moving = false;
  const auto mm_before = bn.mm.to_vector<double>(), mv_before = bn.mv.to_vector<double>();
  expect_training_y(bn.run(x, frozen), 1e-12);
  EXPECT_EQ(bn.mm.to_vector<double>(), mm_before);
  EXPECT_EQ(bn.mv.to_vector<double>(), mv_before);
}

TEST(BatchNorm, InferenceUsesMovingStatistics) {
  Bn bn;
  const Tensor x = Tensor::from_vector<double>(kX, {4, 2});
  const std::vector<double> y = bn.run(x, decay(0.9, false)).to_vector<double>();
  const double mm[2] = {0.5, -1.0}, mv[2] = {1.0, 2.0};
  for (size_t i = 0; i < kX.size(); ++i) {
    const size_t c = i % 2;
    EXPECT_NEAR(y[i], kGamma[c] * (kX[i] - mm[c]) / std::sqrt(mv[c] + kEps) + kBeta[c], 1e-12);
  }
  EXPECT_EQ(bn.mm.to_vector<double>(), (std::vector<double>{0.5, -1.0}));  // untouched
  EXPECT_EQ(bn.mv.to_vector<double>(), (std::vector<double>{1.0, 2.0}));
}

TEST(BatchNorm, InferenceGradients) {
  Bn bn;
  const Tensor x = Tensor::from_vector<double>(kX, {4, 2});
  autograd::set_requires_grad(x, true);
  autograd::set_requires_grad(bn.gamma, true);
  autograd::set_requires_grad(bn.beta, true);
  const Tensor y = bn.run(x, decay(0.9, false));
  const std::vector<double> dy_v = {1, -2, 0.5, 3, -1, 1, 2, 0.25};
  autograd::backward(y, Tensor::from_vector<double>(dy_v, {4, 2}));
  const auto dx = autograd::grad(x).to_vector<double>();
  const auto dg = autograd::grad(bn.gamma).to_vector<double>();
  const auto db = autograd::grad(bn.beta).to_vector<double>();
  const double mm[2] = {0.5, -1.0}, mv[2] = {1.0, 2.0};
  double want_dg[2] = {0, 0}, want_db[2] = {0, 0};
  for (size_t i = 0; i < kX.size(); ++i) {
    const size_t c = i % 2;
    EXPECT_NEAR(dx[i], dy_v[i] * kGamma[c] / std::sqrt(mv[c] + kEps), 1e-12);
    want_dg[c] += dy_v[i] * (kX[i] - mm[c]) / std::sqrt(mv[c] + kEps);
    want_db[c] += dy_v[i];
  }
  for (size_t c = 0; c < 2; ++c) {
    EXPECT_NEAR(dg[c], want_dg[c], 1e-12);
    EXPECT_NEAR(db[c], want_db[c], 1e-12);
  }
}

TEST(BatchNorm, TrainingGradientOfXSumsToZeroPerChannel) {
  Bn bn;
  const Tensor x = uniform({33, 2}, 7, -1, 2);
  autograd::set_requires_grad(x, true);
  const Tensor y = bn.run(x, decay(0.9));
  autograd::backward(y, uniform({33, 2}, 8));
  const auto dx = autograd::grad(x).to_vector<double>();
  double s[2] = {0, 0};
  for (size_t i = 0; i < dx.size(); ++i) s[i % 2] += dx[i];
  EXPECT_NEAR(s[0], 0.0, 1e-12);
  EXPECT_NEAR(s[1], 0.0, 1e-12);
}

TEST(BatchNorm, OneRowGivesBetaAndZeroGradient) {
  Bn bn;
  const Tensor x = Tensor::from_vector<double>({3.0, -7.0}, {1, 2});
  autograd::set_requires_grad(x, true);
  const Tensor y = bn.run(x, decay(0.9));
  EXPECT_EQ(y.to_vector<double>(), kBeta);  // x - mean is exactly zero
  // Variance 0, and no Bessel factor for a single row (TF's n / (n - 1) is undefined there).
  const auto mm = bn.mm.to_vector<double>(), mv = bn.mv.to_vector<double>();
  EXPECT_NEAR(mm[0], 0.5 - 0.1 * (0.5 - 3.0), 1e-12);
  EXPECT_NEAR(mm[1], -1.0 - 0.1 * (-1.0 + 7.0), 1e-12);
  EXPECT_NEAR(mv[0], 0.9, 1e-12);
  EXPECT_NEAR(mv[1], 1.8, 1e-12);
  autograd::backward(y, Tensor::from_vector<double>({1.5, -2.0}, {1, 2}));
  EXPECT_EQ(autograd::grad(x).to_vector<double>(), (std::vector<double>{0.0, 0.0}));
}

// The error must name the op; `what` says which bad input this is.
void expect_error(const std::function<void()>& f, const std::string& what) {
  SCOPED_TRACE(what);
  testing::expect_error(f, {"batch_norm"});
}

TEST(BatchNorm, Errors) {
  Bn bn;
  const Tensor x = Tensor::from_vector<double>(kX, {4, 2});
  expect_error([&] { bn.run(Tensor::from_vector<double>({1, 2}, {2}), {}); }, "1-D x");
  expect_error([&] { bn.run(Tensor::zeros({4, 3}, DType::f64), {}); }, "channel mismatch");
  expect_error([&] { bn.run(x.to(DType::f32), {}); }, "dtype mismatch");
  expect_error([&] { bn.run(ints({1, 2, 3, 4}, {2, 2}), {}); }, "integer x");
  expect_error([&] { bn.run(Tensor::zeros({0, 2}, DType::f64), {}); }, "training on zero rows");
  Tensor bad = Tensor::zeros({2, 1}, DType::f64);
  expect_error([&] { ops::batch_norm(x, bn.gamma, bn.beta, bad, bn.mv); }, "2-D moving_mean");
  expect_error([&] { ops::batch_norm(x, bn.gamma, Tensor::zeros({3}, DType::f64), bn.mm, bn.mv); },
               "beta");
  ops::BatchNormOptions eps0;
  eps0.epsilon = 0;
  expect_error([&] { bn.run(x, eps0); }, "epsilon 0");
  // Inference on zero rows is fine.
  EXPECT_EQ(bn.run(Tensor::zeros({0, 2}, DType::f64), decay(0.9, false)).numel(), 0);
}

// The moving-statistics update on CUDA against the CPU (the harness runs with update_moving =
// false).
TEST(BatchNorm, CudaMovingUpdateMatchesCpu) {
  Y8M_REQUIRE_CUDA();
  for (const Shape& shape : {Shape{3000, 1152}, Shape{2, 300, 33}, Shape{1, 1152}}) {
    const int64_t c = shape.back();
    const Tensor x = uniform(shape, 31, -1, 3).to(DType::f32);
    const Tensor gamma = uniform({c}, 32, 0.5, 1.5).to(DType::f32),
                 beta = uniform({c}, 33).to(DType::f32);
    Tensor mm_cpu = uniform({c}, 34).to(DType::f32),
           mv_cpu = uniform({c}, 35, 0.5, 2).to(DType::f32);
    const Device gpu = Device::cuda(0);
    Tensor mm_gpu = mm_cpu.to(gpu), mv_gpu = mv_cpu.to(gpu);
    const Tensor y_cpu = ops::batch_norm(x, gamma, beta, mm_cpu, mv_cpu, decay(0.9));
    const Tensor y_gpu =
        ops::batch_norm(x.to(gpu), gamma.to(gpu), beta.to(gpu), mm_gpu, mv_gpu, decay(0.9));
    EXPECT_EQ(compare(y_gpu, y_cpu, 1e-5, 1e-5), "");
    EXPECT_EQ(compare(mm_gpu, mm_cpu, 1e-6, 1e-5), "");
    EXPECT_EQ(compare(mv_gpu, mv_cpu, 1e-6, 1e-5), "");
  }
}

}  // namespace
}  // namespace y8m::testing
