// gated_moe (ops/fused/gated_moe.h, SPEC §2.3): the fused kernels against the composite oracle
// (forward and both gradients, f64, every M path), a hand-computed row, the class-major layout
// against a plain loop, the probability range at saturated logits, shape errors, and CUDA against
// the CPU (skipped without a GPU).
#include "ops/fused/gated_moe.h"

#include "autograd/variable.h"
#include "engine/device.h"
#include "engine/rng.h"
#include "tests/ops/op_harness.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

namespace y8m::testing {
namespace {

using MoeFn = Tensor (*)(const Tensor&, const Tensor&, int64_t);

struct MoeResult {
  Tensor p, dgates, dexperts;  // gradients undefined where not requested
};

// Runs `f` on copies of the inputs (on `device`), then backward with the upstream gradient `dp`.
MoeResult run_moe(MoeFn f, const Tensor& gates, const Tensor& experts, int64_t m, const Tensor& dp,
                  Device device = Device::cpu(), bool grad_gates = true, bool grad_experts = true) {
  Tensor g = gates.to(device).clone(), e = experts.to(device).clone();
  if (grad_gates) autograd::set_requires_grad(g, true);
  if (grad_experts) autograd::set_requires_grad(e, true);
  MoeResult r;
  r.p = f(g, e, m);
  if (grad_gates || grad_experts) {
    autograd::backward(r.p, dp.to(device));
    r.dgates = autograd::grad(g);
    r.dexperts = autograd::grad(e);
  }
  return r;
}

struct MoeInputs {
  Tensor gates, experts, dp;
  MoeInputs(int64_t b, int64_t v, int64_t m, uint64_t seed, double range = 4.0)
      : gates(uniform({b, v * (m + 1)}, seed, -range, range)),
        experts(uniform({b, v * m}, seed + 1, -range, range)),
        dp(uniform({b, v}, seed + 2)) {}
  MoeInputs to(DType dt) const {
    MoeInputs r = *this;
    r.gates = gates.to(dt);
    r.experts = experts.to(dt);
    r.dp = dp.to(dt);
    return r;
  }
};

void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_TRUE(want.defined()) << what;
  EXPECT_EQ(got.shape(), want.shape()) << what;
  EXPECT_EQ(compare(got.to(Device::cpu()), want.to(Device::cpu()), tol, tol), "") << what;
}

TEST(GatedMoe, FusedMatchesCompositeF64) {
  // M = 1..4 take the specialized kernels, 5 and 7 the general one.
  for (int64_t m : {1, 2, 3, 4, 5, 7}) {
    for (const auto& [b, v] : {std::pair<int64_t, int64_t>{5, 33}, {1, 1}, {4, 3862}}) {
      const MoeInputs in(b, v, m, 100 + static_cast<uint64_t>(m));
      const std::string what =
          "B=" + std::to_string(b) + " V=" + std::to_string(v) + " M=" + std::to_string(m);
      const MoeResult f = run_moe(ops::gated_moe, in.gates, in.experts, m, in.dp);
      const MoeResult c = run_moe(ops::gated_moe_composite, in.gates, in.experts, m, in.dp);
      expect_close(f.p, c.p, 1e-13, what + " forward");
      expect_close(f.dgates, c.dgates, 1e-13, what + " d gates");
      expect_close(f.dexperts, c.dexperts, 1e-13, what + " d experts");
    }
  }
}

TEST(GatedMoe, FusedMatchesCompositeF32) {
  const MoeInputs in = MoeInputs(16, 3862, 2, 7).to(DType::f32);
  const MoeResult f = run_moe(ops::gated_moe, in.gates, in.experts, 2, in.dp);
  const MoeResult c = run_moe(ops::gated_moe_composite, in.gates, in.experts, 2, in.dp);
  expect_close(f.p, c.p, 1e-6, "forward");
  expect_close(f.dgates, c.dgates, 1e-6, "d gates");
  expect_close(f.dexperts, c.dexperts, 1e-6, "d experts");
}

TEST(GatedMoe, OneGradientOnly) {
  const MoeInputs in(3, 31, 2, 9);
  const MoeResult c = run_moe(ops::gated_moe_composite, in.gates, in.experts, 2, in.dp);
  const MoeResult only_e =
      run_moe(ops::gated_moe, in.gates, in.experts, 2, in.dp, Device::cpu(), false, true);
  EXPECT_FALSE(only_e.dgates.defined());
  expect_close(only_e.dexperts, c.dexperts, 1e-13, "d experts alone");
  const MoeResult only_g =
      run_moe(ops::gated_moe, in.gates, in.experts, 2, in.dp, Device::cpu(), true, false);
  EXPECT_FALSE(only_g.dexperts.defined());
  expect_close(only_g.dgates, c.dgates, 1e-13, "d gates alone");
}

// Gate logits (0, ln 2, 0): pi = (1/4, 1/2, 1/4). Expert logits (0, ln 3): e = (1/2, 3/4).
// p = 1/4 * 1/2 + 1/2 * 3/4 = 1/2. With dp = 2:
//   d gates = 2 * (1/4 (1/2 - 1/2), 1/2 (3/4 - 1/2), 1/4 (0 - 1/2)) = (0, 1/4, -1/4)
//   d experts = 2 * (1/4 * 1/2 * 1/2, 1/2 * 3/4 * 1/4) = (1/8, 3/16)
TEST(GatedMoe, HandComputedRow) {
  for (DType dt : {DType::f64, DType::f32}) {
    const double tol = dt == DType::f64 ? 1e-15 : 1e-7;
    const Tensor g = Tensor::from_vector<double>({0.0, std::log(2.0), 0.0}, {1, 3}).to(dt);
    const Tensor e = Tensor::from_vector<double>({0.0, std::log(3.0)}, {1, 2}).to(dt);
    const MoeResult r = run_moe(ops::gated_moe, g, e, 2, Tensor::full({1, 1}, 2.0, dt));
    EXPECT_NEAR(r.p.to_vector<double>()[0], 0.5, tol);
    const auto dg = r.dgates.to(DType::f64).to_vector<double>();
    const auto de = r.dexperts.to(DType::f64).to_vector<double>();
    EXPECT_NEAR(dg[0], 0.0, tol);
    EXPECT_NEAR(dg[1], 0.25, tol);
    EXPECT_NEAR(dg[2], -0.25, tol);
    EXPECT_NEAR(de[0], 1.0 / 8, tol);
    EXPECT_NEAR(de[1], 3.0 / 16, tol);
  }
}

// The class-major layout against a plain loop written from SPEC §2.3.
TEST(GatedMoe, ClassMajorLayout) {
  const int64_t b = 2, v = 5, m = 3;
  const MoeInputs in(b, v, m, 21);
  const auto g = in.gates.to_vector<double>(), e = in.experts.to_vector<double>();
  const auto p = ops::gated_moe(in.gates, in.experts, m).to_vector<double>();
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t c = 0; c < v; ++c) {
      const double* gr = &g[static_cast<size_t>(i * v * (m + 1) + c * (m + 1))];
      const double* er = &e[static_cast<size_t>(i * v * m + c * m)];
      double den = 0, num = 0;
      for (int64_t j = 0; j <= m; ++j) den += std::exp(gr[j]);
      for (int64_t j = 0; j < m; ++j) num += std::exp(gr[j]) / (1 + std::exp(-er[j]));
      EXPECT_NEAR(p[static_cast<size_t>(i * v + c)], num / den, 1e-14) << "b=" << i << " c=" << c;
    }
  }
}

// Saturated and large logits: probabilities stay finite and in [0, 1], gradients finite.
TEST(GatedMoe, ProbabilitiesInUnitInterval) {
  for (double range : {20.0, 200.0}) {
    for (DType dt : {DType::f32, DType::f64}) {
      const MoeInputs in = MoeInputs(8, 3862, 2, 51, range).to(dt);
      const MoeResult r = run_moe(ops::gated_moe, in.gates, in.experts, 2, in.dp);
      for (double p : r.p.to(DType::f64).to_vector<double>()) {
        ASSERT_TRUE(p >= 0.0 && p <= 1.0) << p << " at range " << range;
      }
      for (const Tensor& t : {r.dgates, r.dexperts})
        for (double x : t.to(DType::f64).to_vector<double>()) ASSERT_TRUE(std::isfinite(x));
    }
  }
}

TEST(GatedMoe, ZeroRows) {
  const MoeInputs in(0, 3862, 2, 61);
  const MoeResult r = run_moe(ops::gated_moe, in.gates, in.experts, 2, in.dp);
  EXPECT_EQ(r.p.shape(), (Shape{0, 3862}));
  EXPECT_EQ(r.dgates.shape(), in.gates.shape());
  EXPECT_EQ(r.dexperts.shape(), in.experts.shape());
}

// The error must name the op; `what` says which bad input this is.
void expect_error(const std::function<void()>& f, const std::string& what) {
  SCOPED_TRACE(what);
  testing::expect_error(f, {"gated_moe"});
}

TEST(GatedMoe, ShapeErrorsNameTheOp) {
  const Tensor g = Tensor::zeros({4, 3 * 3}, DType::f64);  // V = 3, M = 2
  const Tensor e = Tensor::zeros({4, 3 * 2}, DType::f64);
  for (MoeFn f : {ops::gated_moe, ops::gated_moe_composite}) {
    EXPECT_NO_THROW(f(g, e, 2));
    expect_error([&] { f(Tensor::zeros({4, 8}, DType::f64), e, 2); }, "gates not V*(M+1) wide");
    expect_error([&] { f(Tensor::zeros({4, 6}, DType::f64), e, 2); }, "gates V*M wide");
    expect_error([&] { f(g, Tensor::zeros({4, 7}, DType::f64), 2); }, "experts not V*M wide");
    expect_error([&] { f(g, Tensor::zeros({5, 6}, DType::f64), 2); }, "batch mismatch");
    expect_error([&] { f(g, e, 0); }, "M = 0");
    expect_error([&] { f(g, e, -1); }, "M = -1");
    expect_error([&] { f(g, e, 1); }, "M = 1 with gates 3 per class");
    expect_error([&] { f(Tensor::zeros({36}, DType::f64), e, 2); }, "1-D gates");
    expect_error([&] { f(g, Tensor::zeros({4, 3, 2}, DType::f64), 2); }, "3-D experts");
    expect_error([&] { f(g, e.to(DType::f32), 2); }, "dtype mismatch");
    expect_error([&] { f(ints({0, 0, 0}, {1, 3}), ints({0, 0}, {1, 2}), 2); }, "integer inputs");
  }
}

// CUDA against the CPU (f32): forward, both gradients, one gradient alone, every M path, and
// run-to-run bit equality (no atomics).
TEST(GatedMoe, CudaMatchesCpu) {
  Y8M_REQUIRE_CUDA();
  const Device gpu = Device::cuda(0);
  for (int64_t m : {1, 2, 3, 4, 5}) {
    for (const auto& [b, v] : {std::pair<int64_t, int64_t>{160, 3862}, {1, 33}, {0, 3862}}) {
      const MoeInputs in = MoeInputs(b, v, m, 200 + static_cast<uint64_t>(m)).to(DType::f32);
      const std::string what =
          "B=" + std::to_string(b) + " V=" + std::to_string(v) + " M=" + std::to_string(m);
      const MoeResult cpu = run_moe(ops::gated_moe, in.gates, in.experts, m, in.dp);
      const MoeResult g1 = run_moe(ops::gated_moe, in.gates, in.experts, m, in.dp, gpu);
      expect_close(g1.p, cpu.p, 1e-5, what + " forward");
      expect_close(g1.dgates, cpu.dgates, 1e-5, what + " d gates");
      expect_close(g1.dexperts, cpu.dexperts, 1e-5, what + " d experts");
      const MoeResult g2 = run_moe(ops::gated_moe, in.gates, in.experts, m, in.dp, gpu);
      EXPECT_EQ(compare(g2.p.to(Device::cpu()), g1.p.to(Device::cpu()), 0, 0), "") << what;
      EXPECT_EQ(compare(g2.dgates.to(Device::cpu()), g1.dgates.to(Device::cpu()), 0, 0), "")
          << what;
      const MoeResult comp = run_moe(ops::gated_moe_composite, in.gates, in.experts, m, in.dp, gpu);
      expect_close(g1.p, comp.p, 1e-5, what + " forward vs composite");
      expect_close(g1.dgates, comp.dgates, 1e-5, what + " d gates vs composite");
      const MoeResult only_e = run_moe(ops::gated_moe, in.gates, in.experts, m, in.dp, gpu, false);
      EXPECT_FALSE(only_e.dgates.defined());
      expect_close(only_e.dexperts, cpu.dexperts, 1e-5, what + " d experts alone");
    }
  }
}

}  // namespace
}  // namespace y8m::testing
