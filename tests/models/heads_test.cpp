// models/heads.h: LogisticHead and MoeHead (every flag of SPEC §2.3), gradients, names and
// regularizers.
#include "models/heads.h"

#include "model_test_util.h"
#include "ops/elementwise/elementwise.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace y8m::models {
namespace {

using testing::expect_error;
using testing::expect_gradcheck;
using testing::names;
using testing::uniform;

// A model scope holding one head, the way NetVLADModelLF holds its classifier.
class HeadOwner : public Scope {
 public:
  HeadOwner(const std::string& kind, int64_t in, int64_t classes, const MoeOptions& moe,
            uint64_t seed = 17)
      : gen_(seed) {
    InitOptions o;
    o.dtype = DType::f64;
    Initializer init(gen_, o);
    head = make_head(kind, *this, init, in, classes, moe);
    // Give every parameter non-trivial values (BN gamma/beta and biases start at constants).
    uint64_t s = 100;
    for (auto& kv : named_parameters())
      kv.second.copy_from(uniform(kv.second.shape(), s++, -0.8, 0.8));
  }
  std::unique_ptr<Head> head;

 private:
  engine::Generator gen_;
};

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

TEST(LogisticHead, NamesValueRegularizerAndGradcheck) {
  HeadOwner m("LogisticModel", 4, 3, {});
  EXPECT_EQ(names(m.named_parameters()),
            (std::vector<std::string>{"fully_connected/weights", "fully_connected/biases"}));
  Tensor x = uniform({2, 4}, 1);
  const Tensor w = m.named_parameters()[0].second, b = m.named_parameters()[1].second;
  const auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
  const auto p = m.head->forward(x).to_vector<double>();
  double ww = 0;
  for (double v : wv) ww += v * v;
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) {
      double z = bv[c];
      for (int i = 0; i < 4; ++i) z += xv[r * 4 + i] * wv[i * 3 + c];
      EXPECT_NEAR(p[r * 3 + c], sigmoid(z), 1e-14);
    }
  }
  EXPECT_NEAR(m.head->regularization_loss().item<double>(), 1e-8 * ww / 2, 1e-22);
  autograd::set_requires_grad(x, true);
  expect_gradcheck(m, [&] { return m.head->forward(x); }, {x});
}

struct MoeCase {
  const char* label;
  MoeOptions opts;
  int64_t in;
};

std::vector<MoeCase> moe_cases() {
  std::vector<MoeCase> cases;
  MoeOptions o;
  cases.push_back({"plain", o, 4});
  o.prob_gating = true;
  cases.push_back({"prob_gating", o, 4});
  o.remove_diag = true;
  cases.push_back({"prob_gating+remove_diag", o, 4});
  o.low_rank_gating = 2;
  cases.push_back({"prob_gating+remove_diag+low_rank", o, 4});
  o.prob_gating_input = "input";
  cases.push_back({"input_gating+remove_diag+low_rank", o, 5});
  MoeOptions m3;
  m3.num_mixtures = 3;
  m3.prob_gating = true;
  cases.push_back({"three_mixtures", m3, 4});
  return cases;
}

TEST(MoeHead, GradcheckEveryFlag) {
  for (const MoeCase& c : moe_cases()) {
    SCOPED_TRACE(c.label);
    HeadOwner m("MoeModel", c.in, 3, c.opts);
    Tensor x = uniform({4, c.in}, 2);
    autograd::set_requires_grad(x, true);
    expect_gradcheck(m, [&] { return m.head->forward(x); }, {x});
    Tensor r = m.head->regularization_loss();
    EXPECT_EQ(r.dim(), 0);
  }
}

TEST(MoeHead, VariableNames) {
  MoeOptions o;
  EXPECT_EQ(names(HeadOwner("MoeModel", 4, 3, o).named_parameters()),
            (std::vector<std::string>{"gates/weights", "experts/weights", "experts/biases"}));
  o.prob_gating = true;
  o.low_rank_gating = 2;
  HeadOwner m("MoeModel", 4, 3, o);
  EXPECT_EQ(names(m.named_parameters()),
            (std::vector<std::string>{"gating_prob_weights", "gates1/weights", "gates2/weights",
                                      "experts/weights", "experts/biases", "gating_prob_bn/beta",
                                      "gating_prob_bn/gamma"}));
  EXPECT_EQ(names(m.named_buffers()), (std::vector<std::string>{"gating_prob_bn/moving_mean",
                                                                "gating_prob_bn/moving_variance"}));
  EXPECT_EQ(m.named_parameters()[0].second.shape(), (Shape{3, 3}));
  o.prob_gating_input = "input";
  o.low_rank_gating = -1;
  EXPECT_EQ(HeadOwner("MoeModel", 4, 3, o).named_parameters()[0].second.shape(), (Shape{4, 3}));
}

// Forward against SPEC §2.3 written out by hand: class-major gate layout, dummy expert,
// output gating with the diagonal removed; BN in eval mode with fresh statistics is
// u / sqrt(1 + 1e-3) * γ + β.
TEST(MoeHead, MatchesHandComputation) {
  MoeOptions o;
  o.prob_gating = true;
  o.remove_diag = true;
  const int64_t in = 3, v = 2, mm = 2;
  HeadOwner m("MoeModel", in, v, o);
  m.eval();
  const Tensor x = uniform({2, in}, 5);
  auto param = [&](const std::string& n) {
    for (auto& kv : m.named_parameters())
      if (kv.first == n) return kv.second.to_vector<double>();
    ADD_FAILURE() << n;
    return std::vector<double>{};
  };
  const auto wg = param("gates/weights"), we = param("experts/weights"),
             be = param("experts/biases"), wp = param("gating_prob_weights"),
             beta = param("gating_prob_bn/beta"), gamma = param("gating_prob_bn/gamma"),
             xv = x.to_vector<double>();
  const auto out = m.head->forward(x).to_vector<double>();
  for (int r = 0; r < 2; ++r) {
    std::vector<double> p(v);
    for (int c = 0; c < v; ++c) {
      std::vector<double> g(mm + 1), e(mm);
      for (int j = 0; j <= mm; ++j)
        for (int i = 0; i < in; ++i)
          g[j] += xv[r * in + i] * wg[i * v * (mm + 1) + c * (mm + 1) + j];
      for (int j = 0; j < mm; ++j) {
        e[j] = be[c * mm + j];
        for (int i = 0; i < in; ++i) e[j] += xv[r * in + i] * we[i * v * mm + c * mm + j];
      }
      const double gmax = *std::max_element(g.begin(), g.end());
      double zsum = 0;
      for (double& gj : g) zsum += (gj = std::exp(gj - gmax));
      for (int j = 0; j < mm; ++j) p[c] += g[j] / zsum * sigmoid(e[j]);
    }
    for (int c = 0; c < v; ++c) {
      double u = 0;
      for (int i = 0; i < v; ++i)
        if (i != c) u += p[i] * wp[i * v + c];
      const double bn = u / std::sqrt(1.001) * gamma[c] + beta[c];
      EXPECT_NEAR(out[r * v + c], p[c] * sigmoid(bn), 1e-12);
    }
  }
}

TEST(MoeHead, RegularizerCoversGatesAndExpertWeightsOnly) {
  MoeOptions o;
  o.l2 = 1e-3;
  o.prob_gating = true;
  o.low_rank_gating = 2;
  HeadOwner m("MoeModel", 4, 3, o);
  double want = 0;
  for (auto& kv : m.named_parameters()) {
    if (kv.first != "gates1/weights" && kv.first != "gates2/weights" &&
        kv.first != "experts/weights")
      continue;
    for (double x : kv.second.to_vector<double>()) want += x * x;
  }
  EXPECT_NEAR(m.head->regularization_loss().item<double>(), 1e-3 * want / 2, 1e-15);
}

TEST(MoeHead, Errors) {
  MoeOptions o;
  o.prob_gating = true;
  o.remove_diag = true;
  o.prob_gating_input = "input";
  expect_error([&] { HeadOwner("MoeModel", 2, 3, o); }, {"MoeModel", "gating_remove_diag"});
  MoeOptions bad;
  bad.num_mixtures = 0;
  expect_error([&] { HeadOwner("MoeModel", 2, 3, bad); }, {"moe_num_mixtures"});
  bad = MoeOptions();
  bad.low_rank_gating = 0;
  expect_error([&] { HeadOwner("MoeModel", 2, 3, bad); }, {"moe_low_rank_gating"});
  expect_error([&] { HeadOwner("SvmModel", 2, 3, MoeOptions()); },
               {"SvmModel", "MoeModel", "LogisticModel"});
  HeadOwner m("MoeModel", 4, 3, MoeOptions());
  expect_error([&] { m.head->forward(uniform({2, 5}, 1)); }, {"MoeModel", "[2, 5]"});
}

}  // namespace
}  // namespace y8m::models
