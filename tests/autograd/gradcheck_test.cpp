// The gradient checker itself: it passes on correct ops, FAILS on a wrong backward (a checker that
// cannot fail is worthless), skips kinks such as relu at exactly 0, and rejects bad inputs.
#include "autograd/gradcheck.h"
#include "autograd/variable.h"
#include "ops/elementwise/elementwise.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace y8m::autograd {
namespace {

Tensor input(const std::vector<double>& v, const Shape& shape, bool grad = true) {
  Tensor t = Tensor::from_vector(v, shape);
  if (grad) set_requires_grad(t, true);
  return t;
}

// y = x * x computed without recording, then recorded with the backward `scale * g * x`. scale = 2
// is the true derivative.
Tensor square_with_backward(const Tensor& x, double scale) {
  Tensor y;
  {
    NoGradGuard ng;
    y = ops::mul(x, x);
  }
  if (any_requires_grad({x})) {
    record("square_under_test", {x}, {y}, [x, scale](const std::vector<Tensor>& g, const Node&) {
      return std::vector<Tensor>{ops::mul_scalar(ops::mul(g[0], x), scale)};
    });
  }
  return y;
}

// out[i] = a[i] * b[(i + shift) % n]: a backward that routes b's gradient with the wrong
// permutation when `shift_in_backward` differs from `shift`.
Tensor shifted_product(const Tensor& a, const Tensor& b, int shift, int shift_in_backward) {
  const int64_t n = a.numel();
  auto roll = [n](const Tensor& t, int s) {
    std::vector<double> v = t.to_vector<double>(), r(v.size());
    for (int64_t i = 0; i < n; ++i) r[static_cast<size_t>(i)] = v[static_cast<size_t>((i + s) % n)];
    return Tensor::from_vector(r, t.shape());
  };
  auto unroll = [n](const Tensor& t, int s) {
    std::vector<double> v = t.to_vector<double>(), r(v.size());
    for (int64_t i = 0; i < n; ++i) r[static_cast<size_t>((i + s) % n)] = v[static_cast<size_t>(i)];
    return Tensor::from_vector(r, t.shape());
  };
  Tensor y;
  {
    NoGradGuard ng;
    y = ops::mul(a, roll(b, shift));
  }
  if (any_requires_grad({a, b})) {
    record(
        "shifted_product", {a, b}, {y},
        [a, b, shift, shift_in_backward, roll, unroll](const std::vector<Tensor>& g, const Node&) {
          Tensor da = ops::mul(g[0], roll(b, shift));
          Tensor db = unroll(ops::mul(g[0], a), shift_in_backward);
          return std::vector<Tensor>{da, db};
        });
  }
  return y;
}

TEST(Gradcheck, PassesOnCorrectOps) {
  Tensor a = input({0.3, -1.2, 2.0, 0.7, -0.4, 1.5}, {2, 3});
  Tensor b = input({1.1, 0.5, -0.8}, {3});
  const GradcheckResult r = gradcheck(
      [](const std::vector<Tensor>& in) { return ops::sigmoid(ops::mul(ops::tanh(in[0]), in[1])); },
      {a, b});
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.checked, 6 * 6 + 6 * 3);  // full Jacobian: 6 outputs x (6 + 3) input elements
  EXPECT_EQ(r.skipped, 0);
  // Inputs are left as they were and without gradients.
  EXPECT_EQ(a.to_vector<double>(), (std::vector<double>{0.3, -1.2, 2.0, 0.7, -0.4, 1.5}));
  EXPECT_FALSE(grad(a).defined());
  EXPECT_TRUE(
      gradcheck([](const std::vector<Tensor>& in) { return square_with_backward(in[0], 2.0); },
                {input({0.5, -3.0, 1.25}, {3})})
          .ok);
}

TEST(Gradcheck, FailsOnAWrongScale) {
  Tensor x = input({0.5, -3.0, 1.25}, {3});
  const GradcheckResult r = gradcheck(
      [](const std::vector<Tensor>& in) { return square_with_backward(in[0], 1.0); }, {x});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("input 0 element 0, output element 0"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("analytic 0.5 vs numeric "), std::string::npos) << r.message;
  // Off by a little: still caught with the default tolerances.
  EXPECT_FALSE(
      gradcheck([](const std::vector<Tensor>& in) { return square_with_backward(in[0], 2.001); },
                {x})
          .ok);
}

TEST(Gradcheck, FailsOnAWrongRoutingOfTheSecondInput) {
  Tensor a = input({0.3, -1.2, 2.0, 0.7}, {4});
  Tensor b = input({1.1, 0.5, -0.8, 0.25}, {4});
  const GradcheckResult good = gradcheck(
      [](const std::vector<Tensor>& in) { return shifted_product(in[0], in[1], 1, 1); }, {a, b});
  EXPECT_TRUE(good.ok) << good.message;
  const GradcheckResult bad = gradcheck(
      [](const std::vector<Tensor>& in) { return shifted_product(in[0], in[1], 1, 2); }, {a, b});
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.message.rfind("input 1 ", 0), 0u) << bad.message;  // input 0's gradient is right
}

TEST(Gradcheck, FailsWhenTheBackwardDropsAGradient) {
  Tensor a = input({0.3, -1.2}, {2});
  Tensor b = input({1.1, 0.5}, {2});
  auto fn = [](const std::vector<Tensor>& in) {
    Tensor y;
    {
      NoGradGuard ng;
      y = ops::mul(in[0], in[1]);
    }
    record("forgets_b", {in[0], in[1]}, {y},
           [b = in[1]](const std::vector<Tensor>& g, const Node&) {
             return std::vector<Tensor>{ops::mul(g[0], b), Tensor()};  // b's gradient missing
           });
    return y;
  };
  const GradcheckResult r = gradcheck(fn, {a, b});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("input 1"), std::string::npos) << r.message;
}

TEST(Gradcheck, SkipsKinks) {
  // relu at exactly 0 has different one-sided slopes: those elements are skipped, the rest checked.
  Tensor x = input({-1.0, 0.0, 0.5, 0.0, 2.0}, {5});
  const GradcheckResult r =
      gradcheck([](const std::vector<Tensor>& in) { return ops::relu(in[0]); }, {x});
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.skipped, 2);
  EXPECT_EQ(r.checked, 3 * 5);
  // A wrong gradient away from the kinks is still caught when kinks are present.
  Tensor x2 = input({0.0, 0.5, -3.0}, {3});
  const GradcheckResult w = gradcheck(
      [](const std::vector<Tensor>& in) {
        return ops::add(ops::relu(in[0]), square_with_backward(in[0], 3.0));
      },
      {x2});
  EXPECT_FALSE(w.ok);
  EXPECT_NE(w.message.find("element 1"), std::string::npos) << w.message;
}

TEST(Gradcheck, TooManyKinksFail) {
  Tensor x = input({0.0, 0.0, 0.0}, {3});
  const GradcheckResult r =
      gradcheck([](const std::vector<Tensor>& in) { return ops::relu(in[0]); }, {x});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.skipped, 3);
  EXPECT_NE(r.message.find("3 of 3 elements sit on kinks"), std::string::npos) << r.message;
}

TEST(Gradcheck, OnlyInputsThatRequireGradAreChecked) {
  Tensor a = input({0.3, -1.2}, {2});
  Tensor c = input({2.0, 3.0}, {2}, /*grad=*/false);
  const GradcheckResult r =
      gradcheck([](const std::vector<Tensor>& in) { return ops::mul(in[0], in[1]); }, {a, c});
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.checked, 2 * 2);
  // f32 inputs that do not require grad are allowed (labels, masks).
  Tensor f = Tensor::from_vector<float>({1.f, 2.f}, {2});
  EXPECT_TRUE(
      gradcheck([](const std::vector<Tensor>& in) { return ops::mul_scalar(in[0], 2.0); }, {a, f})
          .ok);
}

TEST(Gradcheck, RejectsBadSetups) {
  Tensor f = Tensor::from_vector<float>({1.f}, {1});
  set_requires_grad(f, true);
  try {
    gradcheck([](const std::vector<Tensor>& in) { return in[0]; }, {f});
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "gradcheck: differentiable inputs must be f64 CPU tensors, got f32[1]"),
              std::string::npos)
        << e.what();
  }
  // An output that does not depend on a differentiable input cannot be checked.
  Tensor a = input({1.0}, {1});
  const GradcheckResult r = gradcheck(
      [](const std::vector<Tensor>&) { return Tensor::from_vector<double>({1.0}, {1}); }, {a});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("does not depend"), std::string::npos) << r.message;
}

}  // namespace
}  // namespace y8m::autograd
