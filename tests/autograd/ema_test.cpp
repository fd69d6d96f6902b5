// The exponential moving average (autograd/ema.h): after k steps of a toy model trained with
// hand-set gradients, the shadows equal the closed form d^k s0 + sum_j d^(k-j) (1-d) v_j (f64) and
// TF's float recurrence bit for bit (f32); buffers are averaged like parameters; checkpoint state
// round trips; errors; CUDA vs CPU parity (bit for bit; skipped without a GPU).
#include "autograd/ema.h"
#include "autograd/optim.h"
#include "autograd/variable.h"
#include "engine/rng.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace y8m::autograd {
namespace {

using testing::error_of;

// A toy model: one weight matrix, one bias and one buffer (a stand-in for a BN moving mean).
class Toy : public Module {
 public:
  explicit Toy(DType dt) {
    Tensor w =
        Tensor::from_vector(std::vector<double>{0.5, -1.0, 2.0, 0.25, 3.0, -0.75}, {2, 3}).to(dt);
    Tensor b = Tensor::from_vector(std::vector<double>{0.1, -0.2}, {2}).to(dt);
    Tensor m = Tensor::from_vector(std::vector<double>{1.0, 2.0, -4.0}, {3}).to(dt);
    register_parameter("w", w);
    register_parameter("b", b);
    register_buffer("moving_mean", m);
  }
};

NamedTensors tracked(const Module& m) {
  NamedTensors v = m.named_parameters();
  for (auto& kv : m.named_buffers()) v.push_back(kv);
  return v;
}

TEST(Ema, DecayForHalflife) {
  EXPECT_DOUBLE_EQ(ExponentialMovingAverage::decay_for_halflife(2000), 0.9995);
  EXPECT_DOUBLE_EQ(ExponentialMovingAverage::decay_for_halflife(3000), 1 - 1.0 / 3000);
  EXPECT_DOUBLE_EQ(ExponentialMovingAverage::decay_for_halflife(1), 0.0);
  EXPECT_NE(error_of([] {
              ExponentialMovingAverage::decay_for_halflife(0.5);
            }).find("--ema_halflife must be at least 1"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              ExponentialMovingAverage::decay_for_halflife(std::nan(""));
            }).find("--ema_halflife"),
            std::string::npos);
}

// Parameters move by Adam with hand-set gradients, the buffer by hand; the shadows follow the
// closed form.
TEST(Ema, ClosedFormAfterKStepsF64) {
  Toy toy(DType::f64);
  const NamedTensors vars = tracked(toy);
  std::vector<std::vector<double>> s0;
  for (const auto& kv : vars) s0.push_back(kv.second.to_vector<double>());
  const double d = ExponentialMovingAverage::decay_for_halflife(4);  // 0.75: visible in a few steps
  ExponentialMovingAverage ema(vars, d);
  Adam adam(toy.named_parameters());
  const int k = 7;
  std::vector<std::vector<std::vector<double>>>
      history;  // [step][tensor][element] after each update
  for (int step = 1; step <= k; ++step) {
    for (auto& kv : toy.named_parameters()) {
      Tensor g = Tensor::empty(kv.second.shape(), DType::f64);
      for (int64_t i = 0; i < g.numel(); ++i) g.data<double>()[i] = std::sin(1.0 + step * 0.7 + i);
      set_grad(kv.second, g);
    }
    adam.step(0.1);
    Tensor mm = toy.named_buffers()[0].second;
    for (int64_t i = 0; i < mm.numel(); ++i)
      mm.data<double>()[i] = mm.data<double>()[i] * 0.9 + step;
    ema.update();
    std::vector<std::vector<double>> now;
    for (const auto& kv : vars) now.push_back(kv.second.to_vector<double>());
    history.push_back(now);
  }
  EXPECT_EQ(ema.num_updates(), k);
  for (size_t t = 0; t < vars.size(); ++t) {
    const std::vector<double> got = ema.shadow(t).to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i) {
      double want = std::pow(d, k) * s0[t][i];
      for (int j = 1; j <= k; ++j)
        want += std::pow(d, k - j) * (1 - d) * history[static_cast<size_t>(j - 1)][t][i];
      EXPECT_NEAR(got[i], want, 1e-12 * (1 + std::fabs(want))) << vars[t].first << "[" << i << "]";
    }
    // The shadow lags the variable (the variables moved every step).
    EXPECT_NE(got, history.back()[t]) << vars[t].first;
  }
}

// f32: exactly TF's float recurrence, with the step factor 1.f - float(d).
TEST(Ema, MatchesTheTfFloatRecurrence) {
  Toy toy(DType::f32);
  const NamedTensors vars = tracked(toy);
  const double d = ExponentialMovingAverage::decay_for_halflife(2000);
  ExponentialMovingAverage ema(vars, d);
  std::vector<std::vector<float>> want;
  for (const auto& kv : vars) want.push_back(kv.second.to_vector<float>());
  const float a = 1.f - static_cast<float>(d);
  for (int step = 1; step <= 50; ++step) {
    for (size_t t = 0; t < vars.size(); ++t) {
      Tensor v = vars[t].second;
      for (int64_t i = 0; i < v.numel(); ++i)
        v.data<float>()[i] += 0.01f * static_cast<float>(step + i);
      for (int64_t i = 0; i < v.numel(); ++i) {
        float& s = want[t][static_cast<size_t>(i)];
        s = s - (s - v.data<float>()[i]) * a;
      }
    }
    ema.update();
  }
  for (size_t t = 0; t < vars.size(); ++t) {
    const std::vector<float> got = ema.shadow(t).to_vector<float>();
    ASSERT_EQ(got.size(), want[t].size());
    EXPECT_EQ(std::memcmp(got.data(), want[t].data(), got.size() * 4), 0) << vars[t].first;
  }
}

TEST(Ema, StateRoundTripResetAndCopy) {
  Toy toy(DType::f32);
  ExponentialMovingAverage ema(tracked(toy), 0.5);
  Tensor w = toy.named_parameters()[0].second;
  w.fill(4.0);
  ema.update();  // shadow(w) = 0.5 s0 + 0.5 * 4
  const NamedTensors st = ema.state();
  ASSERT_EQ(st.size(), 3u);
  EXPECT_EQ(st[0].first, "w/ExponentialMovingAverage");
  EXPECT_EQ(st[2].first, "moving_mean/ExponentialMovingAverage");
  EXPECT_FLOAT_EQ(st[0].second.to_vector<float>()[0], 0.5f * 0.5f + 2.f);

  // A second EMA over the same variables restores the shadows exactly.
  ExponentialMovingAverage other(tracked(toy), 0.5);
  NamedTensors copies;
  for (const auto& kv : st) copies.emplace_back(kv.first, kv.second.clone());
  other.load_state(copies);
  for (size_t t = 0; t < 3; ++t)
    EXPECT_EQ(other.shadow(t).to_vector<float>(), ema.shadow(t).to_vector<float>());

  // copy_shadows_to_variables / reset_shadows.
  ema.copy_shadows_to_variables();
  EXPECT_EQ(w.to_vector<float>(), ema.shadow(0).to_vector<float>());
  w.fill(-1.0);
  ema.reset_shadows();
  EXPECT_EQ(ema.shadow(0).to_vector<float>(), std::vector<float>(6, -1.f));

  // Missing and mis-shaped shadows are named.
  NamedTensors partial(copies.begin(), copies.begin() + 2);
  EXPECT_NE(error_of([&] {
              other.load_state(partial);
            }).find("ema: shadow 'moving_mean/ExponentialMovingAverage' missing"),
            std::string::npos);
  copies[1].second = Tensor::zeros({5});
  EXPECT_NE(error_of([&] {
              other.load_state(copies);
            }).find("ema: shadow 'b/ExponentialMovingAverage' has shape"),
            std::string::npos);
}

TEST(Ema, Errors) {
  const std::string msg = error_of([] {
    ExponentialMovingAverage({{"ids", Tensor::zeros({2}, DType::i32)}}, 0.9);
  });
  EXPECT_NE(msg.find("ema: variable 'ids' is i32[2]"), std::string::npos) << msg;
  EXPECT_NE(
      error_of([] { ExponentialMovingAverage({}, 1.0); }).find("ema: decay must be in [0, 1)"),
      std::string::npos);
  ExponentialMovingAverage empty(NamedTensors{}, 0.9);
  EXPECT_NO_THROW(empty.update());
}

TEST(Ema, CudaMatchesCpu) {
  Y8M_REQUIRE_CUDA();
  const Device gpu = Device::cuda(0);
  // Sizes across the chunking (1, 33, more than one 65536 chunk) and an empty tensor.
  const std::vector<int64_t> sizes = {1, 33, 140001, 0, 5};
  NamedTensors cpu_vars, gpu_vars;
  for (size_t k = 0; k < sizes.size(); ++k) {
    Tensor v = Tensor::empty({sizes[k]});
    engine::fill_uniform(v, 100 + k, 0, -1.0, 1.0);
    cpu_vars.emplace_back("v" + std::to_string(k), v);
    gpu_vars.emplace_back("v" + std::to_string(k), v.to(gpu));
  }
  const double d = ExponentialMovingAverage::decay_for_halflife(3);
  ExponentialMovingAverage ec(cpu_vars, d), eg(gpu_vars, d);
  for (int s = 0; s < 4; ++s) {
    for (size_t k = 0; k < sizes.size(); ++k) {
      Tensor nv = Tensor::empty({sizes[k]});
      engine::fill_normal(nv, 300 + 10 * s + k, 0);
      cpu_vars[k].second.copy_from(nv);
      gpu_vars[k].second.copy_from(nv.to(gpu));
    }
    ec.update();
    eg.update();
  }
  for (size_t k = 0; k < sizes.size(); ++k) {
    const std::vector<float> c = ec.shadow(k).to_vector<float>(),
                             g = eg.shadow(k).to_vector<float>();
    ASSERT_EQ(c.size(), g.size());
    EXPECT_EQ(std::memcmp(c.data(), g.data(), c.size() * 4), 0) << "tensor " << k;
  }
}

}  // namespace
}  // namespace y8m::autograd
