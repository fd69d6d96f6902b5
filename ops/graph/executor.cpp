// The executor (ops/graph/executor.h): validation, value numbering with last uses, and the run
// loop.
#include "ops/graph/executor.h"

#include "autograd/variable.h"
#include "ops/graph/op_table.h"

#include <fmt/ranges.h>

#include <set>
#include <unordered_map>

namespace y8m::ops::graph {

namespace {

std::string node_label(const Graph& g, size_t i) {
  return fmt::format("node {} ({})", i, g.nodes[i].op);
}

}  // namespace

std::vector<std::string> executable_ops() {
  std::vector<std::string> v;
  for (const OpDef& d : op_table()) v.emplace_back(d.schema->name);
  return v;
}

void validate(const Graph& g) {
  std::set<std::string> defined;
  for (const ValueInfo& v : g.inputs) {
    Y8M_CHECK(!v.name.empty(), "graph: a graph input has an empty name");
    Y8M_CHECK(defined.insert(v.name).second, "graph: input '{}' is declared twice", v.name);
    for (int64_t d : v.shape)
      Y8M_CHECK(d >= -1, "graph: input '{}' has a bad dimension in {}", v.name,
                engine::shape_str(v.shape));
  }
  for (const std::string& name : g.initializers) {
    Y8M_CHECK(!name.empty(), "graph: an initializer has an empty name");
    Y8M_CHECK(defined.insert(name).second,
              "graph: initializer '{}' is declared twice or is also a graph input", name);
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const int64_t k = find_op(n.op);
    Y8M_CHECK(k >= 0, "graph: node {} has an unknown op '{}' (known: {})", i, n.op,
              fmt::join(executable_ops(), ", "));
    const OpDef& def = op_table()[static_cast<size_t>(k)];
    check_node(*def.schema, n, "graph: " + node_label(g, i));
    if (def.check) def.check(n, i);
    for (const std::string& in : n.inputs)
      Y8M_CHECK(in.empty() || defined.count(in),
                "graph: {} reads '{}', which is not a graph input, an initializer or an output of "
                "an earlier node",
                node_label(g, i), in);
    for (const std::string& out : n.outputs) {
      Y8M_CHECK(!out.empty(), "graph: {} writes a value with an empty name", node_label(g, i));
      Y8M_CHECK(defined.insert(out).second, "graph: {} writes '{}', which already exists",
                node_label(g, i), out);
    }
  }
  Y8M_CHECK(!g.outputs.empty(), "graph: no outputs");
  for (const std::string& o : g.outputs)
    Y8M_CHECK(defined.count(o), "graph: output '{}' is not a value of the graph", o);
}

Executor::Executor(Graph graph, const NamedTensors& initializers, Device device)
    : graph_(std::move(graph)), device_(device) {
  validate(graph_);
  std::unordered_map<std::string, int64_t> ids;
  auto add = [&](const std::string& name) {
    ids[name] = static_cast<int64_t>(value_names_.size());
    value_names_.push_back(name);
    constants_.emplace_back();
    host_constants_.emplace_back();
    return ids[name];
  };
  for (const ValueInfo& v : graph_.inputs) input_ids_.push_back(add(v.name));
  std::unordered_map<std::string, const Tensor*> given;
  for (const auto& kv : initializers) given[kv.first] = &kv.second;
  for (const std::string& name : graph_.initializers) {
    const auto it = given.find(name);
    Y8M_CHECK(it != given.end() && it->second->defined(),
              "executor: the graph needs the initializer '{}', which was not given", name);
    const int64_t id = add(name);
    // f16 is only a storage format (quantize --transform_type float16): widened once, on device.
    Tensor t = it->second->to(device_);
    if (t.dtype() == DType::f16) t = t.to(DType::f32);
    constants_[static_cast<size_t>(id)] = t;
    const Tensor& given_t = *it->second;
    if (given_t.device().is_cpu() && (t.dtype() == DType::i32 || t.dtype() == DType::i64))
      host_constants_[static_cast<size_t>(id)] = given_t;  // small: lets ops check indices
  }
  std::vector<int64_t> last_use;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const Node& n = graph_.nodes[i];
    Step s;
    s.op = static_cast<size_t>(find_op(n.op));
    for (const std::string& in : n.inputs) s.inputs.push_back(in.empty() ? -1 : ids.at(in));
    for (const std::string& out : n.outputs) s.outputs.push_back(add(out));
    steps_.push_back(std::move(s));
  }
  last_use.assign(value_names_.size(), -1);
  for (size_t i = 0; i < steps_.size(); ++i)
    for (int64_t v : steps_[i].inputs)
      if (v >= 0) last_use[static_cast<size_t>(v)] = static_cast<int64_t>(i);
  for (const std::string& o : graph_.outputs) output_ids_.push_back(ids.at(o));
  // Intermediates (node outputs that are not graph outputs) are released after their last use;
  // never-read ones right after the node that wrote them.
  std::set<int64_t> keep(output_ids_.begin(), output_ids_.end());
  for (size_t i = 0; i < steps_.size(); ++i) {
    for (int64_t v : steps_[i].outputs) {
      if (keep.count(v)) continue;
      const int64_t at =
          std::max<int64_t>(last_use[static_cast<size_t>(v)], static_cast<int64_t>(i));
      steps_[static_cast<size_t>(at)].release.push_back(v);
    }
  }
  for (int64_t v : input_ids_) {
    const int64_t at = last_use[static_cast<size_t>(v)];
    if (at >= 0 && !keep.count(v)) steps_[static_cast<size_t>(at)].release_inputs.push_back(v);
  }
}

std::map<std::string, Tensor> Executor::run(const std::map<std::string, Tensor>& inputs,
                                            engine::Generator& gen, RunStats* stats) const {
  autograd::NoGradGuard ng;  // graphs are inference: never record autograd nodes
  std::vector<Tensor> values = constants_;
  std::vector<Tensor> host = host_constants_;
  // Inputs: all present, nothing extra, dtypes and fixed dimensions as declared, one batch size.
  for (const auto& kv : inputs)
    Y8M_CHECK(graph_.find_input(kv.first) != nullptr,
              "executor: '{}' is not an input of the graph (inputs: {})", kv.first,
              fmt::join(value_names_.begin(),
                        value_names_.begin() + static_cast<int64_t>(input_ids_.size()), ", "));
  int64_t batch = -1;
  std::string batch_from;
  for (size_t k = 0; k < graph_.inputs.size(); ++k) {
    const ValueInfo& vi = graph_.inputs[k];
    const auto it = inputs.find(vi.name);
    Y8M_CHECK(it != inputs.end() && it->second.defined(),
              "executor: missing graph input '{}' ({} {})", vi.name, engine::dtype_name(vi.dtype),
              shape_pattern_str(vi.shape));
    const Tensor& t = it->second;
    bool ok = t.dtype() == vi.dtype && t.dim() == static_cast<int64_t>(vi.shape.size());
    for (size_t d = 0; ok && d < vi.shape.size(); ++d)
      ok = vi.shape[d] < 0 || vi.shape[d] == t.size(static_cast<int64_t>(d));
    Y8M_CHECK(ok, "executor: input '{}' must be {} {} (B: the batch), got {}", vi.name,
              engine::dtype_name(vi.dtype), shape_pattern_str(vi.shape), t.str());
    for (size_t d = 0; d < vi.shape.size(); ++d) {
      if (vi.shape[d] >= 0) continue;
      const int64_t b = t.size(static_cast<int64_t>(d));
      Y8M_CHECK(batch < 0 || batch == b,
                "executor: inputs disagree on the batch size: '{}' has {}, '{}' has {}", batch_from,
                batch, vi.name, b);
      batch = b;
      batch_from = vi.name;
    }
    const size_t id = static_cast<size_t>(input_ids_[k]);
    if (t.device().is_cpu()) host[id] = t;
    values[id] = t.to(device_);
  }

  const std::vector<OpDef>& table = op_table();
  int64_t live = 0, peak = 0;
  std::vector<Tensor> in, host_in;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& s = steps_[i];
    in.clear();
    host_in.clear();
    for (int64_t v : s.inputs) {
      in.push_back(v < 0 ? Tensor() : values[static_cast<size_t>(v)]);
      host_in.push_back(v < 0 ? Tensor() : host[static_cast<size_t>(v)]);
    }
    const OpArgs args(graph_.nodes[i], in, host_in, device_, gen);
    std::vector<Tensor> out = table[s.op].run(args);
    in.clear();  // drop the handles before releasing, so freed values really go
    host_in.clear();
    Y8M_ASSERT(out.size() == s.outputs.size(), "executor: {} returned {} outputs, expected {}",
               graph_.nodes[i].op, out.size(), s.outputs.size());
    for (size_t k = 0; k < out.size(); ++k)
      values[static_cast<size_t>(s.outputs[k])] = std::move(out[k]);
    live += static_cast<int64_t>(out.size());
    peak = std::max(peak, live);
    for (int64_t v : s.release) {
      values[static_cast<size_t>(v)] = Tensor();
      --live;
    }
    for (int64_t v : s.release_inputs) values[static_cast<size_t>(v)] = Tensor();
  }
  if (stats) {
    stats->nodes = static_cast<int64_t>(steps_.size());
    stats->peak_live_values = peak;
  }
  std::map<std::string, Tensor> result;
  for (int64_t o : output_ids_)
    result[value_names_[static_cast<size_t>(o)]] = values[static_cast<size_t>(o)];
  return result;
}

}  // namespace y8m::ops::graph
