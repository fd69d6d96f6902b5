// Targeted tests of the fused vlad op (ops/fused/vlad.h): fused CPU against the composite oracle
// (forward and every gradient, f64 and f32), LightVLAD, the 1e-12 clamps (all-zero input, one
// clamped cluster), needs_input_grad, the no-grad path, error messages, and fused CUDA against
// fused CPU (skipped without a GPU).
#include "ops/fused/vlad.h"
#include "tests/common/test_util.h"
#include "tests/ops/op_harness.h"

#include "autograd/variable.h"
#include "engine/device.h"
#include "engine/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

namespace y8m::testing {
namespace {

using VladFn = std::function<Tensor(const Tensor&, const Tensor&, const Tensor&, int64_t)>;

struct Inputs {
  Tensor logits, z, centers;  // f64 CPU; centers undefined for LightVLAD
  int64_t b = 1;
};

Inputs make_inputs(int64_t b, int64_t s, int64_t f, int64_t k, bool centers, uint64_t seed) {
  Inputs in;
  in.logits = uniform({b * s, k}, seed, -2.0, 2.0);
  in.z = uniform({b * s, f}, seed + 1);
  if (centers) in.centers = uniform({f, k}, seed + 2, -0.1, 0.1);
  in.b = b;
  return in;
}

// Output and gradients of one run (gradients undefined where not asked for).
struct VladRun {
  Tensor out, dlogits, dz, dcenters;
};

// Runs fn on copies of `in` (dtype, device) with the chosen inputs requiring grad, then backward
// with upstream gradient `dout` (f64 CPU; converted).
VladRun run(const VladFn& fn, const Inputs& in, DType dt, Device dev, const Tensor& dout,
            bool grad_logits = true, bool grad_z = true, bool grad_centers = true) {
  auto prep = [&](const Tensor& t, bool g) {
    if (!t.defined()) return Tensor();
    Tensor x = t.to(dt).to(dev);
    if (x.same(t)) x = x.clone();
    if (g) autograd::set_requires_grad(x, true);
    return x;
  };
  const Tensor l = prep(in.logits, grad_logits), z = prep(in.z, grad_z),
               c = prep(in.centers, grad_centers);
  VladRun r;
  r.out = fn(l, z, c, in.b);
  if (grad_logits || grad_z || (grad_centers && c.defined())) {
    autograd::backward(r.out, dout.to(dt).to(dev));
    if (grad_logits) r.dlogits = autograd::grad(l);
    if (grad_z) r.dz = autograd::grad(z);
    if (grad_centers && c.defined()) r.dcenters = autograd::grad(c);
  }
  return r;
}

void expect_close(const Tensor& got, const Tensor& want, double atol, double rtol,
                  const std::string& what) {
  ASSERT_EQ(got.defined(), want.defined()) << what;
  if (!got.defined()) return;
  const std::string msg = compare(got, want, atol, rtol);
  EXPECT_TRUE(msg.empty()) << what << ": " << msg;
}

void expect_runs_match(const VladRun& got, const VladRun& want, double atol, double rtol,
                       const std::string& label) {
  expect_close(got.out, want.out, atol, rtol, label + " forward");
  expect_close(got.dlogits, want.dlogits, atol, rtol, label + " dlogits");
  expect_close(got.dz, want.dz, atol, rtol, label + " dz");
  expect_close(got.dcenters, want.dcenters, atol, rtol, label + " dcenters");
}

Tensor upstream(const Inputs& in, uint64_t seed) {
  return uniform({in.b, in.z.size(1) * in.logits.size(1)}, seed);
}

// Fused CPU vs composite on one input set, f64 (tight) and f32 (reduction tolerance).
void check_fused_vs_composite(const Inputs& in, const std::string& label) {
  const Tensor dout = upstream(in, 77);
  const VladRun want = run(ops::vlad_composite, in, DType::f64, Device::cpu(), dout);
  const VladRun got = run(ops::vlad, in, DType::f64, Device::cpu(), dout);
  expect_runs_match(got, want, 1e-12, 1e-10, label + " f64");
  const VladRun want32 = run(ops::vlad_composite, in, DType::f32, Device::cpu(), dout);
  const VladRun got32 = run(ops::vlad, in, DType::f32, Device::cpu(), dout);
  expect_runs_match(got32, want32, 1e-5, 1e-4, label + " f32");
}

TEST(Vlad, FusedMatchesCompositeWithCenters) {
  check_fused_vs_composite(make_inputs(2, 3, 4, 3, true, 1), "B=2 S=3 F=4 K=3");
  check_fused_vs_composite(make_inputs(1, 7, 33, 5, true, 2), "B=1 S=7 F=33 K=5");
  check_fused_vs_composite(make_inputs(3, 40, 128, 70, true, 3), "B=3 S=40 F=128 K=70");
  check_fused_vs_composite(make_inputs(2, 300, 64, 8, true, 4), "B=2 S=300 F=64 K=8");
}

TEST(Vlad, FusedMatchesCompositeLightVlad) {
  check_fused_vs_composite(make_inputs(2, 3, 4, 3, false, 11), "LightVLAD B=2 S=3 F=4 K=3");
  check_fused_vs_composite(make_inputs(3, 40, 128, 70, false, 12), "LightVLAD B=3 F=128 K=70");
}

// Videos without frames (S = 0): empty GEMMs, a zero aggregate, both norms clamped.
TEST(Vlad, NoFramesMatchesComposite) {
  check_fused_vs_composite(make_inputs(2, 0, 4, 3, true, 25), "S=0");
  check_fused_vs_composite(make_inputs(2, 0, 4, 3, false, 26), "S=0 LightVLAD");
}

TEST(Vlad, OneClusterMatchesCompositeSingleFrame) {
  check_fused_vs_composite(make_inputs(2, 1, 6, 1, true, 21), "K=1 S=1");
}

// z = 0 and no centers: every aggregate is zero, both normalizations clamp. The output is zero; the
// clamped norms are the constant sqrt(1e-12), so dagg = dout * 1e6 * 1e6 and, with logits 0 (A =
// 1/K), dz[b, s, f] = 1e12 / K * sum_k dout[b, f*K + k]; dlogits = 0 (z = 0).
TEST(Vlad, AllZeroInputClampsBothNorms) {
  const int64_t b = 2, s = 3, f = 4, k = 3;
  Inputs in;
  in.logits = Tensor::zeros({b * s, k}, DType::f64);
  in.z = Tensor::zeros({b * s, f}, DType::f64);
  in.b = b;
  const Tensor dout = upstream(in, 5);
  for (DType dt : {DType::f64, DType::f32}) {
    const VladRun got = run(ops::vlad, in, dt, Device::cpu(), dout);
    const VladRun want = run(ops::vlad_composite, in, dt, Device::cpu(), dout);
    for (double v : got.out.to_vector<double>()) EXPECT_EQ(v, 0.0);
    for (double v : got.dlogits.to_vector<double>()) EXPECT_EQ(v, 0.0);
    const auto g = dout.to_vector<double>(), dz = got.dz.to_vector<double>();
    for (int64_t r = 0; r < b * s; ++r)
      for (int64_t j = 0; j < f; ++j) {
        double sum = 0;
        for (int64_t c = 0; c < k; ++c) sum += g[static_cast<size_t>((r / s) * f * k + j * k + c)];
        const double ref = 1e12 / static_cast<double>(k) * sum;
        EXPECT_NEAR(dz[static_cast<size_t>(r * f + j)], ref, 1e-5 * std::fabs(ref) + 1e-3)
            << "dz element " << r << ", " << j;
      }
    expect_runs_match(got, want, 1e-12, dt == DType::f64 ? 1e-10 : 1e-5, "all-zero");
  }
  // With zero centers: the residual is zero too, and dC = -sum_b asum * dagg is finite.
  in.centers = Tensor::zeros({f, k}, DType::f64);
  const VladRun got = run(ops::vlad, in, DType::f64, Device::cpu(), dout);
  const VladRun want = run(ops::vlad_composite, in, DType::f64, Device::cpu(), dout);
  expect_runs_match(got, want, 1e-12, 1e-10, "all-zero with zero centers");
}

// One frame per video and centers[:, 0] = that frame: cluster 0's residual is exactly zero
// (A*z - A*C with one term), so its intra norm clamps while the other clusters' do not; the global
// norm is then sqrt(K - 1), not sqrt(K).
TEST(Vlad, OneClampedClusterMatchesComposite) {
  const int64_t f = 5, k = 3;
  Inputs in = make_inputs(1, 1, f, k, true, 31);
  double* c = in.centers.data<double>();
  const double* z = in.z.data<double>();
  for (int64_t j = 0; j < f; ++j) c[j * k] = z[j];
  const Tensor dout = upstream(in, 6);
  const VladRun got = run(ops::vlad, in, DType::f64, Device::cpu(), dout);
  const VladRun want = run(ops::vlad_composite, in, DType::f64, Device::cpu(), dout);
  const auto out = got.out.to_vector<double>();
  double ssq = 0;
  for (int64_t j = 0; j < f; ++j) {
    EXPECT_EQ(out[static_cast<size_t>(j * k)], 0.0);
    for (int64_t q = 0; q < k; ++q)
      ssq += out[static_cast<size_t>(j * k + q)] * out[static_cast<size_t>(j * k + q)];
  }
  EXPECT_NEAR(ssq, 1.0, 1e-12);
  expect_runs_match(got, want, 1e-9, 1e-10, "one clamped cluster");
}

TEST(Vlad, GradientsOnlyWhereRequested) {
  const Inputs in = make_inputs(2, 5, 6, 4, true, 41);
  const Tensor dout = upstream(in, 7);
  const VladRun all = run(ops::vlad_composite, in, DType::f64, Device::cpu(), dout);
  for (int mask = 1; mask < 8; ++mask) {
    const bool gl = mask & 1, gz = mask & 2, gc = mask & 4;
    const VladRun got = run(ops::vlad, in, DType::f64, Device::cpu(), dout, gl, gz, gc);
    const std::string label = "mask " + std::to_string(mask);
    EXPECT_EQ(got.dlogits.defined(), gl) << label;
    EXPECT_EQ(got.dz.defined(), gz) << label;
    EXPECT_EQ(got.dcenters.defined(), gc) << label;
    if (gl) expect_close(got.dlogits, all.dlogits, 1e-12, 1e-10, label + " dlogits");
    if (gz) expect_close(got.dz, all.dz, 1e-12, 1e-10, label + " dz");
    if (gc) expect_close(got.dcenters, all.dcenters, 1e-12, 1e-10, label + " dcenters");
  }
}

TEST(Vlad, NoGradPathMatchesGradPath) {
  const Inputs in = make_inputs(2, 9, 16, 5, true, 51);
  Tensor plain;
  {
    autograd::NoGradGuard ng;
    plain = ops::vlad(in.logits, in.z, in.centers, in.b);
  }
  const VladRun with_grad = run(ops::vlad, in, DType::f64, Device::cpu(), upstream(in, 8));
  expect_close(plain, with_grad.out, 0, 0, "no-grad output");
  EXPECT_EQ(plain.shape(), (Shape{2, 16 * 5}));
}

// A call must throw a y8m::Error whose message names the op.
void expect_vlad_error(const std::function<void()>& f, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << what << ": no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vlad"), std::string::npos) << what << ": " << e.what();
  }
}

TEST(Vlad, ShapeErrorsNameTheOp) {
  const Inputs in = make_inputs(2, 3, 4, 3, true, 61);
  for (const VladFn& fn : {VladFn(ops::vlad), VladFn(ops::vlad_composite)}) {
    expect_vlad_error([&] { fn(in.logits, in.z, in.centers, 4); }, "rows not divisible by batch");
    expect_vlad_error([&] { fn(in.logits, in.z, in.centers, 0); }, "batch 0");
    expect_vlad_error([&] { fn(in.logits, in.z, uniform({5, 3}, 1), 2); }, "centers F mismatch");
    expect_vlad_error([&] { fn(in.logits, in.z, uniform({4, 2}, 1), 2); }, "centers K mismatch");
    expect_vlad_error([&] { fn(in.logits, uniform({5, 4}, 1), in.centers, 1); }, "row mismatch");
    expect_vlad_error([&] { fn(in.logits.reshape({18}), in.z, in.centers, 2); }, "1-D logits");
    expect_vlad_error([&] { fn(in.logits, in.z.to(DType::f32), in.centers, 2); }, "dtype mismatch");
    expect_vlad_error([&] { fn(in.logits, in.z.to(DType::i32), Tensor(), 2); }, "integer z");
  }
}

TEST(Vlad, CudaMatchesCpu) {
  Y8M_REQUIRE_CUDA();
  struct Case {
    Inputs in;
    std::string label;
  };
  std::vector<Case> cases = {
      {make_inputs(2, 300, 1024, 64, true, 71), "B=2 S=300 F=1024 K=64"},
      {make_inputs(3, 300, 128, 33, false, 72), "LightVLAD B=3 S=300 F=128 K=33"},
      {make_inputs(1, 5, 7, 3, true, 73), "B=1 S=5 F=7 K=3"},
      {make_inputs(4, 20, 64, 1, true, 74), "K=1"},
      // More than one 32-cluster tile, B = 5 (not a multiple of the block's videos).
      {make_inputs(5, 300, 128, 64, true, 75), "B=5 S=300 F=128 K=64"},
      {make_inputs(5, 300, 1024, 256, true, 76), "B=5 S=300 F=1024 K=256"},
      {make_inputs(5, 30, 1152, 256, false, 77), "LightVLAD B=5 S=30 F=1152 K=256"},
  };
  Inputs zero;
  zero.logits = Tensor::zeros({6, 3}, DType::f64);
  zero.z = Tensor::zeros({6, 4}, DType::f64);
  zero.b = 2;
  cases.push_back({zero, "all-zero LightVLAD"});
  for (const Case& c : cases) {
    const Tensor dout = upstream(c.in, 9);
    const VladRun cpu = run(ops::vlad, c.in, DType::f32, Device::cpu(), dout);
    const VladRun gpu = run(ops::vlad, c.in, DType::f32, Device::cuda(0), dout);
    expect_runs_match(gpu, cpu, 2e-5, 1e-4, c.label);
    // Deterministic: a second CUDA run is bit-identical.
    const VladRun again = run(ops::vlad, c.in, DType::f32, Device::cuda(0), dout);
    expect_runs_match(again, gpu, 0, 0, c.label + " rerun");
  }
}

}  // namespace
}  // namespace y8m::testing
