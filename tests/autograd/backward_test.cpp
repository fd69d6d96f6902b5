// The tape: backward on small graphs built from element-wise ops, gradient accumulation (diamonds,
// repeated backward calls), grad mode, leaf rules, error messages, multi-output nodes and the
// AccumulateGrad buffer rule (two leaves never share one gradient tensor).
#include "autograd/optim.h"
#include "autograd/variable.h"
#include "ops/elementwise/elementwise.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace y8m::autograd {
namespace {

using testing::error_of;

Tensor leaf(const std::vector<double>& v) {
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  set_requires_grad(t, true);
  return t;
}

std::vector<double> grad_of(const Tensor& t) {
  Tensor g = grad(t);
  return g.defined() ? g.to_vector<double>() : std::vector<double>{};
}

// Sum of all elements as a differentiable scalar, from element-wise ops only: x · 1 summed by a
// custom node (so these tests need no reduce op).
Tensor total(const Tensor& x) {
  Tensor y = Tensor::scalar(0.0, x.dtype());
  double s = 0;
  for (double v : x.to_vector<double>()) s += v;
  y.fill(s);
  if (any_requires_grad({x})) {
    record("total", {x}, {y}, [shape = x.shape()](const std::vector<Tensor>& g, const Node&) {
      return std::vector<Tensor>{Tensor::full(shape, g[0].item<double>(), g[0].dtype())};
    });
  }
  return y;
}

TEST(Backward, ChainOfElementwiseOps) {
  Tensor x = leaf({0.5, -1.0, 2.0});
  Tensor y = leaf({3.0, 4.0, -2.0});
  // L = sum(sigmoid(x * y) + x): dL/dx = s(1-s) y + 1, dL/dy = s(1-s) x
  Tensor xy = ops::mul(x, y);
  Tensor L = total(ops::add(ops::sigmoid(xy), x));
  EXPECT_TRUE(requires_grad(L));
  EXPECT_FALSE(is_leaf(L));
  EXPECT_EQ(grad_fn(L)->name(), "total");
  backward(L);
  const std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>();
  const std::vector<double> gx = grad_of(x), gy = grad_of(y);
  for (size_t i = 0; i < 3; ++i) {
    const double s = 1 / (1 + std::exp(-xv[i] * yv[i]));
    EXPECT_NEAR(gx[i], s * (1 - s) * yv[i] + 1, 1e-12);
    EXPECT_NEAR(gy[i], s * (1 - s) * xv[i], 1e-12);
  }
  // Intermediate results keep no gradient: only leaves accumulate.
  EXPECT_FALSE(grad(xy).defined());
}

TEST(Backward, DiamondSumsBothPaths) {
  // a feeds two branches that meet again: L = sum(a*a + 3a) -> dL/da = 2a + 3.
  Tensor a = leaf({1.0, -2.0, 0.25});
  Tensor left = ops::mul(a, a);
  Tensor right = ops::mul_scalar(a, 3.0);
  backward(total(ops::add(left, right)));
  EXPECT_EQ(grad_of(a), (std::vector<double>{5.0, -1.0, 3.5}));
}

TEST(Backward, LeafUsedTwiceByOneOp) {
  Tensor a = leaf({2.0, 3.0});
  backward(total(ops::add(a, a)));
  EXPECT_EQ(grad_of(a), (std::vector<double>{2.0, 2.0}));
}

TEST(Backward, RepeatedCallsAccumulateAndZeroGradResets) {
  Tensor a = leaf({1.0, 2.0});
  Tensor L = total(ops::mul_scalar(a, 4.0));
  backward(L);
  EXPECT_EQ(grad_of(a), (std::vector<double>{4.0, 4.0}));
  backward(L);  // the graph is kept: a second pass adds
  EXPECT_EQ(grad_of(a), (std::vector<double>{8.0, 8.0}));
  backward(total(ops::square(a)));  // another graph over the same leaf adds too
  EXPECT_EQ(grad_of(a), (std::vector<double>{10.0, 12.0}));
  zero_grad(a);
  EXPECT_FALSE(grad(a).defined());
  backward(L);
  EXPECT_EQ(grad_of(a), (std::vector<double>{4.0, 4.0}));
}

TEST(Backward, ExplicitGradientOfANonScalarRoot) {
  Tensor a = leaf({1.0, 2.0, 3.0});
  Tensor y = ops::mul_scalar(a, 2.0);
  Tensor g = Tensor::from_vector<double>({1.0, 10.0, 100.0}, {3});
  backward(y, g);
  EXPECT_EQ(grad_of(a), (std::vector<double>{2.0, 20.0, 200.0}));
  // The gradient handed in is never aliased by a leaf's grad.
  grad(a).fill(0);
  EXPECT_EQ(g.to_vector<double>(), (std::vector<double>{1.0, 10.0, 100.0}));
  // backward from a leaf itself.
  Tensor b = leaf({5.0});
  backward(b);
  EXPECT_EQ(grad_of(b), (std::vector<double>{1.0}));
}

TEST(Backward, ErrorsAreClear) {
  Tensor plain = Tensor::from_vector<double>({1.0, 2.0}, {2});
  std::string msg = error_of([&] { backward(plain); });
  EXPECT_NE(msg.find("backward: f64[2] on cpu does not require grad"), std::string::npos) << msg;

  Tensor a = leaf({1.0, 2.0});
  Tensor y = ops::mul_scalar(a, 2.0);
  msg = error_of([&] { backward(y); });
  EXPECT_NE(msg.find("only for one-element outputs"), std::string::npos) << msg;
  EXPECT_NE(msg.find("f64[2]"), std::string::npos) << msg;

  msg = error_of([&] { backward(y, Tensor::ones({3}, DType::f64)); });
  EXPECT_NE(msg.find("gradient f64[3] on cpu does not match output f64[2] on cpu"),
            std::string::npos)
      << msg;
  msg = error_of([&] { backward(y, Tensor::ones({2}, DType::f32)); });
  EXPECT_NE(msg.find("does not match"), std::string::npos) << msg;
  EXPECT_FALSE(grad(a).defined());
}

TEST(Leaves, SetRequiresGradRules) {
  Tensor a = Tensor::zeros({2}, DType::f64);
  EXPECT_FALSE(requires_grad(a));
  EXPECT_TRUE(is_leaf(a));
  set_requires_grad(a, true);
  EXPECT_TRUE(requires_grad(a));
  EXPECT_TRUE(is_leaf(a));
  Tensor y = ops::add_scalar(a, 1.0);
  EXPECT_FALSE(is_leaf(y));
  std::string msg = error_of([&] { set_requires_grad(y, false); });
  EXPECT_NE(msg.find("requires_grad: f64[2] on cpu is the result of an op, not a leaf"),
            std::string::npos)
      << msg;
  msg = error_of([] { set_requires_grad(Tensor::zeros({2}, DType::i32), true); });
  EXPECT_NE(msg.find("only floating tensors, got i32[2]"), std::string::npos) << msg;
  EXPECT_NO_THROW(set_requires_grad(Tensor::zeros({2}, DType::i64), false));
  set_requires_grad(a, false);
  EXPECT_FALSE(requires_grad(a));
  EXPECT_FALSE(requires_grad(ops::add_scalar(a, 1.0)));
}

TEST(Leaves, SetGradChecksTheMatch) {
  Tensor a = leaf({1.0, 2.0});
  set_grad(a, Tensor::full({2}, 3.0, DType::f64));
  EXPECT_EQ(grad_of(a), (std::vector<double>{3.0, 3.0}));
  const std::string msg = error_of([&] { set_grad(a, Tensor::zeros({2})); });
  EXPECT_NE(msg.find("set_grad: gradient f32[2] on cpu does not match tensor f64[2] on cpu"),
            std::string::npos)
      << msg;
  set_grad(a, Tensor());
  EXPECT_FALSE(grad(a).defined());
}

TEST(GradMode, NoGradGuardRecordsNothingAndRestores) {
  Tensor a = leaf({1.0});
  EXPECT_TRUE(grad_mode_enabled());
  {
    NoGradGuard ng;
    EXPECT_FALSE(grad_mode_enabled());
    Tensor y = ops::sigmoid(ops::mul(a, a));
    EXPECT_FALSE(requires_grad(y));
    EXPECT_EQ(grad_fn(y), nullptr);
    EXPECT_FALSE(any_requires_grad({a}));
    {
      NoGradGuard nested;
      EXPECT_FALSE(grad_mode_enabled());
    }
    EXPECT_FALSE(grad_mode_enabled());  // the inner guard restores "off", not "on"
  }
  EXPECT_TRUE(grad_mode_enabled());
  EXPECT_TRUE(requires_grad(ops::mul(a, a)));
  EXPECT_TRUE(any_requires_grad({Tensor(), a}));
  EXPECT_FALSE(any_requires_grad(std::vector<Tensor>{Tensor(), Tensor::zeros({1})}));
}

TEST(GradMode, BackwardClosuresRunWithGradModeOff) {
  Tensor a = leaf({1.0});
  bool mode_inside = true;
  Tensor y = a.clone();
  record("probe", {a}, {y}, [&mode_inside](const std::vector<Tensor>& g, const Node&) {
    mode_inside = grad_mode_enabled();
    return std::vector<Tensor>{g[0]};
  });
  backward(y);
  EXPECT_FALSE(mode_inside);
  EXPECT_TRUE(grad_mode_enabled());
}

TEST(Detach, SharesDataWithoutHistory) {
  Tensor a = leaf({1.0, 2.0});
  Tensor y = ops::mul_scalar(a, 2.0);
  Tensor d = detach(y);
  EXPECT_FALSE(requires_grad(d));
  EXPECT_TRUE(is_leaf(d));
  EXPECT_TRUE(d.shares_storage(y));
  EXPECT_TRUE(requires_grad(y));  // the original keeps its history
  // Gradient does not flow through a detached value.
  Tensor L = total(ops::add(ops::mul(d, a), a));  // d * a + a, d treated as a constant
  backward(L);
  EXPECT_EQ(grad_of(a), (std::vector<double>{3.0, 5.0}));
}

TEST(MultiOutput, UnusedOutputGetsZeroGradient) {
  Tensor x = leaf({1.0, 2.0, 3.0});
  Tensor y1 = x.clone(), y2 = Tensor::zeros({2, 2}, DType::f64);
  bool second_defined = false;
  std::vector<double> second;
  size_t calls = 0;
  record("two_outputs", {x}, {y1, y2}, [&](const std::vector<Tensor>& g, const Node& node) {
    ++calls;
    EXPECT_EQ(g.size(), 2u);
    EXPECT_EQ(node.num_outputs(), 2u);
    second_defined = g[1].defined();
    if (second_defined) second = g[1].to_vector<double>();
    EXPECT_EQ(g[1].shape(), (Shape{2, 2}));
    // dx = g1 + (sum of g2) as a broadcast constant.
    double s2 = 0;
    for (double v : second) s2 += v;
    return std::vector<Tensor>{ops::add_scalar(g[0], s2)};
  });
  EXPECT_EQ(grad_fn(y1), grad_fn(y2));
  backward(total(ops::mul_scalar(y1, 2.0)));  // y2 unused
  EXPECT_EQ(calls, 1u);
  EXPECT_TRUE(second_defined);
  EXPECT_EQ(second, std::vector<double>(4, 0.0));
  EXPECT_EQ(grad_of(x), (std::vector<double>{2.0, 2.0, 2.0}));
}

TEST(MultiOutput, BothOutputsUsedRunTheNodeOnce) {
  Tensor x = leaf({1.0});
  Tensor y1 = x.clone(), y2 = x.clone();
  int calls = 0;
  record("split2", {x}, {y1, y2}, [&calls](const std::vector<Tensor>& g, const Node&) {
    ++calls;
    return std::vector<Tensor>{ops::add(ops::mul_scalar(g[0], 10.0), g[1])};
  });
  backward(total(ops::add(ops::mul_scalar(y1, 2.0), ops::mul_scalar(y2, 3.0))));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(grad_of(x), (std::vector<double>{23.0}));
}

TEST(Record, InputsThatNeedNoGradientGetNoEdge) {
  Tensor a = leaf({1.0});
  Tensor c = Tensor::from_vector<double>({5.0}, {1});  // a constant
  std::vector<bool> needs;
  Tensor y = a.clone();
  auto node =
      record("mixed", {c, a, Tensor()}, {y}, [&needs](const std::vector<Tensor>& g, const Node& n) {
        for (size_t i = 0; i < 4; ++i) needs.push_back(n.needs_input_grad(i));
        return std::vector<Tensor>{Tensor(), g[0], Tensor()};
      });
  EXPECT_EQ(node->name(), "mixed");
  EXPECT_EQ(node->next_edges().size(), 3u);
  backward(y);
  EXPECT_EQ(needs, (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(grad_of(a), (std::vector<double>{1.0}));
  EXPECT_FALSE(grad(c).defined());
}

TEST(Record, WrongNumberOfGradientsIsAnInternalError) {
  Tensor a = leaf({1.0}), b = leaf({2.0});
  Tensor y = a.clone();
  record("bad_node", {a, b}, {y}, [](const std::vector<Tensor>& g, const Node&) {
    return std::vector<Tensor>{g[0]};  // one gradient for two inputs
  });
  const std::string msg = error_of([&] { backward(y); });
  EXPECT_NE(msg.find("internal error"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad_node returned 1 gradients for 2 inputs"), std::string::npos) << msg;
}

// y = a + b hands the same gradient tensor to both leaves; each must own its buffer so that
// clipping one in place leaves the other alone.
TEST(AccumulateGrad, LeavesNeverShareAGradientBuffer) {
  Tensor a = Tensor::from_vector<float>({0, 0}, {2});
  Tensor b = Tensor::from_vector<float>({0, 0}, {2});
  set_requires_grad(a, true);
  set_requires_grad(b, true);
  Tensor y = ops::add(a, b);
  backward(y, Tensor::from_vector<float>({3, 4}, {2}));
  Tensor ga = grad(a), gb = grad(b);
  EXPECT_FALSE(ga.shares_storage(gb));
  EXPECT_NEAR(clip_by_norm_(ga, 1.0), 5.0, 1e-6);
  EXPECT_EQ(ga.to_vector<float>(), (std::vector<float>{0.6f, 0.8f}));
  EXPECT_EQ(grad(a).to_vector<float>(), (std::vector<float>{0.6f, 0.8f}));  // clipped in place
  EXPECT_EQ(gb.to_vector<float>(), (std::vector<float>{3, 4}));

  // The same with the implicit gradient of a scalar root.
  Tensor c = Tensor::scalar(1.0), d = Tensor::scalar(2.0);
  set_requires_grad(c, true);
  set_requires_grad(d, true);
  backward(ops::add(c, d));
  EXPECT_FALSE(grad(c).shares_storage(grad(d)));
  Tensor gc = grad(c);
  scale_(gc, 7.0);
  EXPECT_EQ(grad(c).item<float>(), 7.f);
  EXPECT_EQ(grad(d).item<float>(), 1.f);
}

}  // namespace
}  // namespace y8m::autograd
