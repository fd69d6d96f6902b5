// sigmoid_cross_entropy against hand-computed values (SPEC §6.2): eps 1e-5 inside both logs, sum
// over classes, mean over the batch; multi-hot and soft targets; the gradient formula; errors.
#include "ops/nn/loss.h"
#include "autograd/variable.h"
#include "tests/ops/op_harness.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace y8m::testing {
namespace {

constexpr double kEps = 1e-5;

double bce(double p, double y) {
  return -(y * std::log(p + kEps) + (1 - y) * std::log(1 - p + kEps));
}

TEST(SigmoidCrossEntropy, MultiHotByHand) {
  const std::vector<double> p = {0.9, 0.2, 0.5, 0.01}, y = {1, 0, 0, 1};
  // Row 0: -log(0.90001) - log(0.80001); row 1: -log(0.50001) - log(0.01001); mean of the two.
  const double want =
      (-std::log(0.90001) - std::log(0.80001) - std::log(0.50001) - std::log(0.01001)) / 2;
  for (DType dt : {DType::f64, DType::f32}) {
    const Tensor l = ops::sigmoid_cross_entropy(Tensor::from_vector<double>(p, {2, 2}).to(dt),
                                                Tensor::from_vector<double>(y, {2, 2}).to(dt));
    EXPECT_EQ(l.shape(), Shape{});
    EXPECT_EQ(l.dtype(), dt);
    EXPECT_NEAR(l.item<double>(), want, dt == DType::f64 ? 1e-12 : 1e-6 * want);
  }
}

TEST(SigmoidCrossEntropy, EpsilonKeepsSaturatedProbabilitiesFinite) {
  // p = 0 with y = 1 and p = 1 with y = 0 both cost -log(1e-5); the right answers cost -log(1 +
  // 1e-5).
  const Tensor l = ops::sigmoid_cross_entropy(Tensor::from_vector<double>({0, 1, 1, 0}, {1, 4}),
                                              Tensor::from_vector<double>({1, 0, 1, 0}, {1, 4}));
  EXPECT_NEAR(l.item<double>(), -2 * std::log(1e-5) - 2 * std::log(1 + 1e-5), 1e-12);
  // A different epsilon is honoured.
  const Tensor l2 = ops::sigmoid_cross_entropy(Tensor::from_vector<double>({0.0}, {1, 1}),
                                               Tensor::from_vector<double>({1.0}, {1, 1}), 1e-3);
  EXPECT_NEAR(l2.item<double>(), -std::log(1e-3), 1e-12);
}

TEST(SigmoidCrossEntropy, SoftTargetsAndDistillationIdentity) {
  const Tensor p = Tensor::from_vector<double>({0.6, 0.1, 0.95}, {1, 3});
  const Tensor t = Tensor::from_vector<double>({0.3, 0.8, 1.0}, {1, 3});
  EXPECT_NEAR(ops::sigmoid_cross_entropy(p, t).item<double>(),
              bce(0.6, 0.3) + bce(0.1, 0.8) + bce(0.95, 1.0), 1e-12);
  // lambda * BCE(t, p) + (1 - lambda) * BCE(y, p) == BCE(lambda t + (1 - lambda) y, p) (header).
  const Tensor y = Tensor::from_vector<double>({0, 1, 1}, {1, 3});
  const Tensor mix = Tensor::from_vector<double>({0.5 * 0.3, 0.5 * 0.8 + 0.5, 1.0}, {1, 3});
  EXPECT_NEAR(ops::sigmoid_cross_entropy(p, mix).item<double>(),
              0.5 * ops::sigmoid_cross_entropy(p, t).item<double>() +
                  0.5 * ops::sigmoid_cross_entropy(p, y).item<double>(),
              1e-12);
}

TEST(SigmoidCrossEntropy, GradientFormulaForPOnly) {
  const std::vector<double> pv = {0.9, 0.2, 0.5, 0.01, 0.3, 0.7}, yv = {1, 0, 0.25, 1, 0, 1};
  const Tensor p = Tensor::from_vector<double>(pv, {3, 2});
  const Tensor y = Tensor::from_vector<double>(yv, {3, 2});
  autograd::set_requires_grad(p, true);
  autograd::set_requires_grad(y, true);  // targets are data: no gradient reaches them
  const Tensor l = ops::sigmoid_cross_entropy(p, y);
  autograd::backward(l, Tensor::scalar(2.5, DType::f64));
  const auto dp = autograd::grad(p).to_vector<double>();
  for (size_t i = 0; i < pv.size(); ++i) {
    const double want = -2.5 * (yv[i] / (pv[i] + kEps) - (1 - yv[i]) / (1 - pv[i] + kEps)) / 3;
    EXPECT_NEAR(dp[i], want, 1e-12 * std::fabs(want)) << "element " << i;
  }
  EXPECT_FALSE(autograd::grad(y).defined());
}

// The error must name the op; `what` says which bad input this is.
void expect_error(const std::function<void()>& f, const std::string& what) {
  SCOPED_TRACE(what);
  testing::expect_error(f, {"sigmoid_cross_entropy"});
}

TEST(SigmoidCrossEntropy, Errors) {
  const Tensor p = uniform({2, 3}, 1, 0.1, 0.9);
  expect_error([&] { ops::sigmoid_cross_entropy(p, uniform({2, 4}, 2, 0, 1)); }, "shape mismatch");
  expect_error([&] { ops::sigmoid_cross_entropy(uniform({6}, 3, 0, 1), uniform({6}, 4, 0, 1)); },
               "1-D");
  expect_error([&] { ops::sigmoid_cross_entropy(p, p.to(DType::f32)); }, "dtype mismatch");
  expect_error(
      [&] {
        ops::sigmoid_cross_entropy(p, ints({0, 1, 0, 1, 1, 0}, {2, 3}));
      },
      "integer labels");
  expect_error(
      [&] {
        ops::sigmoid_cross_entropy(uniform({0, 3}, 5), uniform({0, 3}, 6));
      },
      "empty batch");
}

}  // namespace
}  // namespace y8m::testing
