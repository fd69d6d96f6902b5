// Runs every OpSpec (tests/ops/op_harness.h): gradcheck, f32-vs-f64, CUDA-vs-CPU, and list
// coverage.
#include "tests/ops/op_harness.h"
#include "tests/common/test_util.h"

#include "autograd/gradcheck.h"
#include "engine/rng.h"
#include "ops/op_list.h"

#include <gtest/gtest.h>

#include <set>

namespace y8m::testing {
namespace {

const ops::OpInfo* info(const std::string& name) {
  for (const auto& i : ops::kOpList)
    if (name == i.name) return &i;
  return nullptr;
}

std::vector<int> grad_inputs(const OpCase& c) {
  if (!c.grad_inputs.empty()) return c.grad_inputs;
  std::vector<int> v;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (c.inputs[i].defined() && engine::is_floating(c.inputs[i].dtype()))
      v.push_back(static_cast<int>(i));
  return v;
}

// Copies the case's inputs to `dtype` (floating ones) on `device`; marks gradient inputs.
std::vector<Tensor> prepare(const OpCase& c, DType dtype, Device device, bool with_grad) {
  std::vector<Tensor> in;
  for (const Tensor& t : c.inputs) {
    if (!t.defined()) {
      in.push_back(t);
      continue;
    }
    Tensor x = engine::is_floating(t.dtype()) ? t.to(dtype) : t.clone();
    x = x.to(device);
    if (x.same(t)) x = x.clone();
    in.push_back(x);
  }
  if (with_grad)
    for (int i : grad_inputs(c)) autograd::set_requires_grad(in[static_cast<size_t>(i)], true);
  return in;
}

class OpSpecTest : public ::testing::TestWithParam<std::string> {
 protected:
  const OpSpec& spec() {
    static const std::vector<OpSpec> specs = all_specs();
    for (const auto& s : specs)
      if (s.op == GetParam()) return s;
    throw std::runtime_error("no spec for " + GetParam());
  }
};

TEST_P(OpSpecTest, Gradcheck) {
  const OpSpec& s = spec();
  const ops::OpInfo* oi = info(s.op);
  ASSERT_NE(oi, nullptr) << s.op << " is not in ops/op_list.h";
  if (!oi->differentiable) GTEST_SKIP() << s.op << " is not differentiable";
  const auto cases = s.grad_cases();
  ASSERT_FALSE(cases.empty()) << s.op << ": a differentiable op needs gradcheck cases";
  for (const OpCase& c : cases) {
    std::vector<Tensor> in = prepare(c, DType::f64, Device::cpu(), true);
    autograd::GradcheckOptions opts;
    opts.atol = s.grad_atol;
    opts.rtol = s.grad_rtol;
    const auto r = autograd::gradcheck(s.run, in, opts);
    EXPECT_TRUE(r.ok) << s.op << " " << c.label << ": " << r.message;
    EXPECT_GT(r.checked, 0) << s.op << " " << c.label << ": nothing was compared";
  }
}

// The f32 CPU kernels against the f64 CPU kernels, at the parity (real-size) shapes.
TEST_P(OpSpecTest, CpuF32MatchesF64) {
  const OpSpec& s = spec();
  for (const OpCase& c : s.parity_cases()) {
    autograd::NoGradGuard ng;
    Tensor want = s.run(prepare(c, DType::f64, Device::cpu(), false));
    Tensor got = s.run(prepare(c, DType::f32, Device::cpu(), false));
    const std::string msg = compare(got, want, s.f32_vs_f64_atol, s.f32_vs_f64_rtol);
    EXPECT_TRUE(msg.empty()) << s.op << " " << c.label << ": " << msg;
  }
}

TEST_P(OpSpecTest, CudaMatchesCpu) {
  const OpSpec& s = spec();
  const ops::OpInfo* oi = info(s.op);
  ASSERT_NE(oi, nullptr);
  if (!oi->has_cuda) GTEST_SKIP() << s.op << " has no CUDA kernel";
  Y8M_REQUIRE_CUDA();
  for (const OpCase& c : s.parity_cases()) {
    const bool grads = oi->differentiable && !grad_inputs(c).empty();
    std::vector<Tensor> in_cpu = prepare(c, DType::f32, Device::cpu(), grads);
    std::vector<Tensor> in_gpu = prepare(c, DType::f32, Device::cuda(0), grads);
    Tensor y_cpu = s.run(in_cpu);
    Tensor y_gpu = s.run(in_gpu);
    std::string msg = compare(y_gpu, y_cpu, s.atol, s.rtol);
    EXPECT_TRUE(msg.empty()) << s.op << " " << c.label << " forward: " << msg;
    if (!grads) continue;
    // Same random upstream gradient on both devices.
    Tensor dy = Tensor::empty(y_cpu.shape(), DType::f32);
    engine::fill_uniform(dy, 1234, 0, -1.0, 1.0);
    autograd::backward(y_cpu, dy);
    autograd::backward(y_gpu, dy.to(Device::cuda(0)));
    for (int i : grad_inputs(c)) {
      msg = compare(autograd::grad(in_gpu[static_cast<size_t>(i)]),
                    autograd::grad(in_cpu[static_cast<size_t>(i)]), s.atol, s.rtol);
      EXPECT_TRUE(msg.empty()) << s.op << " " << c.label << " gradient of input " << i << ": "
                               << msg;
    }
  }
}

std::vector<std::string> spec_names() {
  std::vector<std::string> v;
  for (const auto& s : all_specs()) v.push_back(s.op);
  return v;
}

INSTANTIATE_TEST_SUITE_P(Ops, OpSpecTest, ::testing::ValuesIn(spec_names()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST(OpList, EveryListedOpHasASpec) {
  std::set<std::string> have;
  for (const auto& s : all_specs()) {
    EXPECT_TRUE(have.insert(s.op).second) << "two specs for " << s.op;
    EXPECT_NE(info(s.op), nullptr) << "spec for " << s.op << ", which is not in ops/op_list.h";
  }
  for (const auto& oi : ops::kOpList)
    EXPECT_TRUE(have.count(oi.name)) << "op " << oi.name << " has no test spec";
}

}  // namespace
}  // namespace y8m::testing
