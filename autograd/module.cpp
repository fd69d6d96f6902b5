#include "autograd/module.h"

namespace y8m::autograd {

void Module::check_name(const std::string& name) const {
  Y8M_CHECK(!name.empty() && name.find('/') == std::string::npos,
            "module: bad name '{}' (non-empty, no '/')", name);
  auto taken = [&](const auto& list) {
    for (const auto& kv : list)
      if (kv.first == name) return true;
    return false;
  };
  Y8M_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_),
            "module: name '{}' registered twice", name);
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  check_name(name);
  set_requires_grad(value, true);
  params_.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_name(name);
  buffers_.emplace_back(name, value);
  return value;
}

void Module::collect(const std::string& prefix, bool params, NamedTensors& out) const {
  for (const auto& kv : params ? params_ : buffers_) out.emplace_back(prefix + kv.first, kv.second);
  for (const auto& kv : children_) kv.second->collect(prefix + kv.first + "/", params, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& kv : named_parameters()) out.push_back(kv.second);
  return out;
}

int64_t Module::num_parameter_elements() const {
  int64_t n = 0;
  for (auto& kv : named_parameters()) n += kv.second.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& kv : children_) kv.second->train(on);
}

// Tensors are handles: replacing the storage in place keeps every handle that models hold valid.
void Module::to(Device device) {
  for (auto* list : {&params_, &buffers_}) {
    for (auto& kv : *list) {
      if (kv.second.device() == device) continue;
      Tensor moved = kv.second.to(device);
      kv.second.impl_ptr()->storage = moved.impl_ptr()->storage;
      kv.second.impl_ptr()->offset = moved.impl_ptr()->offset;
      autograd::zero_grad(kv.second);
    }
  }
  for (auto& kv : children_) kv.second->to(device);
}

void Module::zero_grad() {
  for (auto& kv : named_parameters()) autograd::zero_grad(kv.second);
}

Tensor* Module::find(const std::string& name, bool* is_param) {
  const size_t slash = name.find('/');
  if (slash != std::string::npos) {
    const std::string head = name.substr(0, slash);
    for (auto& kv : children_)
      if (kv.first == head) return kv.second->find(name.substr(slash + 1), is_param);
    return nullptr;
  }
  for (auto& kv : params_)
    if (kv.first == name) {
      *is_param = true;
      return &kv.second;
    }
  for (auto& kv : buffers_)
    if (kv.first == name) {
      *is_param = false;
      return &kv.second;
    }
  return nullptr;
}

void Module::load_tensor(const std::string& name, const Tensor& value) {
  bool is_param = false;
  Tensor* t = find(name, &is_param);
  Y8M_CHECK(t != nullptr, "module: no parameter or buffer named '{}'", name);
  Y8M_CHECK(t->shape() == value.shape() && t->dtype() == value.dtype(),
            "module: '{}' is {}, cannot load {}", name, t->str(), value.str());
  t->copy_from(value.device() == t->device() ? value : value.to(t->device()));
}

}  // namespace y8m::autograd
