// Adam in TensorFlow's form (autograd/optim.h): k steps equal the TF recurrences evaluated here in
// float, per-tensor clipping (not a global norm), parameters without gradients, state round trips,
// option errors, and clip_by_norm_ on CUDA against the CPU (the optimizers against each other, CUDA
// included, are in optimizers_test.cpp).
#include "autograd/optim.h"
#include "autograd/variable.h"
#include "engine/rng.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace y8m::autograd {
namespace {

using testing::error_of;

Tensor param(const std::vector<float>& v) {
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  set_requires_grad(t, true);
  return t;
}

// The TF ApplyAdam recurrences in float, for one element with a fixed gradient.
struct TfAdam {
  float beta1, beta2, eps;
  float b1p = 1.f, b2p = 1.f, m = 0.f, v = 0.f;
  float step(float p, float g, float lr) {
    b1p *= beta1;
    b2p *= beta2;
    const float alpha = lr * std::sqrt(1.f - b2p) / (1.f - b1p);
    m = m + (g - m) * (1.f - beta1);
    v = v + (g * g - v) * (1.f - beta2);
    return p - (m * alpha) / (std::sqrt(v) + eps);
  }
};

const Tensor& state_of(const NamedTensors& st, const std::string& name) {
  for (const auto& kv : st)
    if (kv.first == name) return kv.second;
  throw std::runtime_error("no state " + name);
}

TEST(Adam, MatchesTheTfRecurrenceInFloat) {
  const std::vector<float> p0 = {1.f, -2.f, 0.5f, 3.f};
  const std::vector<float> g = {0.1f, -0.3f, 2.f, 1e-3f};
  Tensor p = param(p0);
  set_grad(p, Tensor::from_vector(g, {4}));
  AdamOptions o;
  o.beta1 = 0.9;
  o.beta2 = 0.999;
  o.eps = 1e-8;
  Adam adam({{"p", p}}, o);
  std::vector<TfAdam> ref(4, TfAdam{0.9f, 0.999f, 1e-8f});
  std::vector<float> want = p0;
  const int k = 25;
  for (int s = 0; s < k; ++s) {
    adam.step(0.01);
    for (size_t i = 0; i < 4; ++i) want[i] = ref[i].step(want[i], g[i], 0.01f);
  }
  EXPECT_EQ(adam.step_count(), k);
  const std::vector<float> got = p.to_vector<float>();
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_FLOAT_EQ(got[i], want[i]) << i;
    // Independent check: with a constant gradient every bias-corrected step is lr * sign(g).
    EXPECT_NEAR(got[i], p0[i] - k * 0.01f * (g[i] > 0 ? 1.f : -1.f), 1e-4) << i;
  }
  const NamedTensors st = adam.state();
  EXPECT_NEAR(state_of(st, "beta1_power").item<float>(), std::pow(0.9, k), 1e-6);
  EXPECT_NEAR(state_of(st, "beta2_power").item<float>(), std::pow(0.999, k), 1e-6);
  EXPECT_FLOAT_EQ(state_of(st, "p/Adam").to_vector<float>()[2], ref[2].m);
  EXPECT_FLOAT_EQ(state_of(st, "p/Adam_1").to_vector<float>()[2], ref[2].v);
}

TEST(Adam, DoubleParametersOnTheCpu) {
  Tensor p = Tensor::from_vector<double>({1.0}, {1});
  set_requires_grad(p, true);
  set_grad(p, Tensor::from_vector<double>({-0.5}, {1}));
  Adam adam({{"p", p}});
  for (int s = 0; s < 3; ++s) adam.step(0.1);
  // Beta powers are f32 (as in TF), so the f64 step is lr up to ~1e-5 relative.
  EXPECT_NEAR(p.item<double>(), 1.3, 1e-5);
}

TEST(Adam, ClipsEachTensorByItsOwnNorm) {
  Tensor a = param({0, 0}), b = param({0, 0});
  set_grad(a, Tensor::from_vector<float>({3, 4}, {2}));        // norm 5 -> clipped to norm 1
  set_grad(b, Tensor::from_vector<float>({0.3f, 0.4f}, {2}));  // norm 0.5 -> untouched
  AdamOptions o;
  o.clip_norm = 1.0;
  Adam adam({{"a", a}, {"b", b}}, o);
  adam.step(0.001);
  // After one step m = (1 - beta1) * g_clipped. A global norm (5.02) would have scaled b too.
  const NamedTensors st = adam.state();
  const std::vector<float> ma = state_of(st, "a/Adam").to_vector<float>();
  const std::vector<float> mb = state_of(st, "b/Adam").to_vector<float>();
  EXPECT_NEAR(ma[0], 0.1f * 0.6f, 1e-7);
  EXPECT_NEAR(ma[1], 0.1f * 0.8f, 1e-7);
  EXPECT_NEAR(mb[0], 0.1f * 0.3f, 1e-7);
  EXPECT_NEAR(mb[1], 0.1f * 0.4f, 1e-7);
  // The stored gradients themselves are left as they were.
  EXPECT_EQ(grad(a).to_vector<float>(), (std::vector<float>{3, 4}));
}

TEST(Adam, ParametersWithoutGradientAreUntouched) {
  Tensor a = param({1, 2}), b = param({3, 4});
  set_grad(a, Tensor::from_vector<float>({1, 1}, {2}));
  Adam adam({{"a", a}, {"b", b}});
  adam.step(0.1);
  adam.step(0.1);
  EXPECT_EQ(b.to_vector<float>(), (std::vector<float>{3, 4}));
  EXPECT_EQ(state_of(adam.state(), "b/Adam").to_vector<float>(), (std::vector<float>{0, 0}));
  EXPECT_EQ(adam.step_count(), 2);
  EXPECT_NE(a.to_vector<float>()[0], 1.f);
  // A step with no gradients at all still advances the count and the beta powers.
  Adam idle({{"b", b}});
  idle.step(0.1);
  EXPECT_EQ(idle.step_count(), 1);
  EXPECT_FLOAT_EQ(state_of(idle.state(), "beta1_power").item<float>(), 0.9f);
  EXPECT_EQ(b.to_vector<float>(), (std::vector<float>{3, 4}));
}

TEST(ClipByNorm, PerTensorInPlace) {
  Tensor g = Tensor::from_vector<float>({3, 4}, {2});
  EXPECT_NEAR(clip_by_norm_(g, 1.0), 5.0, 1e-12);
  EXPECT_EQ(g.to_vector<float>(), (std::vector<float>{0.6f, 0.8f}));
  Tensor small = Tensor::from_vector<double>({0.3, 0.4}, {2});
  EXPECT_NEAR(clip_by_norm_(small, 1.0), 0.5, 1e-12);
  EXPECT_EQ(small.to_vector<double>(), (std::vector<double>{0.3, 0.4}));
  Tensor zero = Tensor::zeros({3});
  EXPECT_EQ(clip_by_norm_(zero, 1.0), 0.0);
  EXPECT_NE(error_of([&] { clip_by_norm_(g, 0.0); }).find("max_norm must be positive"),
            std::string::npos);
  Tensor ints = Tensor::zeros({2}, DType::i32);
  EXPECT_NE(error_of([&] {
              clip_by_norm_(ints, 1.0);
            }).find("clip_by_norm: expected a f64 tensor, got i32[2]"),
            std::string::npos);
}

// The state round trip of every optimizer, Adam included: Optimizers.StateRoundTripContinuesIdentically.

TEST(Adam, LoadStateErrors) {
  Tensor p = param({1, 2});
  Adam adam({{"w", p}});
  NamedTensors st = adam.state();
  NamedTensors missing(st.begin() + 1, st.end());
  EXPECT_EQ(error_of([&] { adam.load_state(missing, 0); }),
            "adam: optimizer state 'w/Adam' missing");
  NamedTensors no_beta(st.begin(), st.end() - 1);
  EXPECT_EQ(error_of([&] { adam.load_state(no_beta, 0); }),
            "adam: optimizer state 'beta2_power' missing");
  NamedTensors wrong = st;
  wrong[0].second = Tensor::zeros({3});
  const std::string msg = error_of([&] { adam.load_state(wrong, 0); });
  EXPECT_NE(msg.find("adam: state for 'w' has shape [3]"), std::string::npos) << msg;
}

TEST(Adam, OptionAndParameterErrors) {
  Tensor p = param({1});
  AdamOptions o;
  o.beta1 = 1.0;
  EXPECT_NE(error_of([&] {
              Adam({{"p", p}}, o);
            }).find("adam: bad options beta1=1"),
            std::string::npos);
  o = AdamOptions();
  o.eps = -1;
  EXPECT_NE(error_of([&] { Adam({{"p", p}}, o); }).find("adam: bad options"), std::string::npos);
  const std::string msg = error_of([] { Adam({{"ids", Tensor::zeros({2}, DType::i32)}}); });
  EXPECT_NE(msg.find("adam: parameter 'ids' is i32[2] on cpu"), std::string::npos) << msg;
  Adam empty(NamedTensors{});
  EXPECT_NO_THROW(empty.step(0.1));
}

// The non-finite guard for every optimizer (Adam included, CPU and CUDA) is in
// optimizers_test.cpp; here what only Adam's tests cover: f64 parameters and the guard turned off.
TEST(Adam, NonFiniteStepChangesNothing) {
  // f64 parameters.
  Tensor p = Tensor::from_vector(std::vector<double>{1.0, 2.0}, {2});
  set_requires_grad(p, true);
  set_grad(p, Tensor::from_vector(std::vector<double>{NAN, 0.0}, {2}));
  Adam a({{"p", p}});
  EXPECT_EQ(a.step(0.1).bad_gradient, "p");
  EXPECT_EQ(p.to_vector<double>(), (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(a.step_count(), 0);
  // Checking off: the NaN goes through (the old behaviour, for callers that want it).
  AdamOptions off;
  off.check_finite = false;
  Adam unchecked({{"p", p}}, off);
  EXPECT_TRUE(unchecked.step(0.1).applied);
  EXPECT_TRUE(std::isnan(p.to_vector<double>()[0]));
}

// Adam on CUDA against the CPU is Optimizers.CudaMatchesCpu (optimizers_test.cpp).
TEST(ClipByNorm, CudaMatchesCpu) {
  Y8M_REQUIRE_CUDA();
  const Device gpu = Device::cuda(0);
  // clip_by_norm_ on the device agrees with the host.
  Tensor g = Tensor::empty({100000});
  engine::fill_normal(g, 3, 0);
  Tensor gd = g.to(gpu);
  const double nc = clip_by_norm_(g, 1.0), nd = clip_by_norm_(gd, 1.0);
  EXPECT_NEAR(nd, nc, 1e-5 * nc);
  const std::vector<float> hc = g.to_vector<float>(), hd = gd.to_vector<float>();
  for (size_t i = 0; i < hc.size(); i += 97) ASSERT_NEAR(hd[i], hc[i], 1e-6) << i;
}

}  // namespace
}  // namespace y8m::autograd
