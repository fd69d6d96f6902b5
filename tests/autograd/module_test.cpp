// Module tree: hierarchical names, registration order, name errors, buffers, train/eval, loading
// tensors by name, element counts, zero_grad and moving to a device.
#include "autograd/module.h"
#include "autograd/variable.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace y8m::autograd {
namespace {

using testing::error_of;

std::vector<std::string> names(const NamedTensors& nt) {
  std::vector<std::string> out;
  for (const auto& kv : nt) out.push_back(kv.first);
  return out;
}

class Inner : public Module {
 public:
  Inner() {
    w = register_parameter("w", Tensor::ones({2, 3}));
    b = register_parameter("b", Tensor::zeros({3}));
    moving_mean = register_buffer("moving_mean", Tensor::zeros({3}));
  }
  Tensor w, b, moving_mean;
};

class Outer : public Module {
 public:
  Outer() {
    scale = register_parameter("scale", Tensor::full({1}, 2.0));
    inner = register_module("inner", std::make_shared<Inner>());
    head = register_module("head", std::make_shared<Inner>());
    bias = register_parameter("bias", Tensor::zeros({4}));
    step = register_buffer("step", Tensor::zeros({}, DType::i64));
  }
  Tensor scale, bias, step;
  std::shared_ptr<Inner> inner, head;
};

// Registers whatever a test asks for, to exercise the name checks.
class Open : public Module {
 public:
  Tensor param(const std::string& n, Tensor t) { return register_parameter(n, std::move(t)); }
  Tensor buffer(const std::string& n, Tensor t) { return register_buffer(n, std::move(t)); }
  void child(const std::string& n) { register_module(n, std::make_shared<Inner>()); }
};

class Top : public Module {
 public:
  Top() { outer = register_module("outer", std::make_shared<Outer>()); }
  std::shared_ptr<Outer> outer;
};

TEST(Module, HierarchicalNamesInRegistrationOrder) {
  Outer m;
  // A module's own tensors in registration order, then each child's, recursively in child order.
  EXPECT_EQ(names(m.named_parameters()),
            (std::vector<std::string>{"scale", "bias", "inner/w", "inner/b", "head/w", "head/b"}));
  EXPECT_EQ(names(m.named_buffers()),
            (std::vector<std::string>{"step", "inner/moving_mean", "head/moving_mean"}));
  Top t;
  EXPECT_EQ(names(t.named_parameters())[2], "outer/inner/w");
  EXPECT_EQ(names(t.named_buffers()).back(), "outer/head/moving_mean");
  ASSERT_EQ(m.named_children().size(), 2u);
  EXPECT_EQ(m.named_children()[0].first, "inner");
  EXPECT_EQ(m.named_children()[1].second, m.head);
  // The listed tensors are the modules' own handles.
  EXPECT_TRUE(m.named_parameters()[2].second.same(m.inner->w));
  EXPECT_EQ(m.parameters().size(), 6u);
  EXPECT_TRUE(m.parameters()[0].same(m.scale));
}

TEST(Module, ParametersRequireGradBuffersDoNot) {
  Outer m;
  for (const auto& kv : m.named_parameters()) {
    EXPECT_TRUE(requires_grad(kv.second)) << kv.first;
    EXPECT_TRUE(is_leaf(kv.second)) << kv.first;
  }
  for (const auto& kv : m.named_buffers()) EXPECT_FALSE(requires_grad(kv.second)) << kv.first;
}

TEST(Module, NumParameterElements) {
  Outer m;
  EXPECT_EQ(m.num_parameter_elements(), 1 + 4 + 2 * (6 + 3));
  EXPECT_EQ(Open().num_parameter_elements(), 0);
}

TEST(Module, NameErrors) {
  Open m;
  m.param("w", Tensor::zeros({1}));
  std::string msg = error_of([&] { m.param("w", Tensor::zeros({1})); });
  EXPECT_EQ(msg, "module: name 'w' registered twice");
  EXPECT_EQ(error_of([&] { m.buffer("w", Tensor::zeros({1})); }),
            "module: name 'w' registered twice");
  EXPECT_EQ(error_of([&] { m.child("w"); }), "module: name 'w' registered twice");
  m.child("sub");
  EXPECT_EQ(error_of([&] { m.param("sub", Tensor::zeros({1})); }),
            "module: name 'sub' registered twice");
  msg = error_of([&] { m.param("a/b", Tensor::zeros({1})); });
  EXPECT_NE(msg.find("bad name 'a/b'"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { m.buffer("", Tensor::zeros({1})); }).find("bad name ''"),
            std::string::npos);
  // Integer tensors cannot be trainable parameters (but can be buffers).
  msg = error_of([&] { m.param("ids", Tensor::zeros({2}, DType::i32)); });
  EXPECT_NE(msg.find("only floating tensors"), std::string::npos) << msg;
  EXPECT_NO_THROW(m.buffer("ids", Tensor::zeros({2}, DType::i32)));
  EXPECT_EQ(names(m.named_parameters()), (std::vector<std::string>{"w", "sub/w", "sub/b"}));
}

TEST(Module, TrainAndEvalPropagate) {
  Top t;
  EXPECT_TRUE(t.is_training());
  EXPECT_TRUE(t.outer->inner->is_training());
  t.eval();
  EXPECT_FALSE(t.is_training());
  EXPECT_FALSE(t.outer->is_training());
  EXPECT_FALSE(t.outer->inner->is_training());
  EXPECT_FALSE(t.outer->head->is_training());
  t.outer->train();  // only the subtree
  EXPECT_FALSE(t.is_training());
  EXPECT_TRUE(t.outer->head->is_training());
  t.train(true);
  EXPECT_TRUE(t.is_training());
}

TEST(Module, LoadTensorByHierarchicalName) {
  Top t;
  Tensor w_before = t.outer->inner->w;
  Tensor view = w_before.reshape({-1});  // a view taken before the load sees the new values
  t.load_tensor("outer/inner/w", Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}));
  EXPECT_TRUE(t.outer->inner->w.same(w_before));
  EXPECT_EQ(view.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(t.outer->head->w.to_vector<float>(),
            std::vector<float>(6, 1.f));  // the other Inner untouched
  EXPECT_TRUE(requires_grad(t.outer->inner->w));
  t.load_tensor("outer/head/moving_mean", Tensor::full({3}, 0.5));
  EXPECT_EQ(t.outer->head->moving_mean.to_vector<float>(), std::vector<float>(3, 0.5f));
  t.load_tensor("outer/step", Tensor::full({}, 42, DType::i64));
  EXPECT_EQ(t.outer->step.item<int64_t>(), 42);
}

TEST(Module, LoadTensorErrors) {
  Top t;
  for (const char* bad : {"outer/inner/zz", "nope/w", "outer/inner", "outer/inner/w/x", "w", ""}) {
    const std::string msg = error_of([&] { t.load_tensor(bad, Tensor::zeros({3})); });
    EXPECT_EQ(msg, std::string("module: no parameter or buffer named '") + bad + "'");
  }
  std::string msg = error_of([&] { t.load_tensor("outer/inner/w", Tensor::zeros({3, 2})); });
  EXPECT_EQ(msg, "module: 'outer/inner/w' is f32[2, 3] on cpu, cannot load f32[3, 2] on cpu");
  msg = error_of([&] { t.load_tensor("outer/inner/b", Tensor::zeros({3}, DType::f64)); });
  EXPECT_NE(msg.find("cannot load f64[3]"), std::string::npos) << msg;
  EXPECT_EQ(t.outer->inner->w.to_vector<float>(), std::vector<float>(6, 1.f));  // unchanged
}

TEST(Module, ZeroGradDropsEveryGradient) {
  Outer m;
  for (const Tensor& p : m.parameters()) set_grad(p, Tensor::ones(p.shape()));
  m.zero_grad();
  for (const auto& kv : m.named_parameters()) EXPECT_FALSE(grad(kv.second).defined()) << kv.first;
}

TEST(Module, ToTheSameDeviceKeepsEverything) {
  Outer m;
  set_grad(m.scale, Tensor::ones({1}));
  void* data = m.scale.data_ptr();
  m.to(Device::cpu());
  EXPECT_EQ(m.scale.data_ptr(), data);
  EXPECT_TRUE(grad(m.scale).defined());
}

TEST(Module, ToCudaMovesStorageUnderTheSameHandles) {
  Y8M_REQUIRE_CUDA();
  Top t;
  Tensor w = t.outer->inner->w;
  set_grad(w, Tensor::ones(w.shape()));
  t.to(Device::cuda(0));
  EXPECT_TRUE(w.device().is_cuda());  // the handle taken before the move
  EXPECT_TRUE(t.outer->step.device().is_cuda());
  EXPECT_TRUE(requires_grad(w));
  EXPECT_FALSE(grad(w).defined());
  EXPECT_EQ(w.to_vector<float>(), std::vector<float>(6, 1.f));
  t.load_tensor("outer/inner/b", Tensor::full({3}, 2.0));  // a host value into a device tensor
  EXPECT_EQ(t.outer->inner->b.to_vector<float>(), std::vector<float>(3, 2.f));
  t.to(Device::cpu());
  EXPECT_TRUE(w.device().is_cpu());
}

}  // namespace
}  // namespace y8m::autograd
