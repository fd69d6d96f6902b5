// Module / Parameter tree. A module owns named parameters (trainable leaves), named buffers (state
// such as BN moving statistics, saved but not trained) and named submodules. Names are hierarchical
// with
// '/' separators and stable across runs ("video_VLAD/cluster_weights"), so checkpoints and archives
// map tensors by name. Order is registration order.
#pragma once
#include "autograd/autograd_layer.h"

#include "autograd/variable.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace y8m::autograd {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;

  NamedTensors named_parameters() const;  // recursive, "child/name"
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const {
    return children_;
  }
  int64_t num_parameter_elements() const;

  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Moves every parameter and buffer to `device` (parameters stay leaves that require grad).
  void to(Device device);
  void zero_grad();
  // Replaces the value of the parameter or buffer `name` (a hierarchical name) with a copy of
  // `value`.
  void load_tensor(const std::string& name, const Tensor& value);

 protected:
  // Registers a leaf and marks it as requiring grad; returns a handle to the stored tensor.
  Tensor register_parameter(const std::string& name, Tensor value);
  Tensor register_buffer(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    check_name(name);
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void check_name(const std::string& name) const;
  void collect(const std::string& prefix, bool params, NamedTensors& out) const;
  Tensor* find(const std::string& name, bool* is_param);

  NamedTensors params_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace y8m::autograd
