// models/layers.h: initializers, Linear, BatchNorm, DiagPart, ContextGating, l2_loss.
#include "models/layers.h"

#include "model_test_util.h"
#include "ops/elementwise/elementwise.h"
#include "ops/matmul/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace y8m::models {
namespace {

using testing::expect_error;
using testing::expect_gradcheck;
using testing::names;
using testing::uniform;

InitOptions f64() {
  InitOptions o;
  o.dtype = DType::f64;
  return o;
}

TEST(Initializer, XavierUniformRangeAndGeneratorUse) {
  engine::Generator g(11);
  Initializer init(g);
  const Tensor w = init.xavier_uniform(300, 200);
  EXPECT_EQ(w.shape(), (Shape{300, 200}));
  EXPECT_EQ(w.dtype(), DType::f32);
  EXPECT_EQ(g.offset(), engine::uniform_counters(300 * 200));
  const double limit = std::sqrt(6.0 / 500.0);
  const std::vector<float> v = w.to_vector<float>();
  double mean = 0, lo = 1e9, hi = -1e9;
  for (float x : v) {
    mean += x;
    lo = std::min<double>(lo, x);
    hi = std::max<double>(hi, x);
  }
  mean /= static_cast<double>(v.size());
  EXPECT_GE(lo, -limit);
  EXPECT_LT(hi, limit);
  EXPECT_GT(hi, 0.99 * limit);
  EXPECT_NEAR(mean, 0.0, 0.01 * limit);
  // Same values as a direct fill from (seed, offset 0).
  Tensor ref = Tensor::empty({300, 200});
  engine::fill_uniform(ref, 11, 0, -limit, limit);
  EXPECT_EQ(ref.to_vector<float>(), v);
}

TEST(Initializer, NormalStatisticsAndConstant) {
  engine::Generator g(3, 100);
  Initializer init(g, f64());
  const Tensor w = init.normal({100, 100}, 0.25, 1.0);
  EXPECT_EQ(w.dtype(), DType::f64);
  EXPECT_EQ(g.offset(), 100 + engine::normal_counters(10000));
  double mean = 0, sq = 0;
  for (double x : w.to_vector<double>()) {
    mean += x;
    sq += x * x;
  }
  mean /= 1e4;
  const double var = sq / 1e4 - mean * mean;
  EXPECT_NEAR(mean, 1.0, 0.01);
  EXPECT_NEAR(std::sqrt(var), 0.25, 0.01);
  const Tensor c = init.constant({3}, 2.5);
  EXPECT_EQ(c.to_vector<double>(), (std::vector<double>{2.5, 2.5, 2.5}));
  EXPECT_EQ(g.offset(), 100 + engine::normal_counters(10000));  // constants draw nothing
}

TEST(Initializer, SkipRandomInitDrawsNothing) {
  engine::Generator g(5);
  InitOptions o;
  o.skip_random_init = true;
  Initializer init(g, o);
  EXPECT_EQ(init.xavier_uniform(4, 5).shape(), (Shape{4, 5}));
  EXPECT_EQ(init.normal({7}, 1.0).shape(), (Shape{7}));
  EXPECT_EQ(g.offset(), 0u);
  EXPECT_EQ(init.constant({2}, 1.0).to_vector<float>(), (std::vector<float>{1, 1}));
}

TEST(Linear, NamesShapesAndGradcheck) {
  engine::Generator g(1);
  Initializer init(g, f64());
  Linear with_bias(init, 4, 3, true), no_bias(init, 4, 3, false);
  EXPECT_EQ(names(with_bias.named_parameters()), (std::vector<std::string>{"weights", "biases"}));
  EXPECT_EQ(names(no_bias.named_parameters()), (std::vector<std::string>{"weights"}));
  // Biases start at zero, so give them values to check the broadcast gradient.
  Tensor biases = with_bias.biases();
  biases.copy_from(uniform({3}, 9));
  Tensor x = uniform({5, 4}, 2);
  autograd::set_requires_grad(x, true);
  expect_gradcheck(with_bias, [&] { return with_bias.forward(x); }, {x});
  expect_gradcheck(no_bias, [&] { return no_bias.forward(x); }, {x});
  expect_error([&] { with_bias.forward(uniform({5, 3}, 2)); }, {"Linear", "[5, 3]"});
}

TEST(BatchNorm, TrainModeGradcheck2dAnd3d) {
  engine::Generator g(1);
  Initializer init(g, f64());
  BatchNorm bn(init, 3);
  EXPECT_EQ(names(bn.named_parameters()), (std::vector<std::string>{"beta", "gamma"}));
  EXPECT_EQ(names(bn.named_buffers()),
            (std::vector<std::string>{"moving_mean", "moving_variance"}));
  bn.named_parameters()[0].second.copy_from(uniform({3}, 4));
  bn.named_parameters()[1].second.copy_from(uniform({3}, 5, 0.5, 1.5));
  Tensor x2 = uniform({6, 3}, 6), x3 = uniform({2, 4, 3}, 7);
  autograd::set_requires_grad(x2, true);
  autograd::set_requires_grad(x3, true);
  expect_gradcheck(bn, [&] { return bn.forward(x2); }, {x2});
  expect_gradcheck(bn, [&] { return bn.forward(x3); }, {x3});
}

TEST(BatchNorm, EvalUsesMovingStatisticsAndTrainUpdatesThem) {
  engine::Generator g(1);
  Initializer init(g, f64());
  BatchNorm bn(init, 2);
  const Tensor x = uniform({4, 2}, 3);
  bn.eval();
  // Fresh statistics (mean 0, variance 1): y = x / sqrt(1 + 1e-3).
  const std::vector<double> y = bn.forward(x).to_vector<double>(), xv = x.to_vector<double>();
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], xv[i] / std::sqrt(1.001), 1e-12);
  EXPECT_EQ(bn.named_buffers()[0].second.to_vector<double>(), (std::vector<double>{0, 0}));
  bn.train();
  bn.forward(x);
  const double mean0 = (xv[0] + xv[2] + xv[4] + xv[6]) / 4;
  EXPECT_NEAR(bn.named_buffers()[0].second.to_vector<double>()[0], 0.001 * mean0, 1e-12);
}

TEST(DiagPart, SquareAndRectangular) {
  DiagPart diag;
  const Tensor w = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(diag(w).to_vector<double>(), (std::vector<double>{1, 5}));
  const Tensor w2 = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2});
  EXPECT_EQ(diag(w2).to_vector<double>(), (std::vector<double>{1, 4}));
}

// A module that owns a ContextGating, as NetVLADModelLF does.
class GatingOwner : public Scope {
 public:
  GatingOwner(Initializer& init, ContextGating::Variant v, bool remove_diag)
      : gating(*this, init, 4, v, remove_diag,
               v == ContextGating::Variant::batch_norm ? "gating_weights_2" : "gating_weights",
               v == ContextGating::Variant::batch_norm ? "gating_bn" : "gating_biases") {}
  ContextGating gating;
};

TEST(ContextGating, NamesAndGradcheckOfBothVariants) {
  for (auto v : {ContextGating::Variant::batch_norm, ContextGating::Variant::bias}) {
    for (bool remove_diag : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "bn " << (v == ContextGating::Variant::batch_norm)
                                        << " remove_diag " << remove_diag);
      engine::Generator g(21);
      Initializer init(g, f64());
      GatingOwner m(init, v, remove_diag);
      if (v == ContextGating::Variant::batch_norm) {
        EXPECT_EQ(
            names(m.named_parameters()),
            (std::vector<std::string>{"gating_weights_2", "gating_bn/beta", "gating_bn/gamma"}));
      } else {
        EXPECT_EQ(names(m.named_parameters()),
                  (std::vector<std::string>{"gating_weights", "gating_biases"}));
      }
      Tensor h = uniform({5, 4}, 8);
      autograd::set_requires_grad(h, true);
      expect_gradcheck(m, [&] { return m.gating.forward(h); }, {h});
    }
  }
}

TEST(ContextGating, RemoveDiagMatchesHandComputation) {
  engine::Generator g(2);
  Initializer init(g, f64());
  GatingOwner m(init, ContextGating::Variant::bias, true);
  const Tensor h = uniform({2, 4}, 3);
  const Tensor w = m.named_parameters()[0].second, b = m.named_parameters()[1].second;
  const std::vector<double> hv = h.to_vector<double>(), wv = w.to_vector<double>(),
                            bv = b.to_vector<double>(),
                            out = m.gating.forward(h).to_vector<double>();
  for (int r = 0; r < 2; ++r) {
    for (int j = 0; j < 4; ++j) {
      double u = bv[j];
      for (int i = 0; i < 4; ++i)
        if (i != j) u += hv[r * 4 + i] * wv[i * 4 + j];
      EXPECT_NEAR(out[r * 4 + j], hv[r * 4 + j] / (1 + std::exp(-u)), 1e-12);
    }
  }
}

TEST(L2Loss, ValueAndGradient) {
  Tensor w = Tensor::from_vector<double>({1, -2, 3, 0.5}, {2, 2});
  EXPECT_NEAR(l2_loss(w, 1e-3).item<double>(), 1e-3 * (1 + 4 + 9 + 0.25) / 2, 1e-15);
  EXPECT_EQ(l2_loss(w, 1.0).dim(), 0);
  autograd::set_requires_grad(w, true);
  const auto r =
      autograd::gradcheck([&](const std::vector<Tensor>&) { return l2_loss(w, 0.7); }, {w});
  EXPECT_TRUE(r.ok) << r.message;
}

}  // namespace
}  // namespace y8m::models
