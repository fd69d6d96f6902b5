// The executor's table from op name to the public op function (ops/graph/op_table.cpp); what each
// op reads (inputs, attributes with types) is its schema (ops/graph/op_schema.h). Internal to
// ops/graph.
#pragma once
#include "ops/ops_layer.h"

#include "engine/rng.h"
#include "engine/tensor.h"
#include "ops/graph/graph.h"
#include "ops/graph/op_schema.h"

#include <string>
#include <utility>
#include <vector>

namespace y8m::ops::graph {

// What a handler sees: the node, its inputs on the device (undefined for an absent optional input),
// host copies of inputs on request, the device and the sampling generator.
class OpArgs {
 public:
  OpArgs(const Node& node, const std::vector<Tensor>& in, const std::vector<Tensor>& host_in,
         Device device, engine::Generator& gen)
      : node_(node), in_(in), host_in_(host_in), device_(device), gen_(gen) {}

  const Tensor& in(size_t i) const { return in_[i]; }
  const std::vector<Tensor>& inputs() const { return in_; }
  // Input i on the host (the caller's host tensor when the graph input came from the host).
  Tensor host(size_t i) const {
    return host_in_[i].defined() ? host_in_[i] : in_[i].to(Device::cpu());
  }
  // Whether input i has a host copy already (a host graph input or an integer initializer).
  bool has_host(size_t i) const { return host_in_[i].defined(); }
  Device device() const { return device_; }
  engine::Generator& gen() const { return gen_; }

  int64_t i(const char* k) const { return node_.attrs.at(k).i(); }
  double f(const char* k) const { return node_.attrs.at(k).f(); }
  bool b(const char* k) const { return node_.attrs.at(k).b(); }
  const std::string& s(const char* k) const { return node_.attrs.at(k).s(); }
  const std::vector<int64_t>& ints(const char* k) const { return node_.attrs.at(k).ints(); }

 private:
  const Node& node_;
  const std::vector<Tensor>& in_;
  const std::vector<Tensor>& host_in_;
  Device device_;
  engine::Generator& gen_;
};

// An op's schema (from ops/op_list.h) and how it runs.
struct OpDef {
  const OpSchema* schema;
  std::vector<Tensor> (*run)(const OpArgs&);
  // Extra attribute checks (valid enum names, ...); throws naming the problem. May be null.
  void (*check)(const Node& node, size_t index) = nullptr;
};

// One entry per op of ops/op_list.h, in list order; an op without a run function is an internal
// error on first use (tests/graph).
const std::vector<OpDef>& op_table();
// Index into op_table(), or -1.
int64_t find_op(const std::string& name);

}  // namespace y8m::ops::graph
