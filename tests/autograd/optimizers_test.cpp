// The tf.train optimizers (autograd/optim.h) other than Adam's specifics (adam_test.cpp): k steps
// of each equal TensorFlow 1.x's kernel recurrence evaluated here in float, with TF's defaults and
// slot initial values, plus closed forms for a constant gradient; per-tensor clipping; parameters
// without gradients; the non-finite guard; state round trips with TF's slot names; the factory's
// names and its error; CUDA vs CPU parity (skipped without a GPU).
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

const std::vector<std::string> kAll = {"GradientDescentOptimizer", "MomentumOptimizer",
                                       "RMSPropOptimizer", "AdagradOptimizer", "AdamOptimizer"};

Tensor param(const std::vector<float>& v) {
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  set_requires_grad(t, true);
  return t;
}

std::unique_ptr<Optimizer> make(const std::string& name, NamedTensors params, double clip = 0,
                                double momentum = 0.9) {
  OptimizerConfig c;
  c.name = name;
  c.clip_norm = clip;
  c.momentum = momentum;
  return make_optimizer(std::move(params), c);
}

const Tensor& state_of(const NamedTensors& st, const std::string& name) {
  for (const auto& kv : st)
    if (kv.first == name) return kv.second;
  throw std::runtime_error("no state " + name);
}

std::vector<std::string> state_names(const Optimizer& o) {
  std::vector<std::string> out;
  for (const auto& kv : o.state()) out.push_back(kv.first);
  return out;
}

// TF 1.x's kernels (training_ops.cc) for one element, in float, with the Python classes' defaults.
struct TfReference {
  std::string name;
  float momentum;
  float s0 = 0.f, s1 = 0.f;  // the slots
  TfReference(std::string n, float mu) : name(std::move(n)), momentum(mu) {
    if (name == "AdagradOptimizer") s0 = 0.1f;  // initial_accumulator_value
    if (name == "RMSPropOptimizer") s0 = 1.f;   // ms starts at ones
  }
  float step(float p, float g, float lr) {
    if (name == "GradientDescentOptimizer") return p - g * lr;
    if (name == "MomentumOptimizer") {  // ApplyMomentum, use_nesterov false
      s0 = s0 * momentum + g;
      return p - s0 * lr;
    }
    if (name == "AdagradOptimizer") {  // ApplyAdagrad
      s0 += g * g;
      return p - g * lr * (1.f / std::sqrt(s0));
    }
    // ApplyRMSProp: decay (rho) 0.9, momentum 0, epsilon 1e-10.
    s0 += (g * g - s0) * (1.f - 0.9f);
    s1 = s1 * 0.f + (g * lr) / std::sqrt(s0 + 1e-10f);
    return p - s1;
  }
};

TEST(Optimizers, MatchTheTfRecurrencesInFloat) {
  const std::vector<float> p0 = {1.f, -2.f, 0.5f, 3.f, 0.f};
  const std::vector<float> g = {0.1f, -0.3f, 2.f, 1e-3f, -7.f};
  for (const std::string name :
       {"GradientDescentOptimizer", "MomentumOptimizer", "RMSPropOptimizer", "AdagradOptimizer"}) {
    SCOPED_TRACE(name);
    Tensor p = param(p0);
    set_grad(p, Tensor::from_vector(g, {5}));
    auto opt = make(name, {{"p", p}}, 0.0, 0.8);
    EXPECT_EQ(opt->name(), name);
    std::vector<TfReference> ref(5, TfReference(name, 0.8f));
    std::vector<float> want = p0;
    const int k = 12;
    for (int s = 0; s < k; ++s) {
      const float lr = 0.01f * std::pow(0.9f, static_cast<float>(s / 4));  // a staircase
      ASSERT_TRUE(opt->step(lr).applied);
      for (size_t i = 0; i < 5; ++i) want[i] = ref[i].step(want[i], g[i], lr);
    }
    EXPECT_EQ(opt->step_count(), k);
    const std::vector<float> got = p.to_vector<float>();
    for (size_t i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(got[i], want[i]) << i;
    const NamedTensors st = opt->state();
    if (name == "MomentumOptimizer") {
      EXPECT_FLOAT_EQ(state_of(st, "p/Momentum").to_vector<float>()[2], ref[2].s0);
    }
    if (name == "AdagradOptimizer") {
      EXPECT_FLOAT_EQ(state_of(st, "p/Adagrad").to_vector<float>()[2], ref[2].s0);
    }
    if (name == "RMSPropOptimizer") {
      EXPECT_FLOAT_EQ(state_of(st, "p/RMSProp").to_vector<float>()[2], ref[2].s0);
      EXPECT_FLOAT_EQ(state_of(st, "p/RMSProp_1").to_vector<float>()[2], ref[2].s1);
    }
  }
}

// Independent of the recurrences: closed forms for a constant gradient g at a constant lr, in
// double.
TEST(Optimizers, ClosedFormsForAConstantGradient) {
  const double g = 0.5, lr = 0.1, mu = 0.9;
  const int k = 10;
  auto run = [&](const std::string& name) {
    Tensor p = param({0.f});
    set_grad(p, Tensor::from_vector<float>({static_cast<float>(g)}, {1}));
    auto opt = make(name, {{"w", p}}, 0.0, mu);
    for (int s = 0; s < k; ++s) opt->step(lr);
    return std::make_pair(static_cast<double>(p.item<float>()), opt->state());
  };
  EXPECT_NEAR(run("GradientDescentOptimizer").first, -k * lr * g, 1e-6);
  // Momentum: a_j = g (1 - mu^j) / (1 - mu); the parameter moves by lr * sum_j a_j.
  double sum = 0;
  for (int j = 1; j <= k; ++j) sum += g * (1 - std::pow(mu, j)) / (1 - mu);
  auto momentum = run("MomentumOptimizer");
  EXPECT_NEAR(momentum.first, -lr * sum, 1e-5);
  EXPECT_NEAR(state_of(momentum.second, "w/Momentum").item<float>(),
              g * (1 - std::pow(mu, k)) / (1 - mu), 1e-5);
  // Adagrad: a_j = 0.1 + j g^2.
  sum = 0;
  for (int j = 1; j <= k; ++j) sum += g / std::sqrt(0.1 + j * g * g);
  auto adagrad = run("AdagradOptimizer");
  EXPECT_NEAR(adagrad.first, -lr * sum, 1e-5);
  EXPECT_NEAR(state_of(adagrad.second, "w/Adagrad").item<float>(), 0.1 + k * g * g, 1e-5);
  // RMSProp: ms_j = g^2 + (1 - g^2) 0.9^j (ms starts at 1), momentum 0 -> mom_j = lr g /
  // sqrt(ms_j).
  sum = 0;
  for (int j = 1; j <= k; ++j) sum += g / std::sqrt(g * g + (1 - g * g) * std::pow(0.9, j));
  auto rmsprop = run("RMSPropOptimizer");
  EXPECT_NEAR(rmsprop.first, -lr * sum, 1e-5);
  EXPECT_NEAR(state_of(rmsprop.second, "w/RMSProp").item<float>(),
              g * g + (1 - g * g) * std::pow(0.9, k), 1e-6);
}

TEST(Optimizers, DoubleParametersOnTheCpu) {
  for (const auto& name : kAll) {
    SCOPED_TRACE(name);
    Tensor p = Tensor::from_vector<double>({1.0, -1.0}, {2});
    set_requires_grad(p, true);
    set_grad(p, Tensor::from_vector<double>({-0.5, 0.25}, {2}));
    Tensor q = param({1.f, -1.f});
    set_grad(q, Tensor::from_vector<float>({-0.5f, 0.25f}, {2}));
    auto a = make(name, {{"p", p}}, 1.0), b = make(name, {{"p", q}}, 1.0);
    for (int s = 0; s < 3; ++s) {
      a->step(0.1);
      b->step(0.1);
    }
    const std::vector<float> f = q.to_vector<float>();
    const std::vector<double> d = p.to_vector<double>();
    for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(d[i], f[i], 1e-5) << i;
    EXPECT_NE(d[0], 1.0);
  }
}

// Clipping is per tensor and before the rule: clipping (3, 4) at 1 gives exactly the update of the
// gradient (0.6, 0.8); a tensor under the norm is untouched; the stored gradient is not modified.
TEST(Optimizers, ClipEachTensorByItsOwnNorm) {
  for (const auto& name : kAll) {
    SCOPED_TRACE(name);
    Tensor a = param({1, 2}), b = param({3, 4}), a2 = param({1, 2}), b2 = param({3, 4});
    set_grad(a, Tensor::from_vector<float>({3, 4}, {2}));
    set_grad(b, Tensor::from_vector<float>({0.3f, 0.4f}, {2}));
    set_grad(a2, Tensor::from_vector<float>({0.6f, 0.8f}, {2}));
    set_grad(b2, Tensor::from_vector<float>({0.3f, 0.4f}, {2}));
    auto clipped = make(name, {{"a", a}, {"b", b}}, 1.0);
    auto plain = make(name, {{"a", a2}, {"b", b2}}, 0.0);
    for (int s = 0; s < 3; ++s) {
      clipped->step(0.01);
      plain->step(0.01);
    }
    EXPECT_EQ(a.to_vector<float>(), a2.to_vector<float>());
    EXPECT_EQ(b.to_vector<float>(), b2.to_vector<float>());
    EXPECT_NE(a.to_vector<float>()[0], 1.f);
    EXPECT_EQ(grad(a).to_vector<float>(), (std::vector<float>{3, 4}));
  }
}

TEST(Optimizers, ParametersWithoutGradientAreUntouched) {
  for (const auto& name : kAll) {
    SCOPED_TRACE(name);
    Tensor a = param({1, 2}), b = param({3, 4});
    set_grad(a, Tensor::from_vector<float>({1, 1}, {2}));
    auto opt = make(name, {{"a", a}, {"b", b}}, 1.0);
    const NamedTensors fresh = opt->state();
    std::vector<std::vector<float>> b_slots;
    for (const auto& kv : fresh)
      if (kv.first.rfind("b/", 0) == 0) b_slots.push_back(kv.second.clone().to_vector<float>());
    opt->step(0.1);
    opt->step(0.1);
    EXPECT_EQ(b.to_vector<float>(), (std::vector<float>{3, 4}));
    size_t j = 0;
    for (const auto& kv : opt->state()) {
      if (kv.first.rfind("b/", 0) == 0) {
        EXPECT_EQ(kv.second.to_vector<float>(), b_slots[j++]) << kv.first;
      }
    }
    EXPECT_EQ(j, b_slots.size());
    EXPECT_EQ(opt->step_count(), 2);
    EXPECT_NE(a.to_vector<float>()[0], 1.f);
  }
}

TEST(Optimizers, SlotNamesAndInitialValuesAreTfs) {
  auto names = [](const std::string& opt) {
    return state_names(*make(opt, {{"tower/w", param({1, 2})}}));
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names("GradientDescentOptimizer"), V{});
  EXPECT_EQ(names("MomentumOptimizer"), V{"tower/w/Momentum"});
  EXPECT_EQ(names("AdagradOptimizer"), V{"tower/w/Adagrad"});
  EXPECT_EQ(names("RMSPropOptimizer"), (V{"tower/w/RMSProp", "tower/w/RMSProp_1"}));
  EXPECT_EQ(names("AdamOptimizer"),
            (V{"tower/w/Adam", "tower/w/Adam_1", "beta1_power", "beta2_power"}));
  auto rms = make("RMSPropOptimizer", {{"w", param({1, 2})}});
  EXPECT_EQ(state_of(rms->state(), "w/RMSProp").to_vector<float>(), (std::vector<float>{1, 1}));
  EXPECT_EQ(state_of(rms->state(), "w/RMSProp_1").to_vector<float>(), (std::vector<float>{0, 0}));
  auto ada = make("AdagradOptimizer", {{"w", param({1, 2})}});
  EXPECT_EQ(state_of(ada->state(), "w/Adagrad").to_vector<float>(),
            (std::vector<float>{0.1f, 0.1f}));
}

TEST(Optimizers, UnknownNameListsTheFive) {
  EXPECT_EQ(optimizer_names(), kAll);
  const std::string msg = error_of([] { make("FooOptimizer", {{"w", param({1})}}); });
  EXPECT_EQ(msg,
            "--optimizer: unknown optimizer 'FooOptimizer'; the tf.train optimizers y8m implements "
            "are GradientDescentOptimizer, MomentumOptimizer, RMSPropOptimizer, AdagradOptimizer, "
            "AdamOptimizer");
  EXPECT_NO_THROW(check_optimizer_name("MomentumOptimizer"));
}

TEST(Optimizers, StateRoundTripContinuesIdentically) {
  const int64_t n = 70000;  // more than one 65536-element chunk
  for (const auto& name : kAll) {
    SCOPED_TRACE(name);
    Tensor g = Tensor::empty({n});
    engine::fill_normal(g, 11, 0);
    Tensor p1 = Tensor::empty({n});
    engine::fill_uniform(p1, 12, 0, -1.0, 1.0);
    Tensor p2 = p1.clone();
    set_requires_grad(p1, true);
    set_requires_grad(p2, true);
    set_grad(p1, g);
    set_grad(p2, g);
    auto a1 = make(name, {{"w", p1}}, 10.0);
    for (int s = 0; s < 3; ++s) a1->step(0.01);
    NamedTensors saved;  // a checkpoint: deep copies
    for (const auto& kv : a1->state()) saved.emplace_back(kv.first, kv.second.clone());
    p2.copy_from(p1);
    auto a2 = make(name, {{"w", p2}}, 10.0);
    a2->load_state(saved, a1->step_count());
    EXPECT_EQ(a2->step_count(), 3);
    for (int s = 0; s < 4; ++s) {
      a1->step(0.01);
      a2->step(0.01);
    }
    EXPECT_EQ(p1.to_vector<float>(), p2.to_vector<float>());
    const NamedTensors s1 = a1->state(), s2 = a2->state();
    ASSERT_EQ(s1.size(), s2.size());
    for (size_t i = 0; i < s1.size(); ++i)
      EXPECT_EQ(s1[i].second.to_vector<float>(), s2[i].second.to_vector<float>()) << s1[i].first;
  }
}

TEST(Optimizers, LoadStateErrorsNameTheSlot) {
  auto rms = make("RMSPropOptimizer", {{"w", param({1, 2})}});
  NamedTensors st = rms->state();
  NamedTensors missing(st.begin(), st.begin() + 1);
  EXPECT_EQ(error_of([&] { rms->load_state(missing, 0); }),
            "rmsprop: optimizer state 'w/RMSProp_1' missing");
  // An Adam checkpoint's state does not load into Momentum.
  auto adam = make("AdamOptimizer", {{"w", param({1, 2})}});
  auto mom = make("MomentumOptimizer", {{"w", param({1, 2})}});
  EXPECT_EQ(error_of([&] { mom->load_state(adam->state(), 0); }),
            "momentum: optimizer state 'w/Momentum' missing");
  NamedTensors wrong = mom->state();
  wrong[0].second = Tensor::zeros({3});
  const std::string msg = error_of([&] { mom->load_state(wrong, 0); });
  EXPECT_NE(msg.find("momentum: state for 'w' has shape [3]"), std::string::npos) << msg;
  const std::string dtype = error_of([] {
    make("AdagradOptimizer", {{"ids", Tensor::zeros({2}, DType::i32)}});
  });
  EXPECT_NE(dtype.find("adagrad: parameter 'ids' is i32[2] on cpu; AdagradOptimizer takes f32"),
            std::string::npos)
      << dtype;
}

// A step that meets a NaN or Inf (in a gradient, or in the loss) changes nothing: parameters,
// slots and the step count stay, and the next finite step equals that of an optimizer that never
// saw the bad one. With and without clipping.
void expect_nonfinite_step_is_a_noop(const std::string& name, const Device& dev, double clip) {
  SCOPED_TRACE(name + " on " + dev.str() + " clip " + std::to_string(clip));
  auto params = [&] {
    NamedTensors ps;
    for (int k = 0; k < 2; ++k) {
      Tensor p = Tensor::empty({70001 - 70000 * k});
      engine::fill_uniform(p, 10 + k, 0, -1.0, 1.0);
      p = p.to(dev);
      set_requires_grad(p, true);
      ps.emplace_back("w" + std::to_string(k), p);
    }
    return ps;
  };
  NamedTensors pa = params(), pb = params();
  auto a = make(name, pa, clip), b = make(name, pb, clip);
  auto set_grads = [&](NamedTensors& ps, uint64_t seed, float poison, int where) {
    for (size_t k = 0; k < ps.size(); ++k) {
      Tensor g = Tensor::empty(ps[k].second.shape());
      engine::fill_normal(g, seed + k, 0);
      if (static_cast<int>(k) == where) g.data<float>()[g.numel() / 2] = poison;
      set_grad(ps[k].second, g.to(dev));
    }
  };
  const Tensor finite_loss = Tensor::scalar(0.5f).to(dev);
  set_grads(pa, 1, 0, -1);
  set_grads(pb, 1, 0, -1);
  ASSERT_TRUE(a->step(0.01, finite_loss).applied);
  ASSERT_TRUE(b->step(0.01).applied);
  const std::vector<float> before = pa[0].second.to_vector<float>();
  set_grads(pa, 2, std::nanf(""), 1);
  StepResult r = a->step(0.01, finite_loss);
  EXPECT_FALSE(r.applied);
  EXPECT_EQ(r.bad_gradient, "w1");
  set_grads(pa, 2, INFINITY, 0);
  r = a->step(0.01);
  EXPECT_FALSE(r.applied);
  EXPECT_EQ(r.bad_gradient, "w0");
  set_grads(pa, 2, 0, -1);
  r = a->step(0.01, Tensor::scalar(std::nanf("")).to(dev));
  EXPECT_FALSE(r.applied);
  EXPECT_FALSE(r.loss_finite);
  EXPECT_EQ(a->step_count(), 1);
  EXPECT_EQ(pa[0].second.to_vector<float>(), before);
  set_grads(pa, 3, 0, -1);
  set_grads(pb, 3, 0, -1);
  ASSERT_TRUE(a->step(0.01, finite_loss).applied);
  ASSERT_TRUE(b->step(0.01).applied);
  for (size_t k = 0; k < pa.size(); ++k)
    EXPECT_EQ(pa[k].second.to_vector<float>(), pb[k].second.to_vector<float>()) << k;
  const NamedTensors sa = a->state(), sb = b->state();
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i)
    EXPECT_EQ(sa[i].second.to(Device::cpu()).to_vector<float>(),
              sb[i].second.to(Device::cpu()).to_vector<float>())
        << sa[i].first;
}

TEST(Optimizers, NonFiniteStepChangesNothing) {
  for (const auto& name : kAll) {
    expect_nonfinite_step_is_a_noop(name, Device::cpu(), 1.0);
    expect_nonfinite_step_is_a_noop(name, Device::cpu(), 0.0);
  }
}

TEST(Optimizers, CudaNonFiniteStepChangesNothing) {
  Y8M_REQUIRE_CUDA();
  for (const auto& name : kAll) {
    expect_nonfinite_step_is_a_noop(name, Device::cuda(0), 1.0);
    expect_nonfinite_step_is_a_noop(name, Device::cuda(0), 0.0);
  }
}

TEST(Optimizers, CudaMatchesCpu) {
  Y8M_REQUIRE_CUDA();
  const Device gpu = Device::cuda(0);
  // Sizes across the chunking (1, 33, more than one 65536 chunk), gradients above and below the
  // clip norm, and one parameter without a gradient.
  const std::vector<int64_t> sizes = {1, 33, 70001, 5};
  for (const auto& name : kAll) {
    for (double clip : {1.0, 0.0}) {
      SCOPED_TRACE(name + " clip " + std::to_string(clip));
      NamedTensors cpu_params, gpu_params;
      for (size_t k = 0; k < sizes.size(); ++k) {
        Tensor p = Tensor::empty({sizes[k]});
        engine::fill_uniform(p, 100 + k, 0, -1.0, 1.0);
        Tensor g = Tensor::empty({sizes[k]});
        engine::fill_normal(g, 200 + k, 0, 0.0, k == 1 ? 0.01 : 1.0);
        Tensor pg = p.to(gpu);
        set_requires_grad(p, true);
        set_requires_grad(pg, true);
        if (k != 3) {
          set_grad(p, g);
          set_grad(pg, g.to(gpu));
        }
        cpu_params.emplace_back("p" + std::to_string(k), p);
        gpu_params.emplace_back("p" + std::to_string(k), pg);
      }
      auto oc = make(name, cpu_params, clip), og = make(name, gpu_params, clip);
      for (int s = 0; s < 5; ++s) {
        ASSERT_TRUE(oc->step(0.003).applied);
        ASSERT_TRUE(og->step(0.003).applied);
      }
      EXPECT_EQ(og->step_count(), 5);
      for (size_t k = 0; k < sizes.size(); ++k) {
        const std::vector<float> c = cpu_params[k].second.to_vector<float>();
        const std::vector<float> d = gpu_params[k].second.to_vector<float>();
        for (size_t i = 0; i < c.size(); ++i)
          ASSERT_NEAR(d[i], c[i], 1e-6 + 1e-5 * std::fabs(c[i])) << "tensor " << k << " at " << i;
      }
      const NamedTensors sc = oc->state(), sg = og->state();
      ASSERT_EQ(sc.size(), sg.size());
      for (size_t i = 0; i < sc.size(); ++i) {
        const std::vector<float> c = sc[i].second.to_vector<float>();
        const std::vector<float> d = sg[i].second.to(Device::cpu()).to_vector<float>();
        for (size_t j = 0; j < c.size(); ++j)
          ASSERT_NEAR(d[j], c[j], 1e-6 + 1e-5 * std::fabs(c[j])) << sc[i].first << " at " << j;
      }
    }
  }
}

}  // namespace
}  // namespace y8m::autograd
