// End-to-end: a 2-layer MLP (matmul + bias + relu, matmul + bias + sigmoid, sigmoid cross-entropy)
// built as a Module and trained with Adam on a fixed XOR-like problem must fit it. Exercises the
// tape, parameter registration, AccumulateGrad through broadcast biases, and the optimizer
// together.
#include "autograd/module.h"
#include "autograd/optim.h"
#include "autograd/variable.h"
#include "engine/rng.h"
#include "ops/elementwise/elementwise.h"
#include "ops/matmul/matmul.h"
#include "ops/nn/loss.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace y8m::autograd {
namespace {

class Mlp : public Module {
 public:
  Mlp(int64_t in, int64_t hidden, uint64_t seed) {
    Tensor w1 = Tensor::empty({in, hidden}), w2 = Tensor::empty({hidden, 1});
    engine::fill_uniform(w1, seed, 0, -1.0, 1.0);
    engine::fill_uniform(w2, seed, engine::uniform_counters(w1.numel()), -0.5, 0.5);
    w1_ = register_parameter("w1", w1);
    b1_ = register_parameter("b1", Tensor::zeros({hidden}));
    w2_ = register_parameter("w2", w2);
    b2_ = register_parameter("b2", Tensor::zeros({1}));
  }
  // x [B, in] -> probabilities [B, 1]
  Tensor forward(const Tensor& x) const {
    Tensor h = ops::relu(ops::add(ops::matmul(x, w1_), b1_));
    return ops::sigmoid(ops::add(ops::matmul(h, w2_), b2_));
  }

 private:
  Tensor w1_, b1_, w2_, b2_;
};

// 64 points uniform in [-1, 1]^2, label 1 where x0 * x1 > 0 (XOR of the signs). Points too close to
// an axis are pushed out so that the classes are separated by a margin.
void make_xor(Tensor* x, Tensor* y) {
  const int64_t n = 64;
  Tensor u = Tensor::empty({n, 2});
  engine::fill_uniform(u, 2024, 0, -1.0, 1.0);
  std::vector<float> xv = u.to_vector<float>(), yv(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    for (int d = 0; d < 2; ++d) {
      float& v = xv[static_cast<size_t>(2 * i + d)];
      v = v < 0 ? v - 0.1f : v + 0.1f;
    }
    yv[static_cast<size_t>(i)] =
        xv[static_cast<size_t>(2 * i)] * xv[static_cast<size_t>(2 * i + 1)] > 0 ? 1.f : 0.f;
  }
  *x = Tensor::from_vector(xv, {n, 2});
  *y = Tensor::from_vector(yv, {n, 1});
}

TEST(MlpTrain, AdamFitsXor) {
  Tensor x, y;
  make_xor(&x, &y);
  Mlp mlp(2, 16, 7);
  EXPECT_EQ(mlp.num_parameter_elements(), 2 * 16 + 16 + 16 + 1);
  Adam adam(mlp.named_parameters());
  float first = 0, last = 0;
  const int steps = 200;
  for (int s = 0; s < steps; ++s) {
    mlp.zero_grad();
    Tensor loss = ops::sigmoid_cross_entropy(mlp.forward(x), y);
    if (s == 0) first = loss.item<float>();
    last = loss.item<float>();
    backward(loss);
    for (const Tensor& p : mlp.parameters()) ASSERT_TRUE(grad(p).defined());
    adam.step(0.05);
  }
  // The untrained net starts near chance (ln 2 = 0.69; 0.54 with these seeds); after 200 full-batch
  // Adam steps at lr 0.05 the loss is about 1e-3 here, asserted with margin.
  EXPECT_GT(first, 0.4f);
  EXPECT_LT(last, 0.02f) << "first loss " << first;
  // Every training point classified correctly.
  NoGradGuard ng;
  const std::vector<float> p = mlp.forward(x).to_vector<float>(), t = y.to_vector<float>();
  int correct = 0;
  for (size_t i = 0; i < p.size(); ++i) correct += (p[i] > 0.5f) == (t[i] > 0.5f);
  EXPECT_EQ(correct, 64);
}

TEST(MlpTrain, SameSeedSameRun) {
  Tensor x, y;
  make_xor(&x, &y);
  std::vector<std::vector<float>> finals;
  for (int run = 0; run < 2; ++run) {
    Mlp mlp(2, 8, 3);
    Adam adam(mlp.named_parameters());
    for (int s = 0; s < 20; ++s) {
      mlp.zero_grad();
      backward(ops::sigmoid_cross_entropy(mlp.forward(x), y));
      adam.step(0.05);
    }
    finals.push_back(mlp.named_parameters()[0].second.to_vector<float>());
  }
  EXPECT_EQ(finals[0], finals[1]);
}

}  // namespace
}  // namespace y8m::autograd
