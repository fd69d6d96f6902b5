// The tracer (ops/graph/trace.h): a thread-local record of op calls, naming tensors by identity.
#include "ops/graph/trace.h"

#include "autograd/variable.h"
#include "ops/graph/op_schema.h"

#include <cstring>
#include <set>
#include <unordered_map>

namespace y8m::ops::graph {

namespace detail {

thread_local TraceState* t_trace = nullptr;

struct TraceState {
  Graph graph;
  // Every traced tensor (inputs, op outputs, initializers and constants read) -> its value name.
  std::unordered_map<const engine::TensorImpl*, std::string> names;
  // Declared initializers not necessarily read yet.
  std::unordered_map<const engine::TensorImpl*, std::string> declared;
  // Storage of traced inputs, op outputs and declared initializers -> a value name, to catch views
  // made outside ops.
  std::unordered_map<const engine::Storage*, std::string> storages;
  NamedTensors initializers;  // read so far, in first-use order
  std::vector<Tensor> keep;   // keeps identities unique for the life of the trace
  int64_t constants = 0;

  // Name of an op input, creating an initializer entry for a declared tensor or a constant.
  std::string input_name(const Tensor& t, const char* op, size_t index) {
    if (!t.defined()) return "";
    const engine::TensorImpl* impl = t.impl_ptr().get();
    if (auto it = names.find(impl); it != names.end()) return it->second;
    keep.push_back(t);
    if (auto it = declared.find(impl); it != declared.end()) {
      names[impl] = it->second;
      initializers.emplace_back(it->second, t);
      graph.initializers.push_back(it->second);
      return it->second;
    }
    if (auto it = storages.find(t.impl_ptr()->storage.get()); it != storages.end()) {
      Y8M_FAIL(
          "trace: input {} of {} ({}) is a view of the traced value '{}' made outside ops "
          "(Tensor::reshape / slice_rows); use the ops:: functions so the graph can capture it",
          index, op, t.str(), it->second);
    }
    const std::string name = "constants/" + std::to_string(constants++);
    names[impl] = name;
    initializers.emplace_back(name, t.clone());
    graph.initializers.push_back(name);
    return name;
  }

  void add_value(const Tensor& t, const std::string& name) {
    names[t.impl_ptr().get()] = name;
    storages.emplace(t.impl_ptr()->storage.get(), name);
    keep.push_back(t);
  }
};

}  // namespace detail

using detail::t_trace;
using detail::TraceState;

bool has_side_effects(const std::string& op) { return op == "sample_frames"; }

void record_op(const char* op, const Attrs& attrs, const std::vector<Tensor>& inputs,
               const std::vector<Tensor>& outputs) {
  TraceState& st = *t_trace;
  Y8M_CHECK(!autograd::grad_mode_enabled(),
            "trace: {} ran with grad mode on; trace the eval forward under autograd::NoGradGuard",
            op);
  Node n;
  n.op = op;
  n.attrs = attrs;
  // The node against the op's schema before the trace changes: absent inputs as "", the others
  // and the outputs by placeholder names.
  const OpSchema* schema = find_schema(op);
  Y8M_ASSERT(schema != nullptr, "trace: {} is not in ops/op_list.h", op);
  for (const Tensor& t : inputs) n.inputs.push_back(t.defined() ? "?" : "");
  n.outputs.assign(outputs.size(), "?");
  check_node(*schema, n, fmt::format("trace: {} (its Y8M_TRACE_OP line)", op));
  n.inputs.clear();
  n.outputs.clear();
  for (size_t i = 0; i < inputs.size(); ++i) n.inputs.push_back(st.input_name(inputs[i], op, i));
  const std::string base = std::string(op) + "_" + std::to_string(st.graph.nodes.size());
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Tensor& t = outputs[k];
    Y8M_ASSERT(t.defined(), "trace: {} returned an undefined output", op);
    const auto it = st.names.find(t.impl_ptr().get());
    Y8M_CHECK(it == st.names.end(), "trace: {} returned a tensor that is already the value '{}'",
              op, it == st.names.end() ? std::string() : it->second);
    const std::string name = outputs.size() == 1 ? base : base + ":" + std::to_string(k);
    st.add_value(t, name);
    n.outputs.push_back(name);
  }
  st.graph.nodes.push_back(std::move(n));
}

Tracer::Tracer() {
  Y8M_CHECK(t_trace == nullptr, "trace: a trace is already active on this thread");
  Y8M_CHECK(!autograd::grad_mode_enabled(),
            "trace: grad mode must be off while tracing (use autograd::NoGradGuard)");
  state_ = std::make_unique<TraceState>();
  t_trace = state_.get();
}

Tracer::~Tracer() {
  if (t_trace == state_.get()) t_trace = nullptr;
}

void Tracer::add_input(const std::string& name, const Tensor& t, Shape shape) {
  Y8M_CHECK(t.defined(), "trace: graph input '{}' is undefined", name);
  if (shape.empty()) shape = t.shape();
  Y8M_CHECK(static_cast<int64_t>(shape.size()) == t.dim(),
            "trace: graph input '{}' declared as {} but the tensor is {}", name,
            shape_pattern_str(shape), t.str());
  if (state_->graph.find_input(name) == nullptr)
    state_->graph.inputs.push_back(ValueInfo{name, t.dtype(), shape});
  state_->add_value(t, name);
}

void Tracer::add_initializers(const NamedTensors& named) {
  for (const auto& [name, t] : named) {
    if (!t.defined()) continue;
    state_->declared.emplace(t.impl_ptr().get(), name);
    state_->storages.emplace(t.impl_ptr()->storage.get(), name);
  }
}

namespace {

void rename_value(Graph& g, const std::string& from, const std::string& to) {
  for (Node& n : g.nodes) {
    for (std::string& s : n.inputs)
      if (s == from) s = to;
    for (std::string& s : n.outputs)
      if (s == from) s = to;
  }
}

// Drops nodes no output depends on (keeping side effects) and initializers no node reads.
void drop_dead_code(GraphWithWeights& gw) {
  Graph& g = gw.graph;
  std::set<std::string> live(g.outputs.begin(), g.outputs.end());
  std::vector<bool> keep(g.nodes.size(), false);
  for (size_t i = g.nodes.size(); i-- > 0;) {
    const Node& n = g.nodes[i];
    bool used = has_side_effects(n.op);
    for (const std::string& o : n.outputs) used = used || live.count(o) > 0;
    if (!used) continue;
    keep[i] = true;
    live.insert(n.inputs.begin(), n.inputs.end());
  }
  std::vector<Node> nodes;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (keep[i]) nodes.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(nodes);
  NamedTensors inits;
  g.initializers.clear();
  for (auto& kv : gw.initializers) {
    if (!live.count(kv.first)) continue;
    g.initializers.push_back(kv.first);
    inits.push_back(std::move(kv));
  }
  gw.initializers = std::move(inits);
}

}  // namespace

GraphWithWeights Tracer::finish(const NamedTensors& outputs) {
  if (t_trace == state_.get()) t_trace = nullptr;
  GraphWithWeights gw;
  gw.graph = std::move(state_->graph);
  gw.initializers = std::move(state_->initializers);
  std::set<std::string> produced;
  for (const Node& n : gw.graph.nodes) produced.insert(n.outputs.begin(), n.outputs.end());
  for (const auto& [name, t] : outputs) {
    Y8M_CHECK(t.defined(), "trace: graph output '{}' is undefined", name);
    const auto it = state_->names.find(t.impl_ptr().get());
    Y8M_CHECK(it != state_->names.end() && produced.count(it->second),
              "trace: graph output '{}' ({}) was not produced by a traced op", name, t.str());
    Y8M_CHECK(it->second == name || !produced.count(name),
              "trace: graph output name '{}' is already a value of the graph", name);
    rename_value(gw.graph, it->second, name);
    produced.insert(name);
    gw.graph.outputs.push_back(name);
  }
  drop_dead_code(gw);
  state_->keep.clear();
  return gw;
}

namespace {

// The first node reading `value`, for messages.
std::string reader_of(const Graph& g, const std::string& value) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const std::string& in : g.nodes[i].inputs)
      if (in == value) return fmt::format("node {} ({})", i, g.nodes[i].op);
  return "no node";
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.same(b)) return true;  // a declared initializer seen by both traces
  const Tensor ha = a.to(Device::cpu()), hb = b.to(Device::cpu());
  return a.nbytes() == 0 || std::memcmp(ha.data_ptr(), hb.data_ptr(), a.nbytes()) == 0;
}

}  // namespace

GraphWithWeights merge_batch_traces(const GraphWithWeights& a, int64_t batch_a,
                                    const GraphWithWeights& b, int64_t batch_b) {
  Y8M_CHECK(batch_a != batch_b, "trace: the two traces need different batch sizes, got {} twice",
            batch_a);
  const Graph &ga = a.graph, &gb = b.graph;
  const std::string why = fmt::format(
      "the forward traced at batch {} and at batch {} differ, so the graph would only run at the "
      "traced batch size",
      batch_a, batch_b);
  Y8M_CHECK(ga.nodes.size() == gb.nodes.size(), "trace: {} nodes vs {}: {}", ga.nodes.size(),
            gb.nodes.size(), why);
  GraphWithWeights out = a;
  for (size_t i = 0; i < ga.nodes.size(); ++i) {
    const Node &na = ga.nodes[i], &nb = gb.nodes[i];
    Y8M_CHECK(na.op == nb.op && na.inputs == nb.inputs && na.outputs == nb.outputs,
              "trace: node {} is {} vs {}: {}", i, na.op, nb.op, why);
    for (const auto& [key, va] : na.attrs) {
      const auto it = nb.attrs.find(key);
      Y8M_ASSERT(it != nb.attrs.end() && it->second.type() == va.type(),
                 "trace: node {} ({}) attribute '{}' differs in presence or type", i, na.op, key);
      if (it->second == va) continue;
      const Attr& vb = it->second;
      if (na.op == "reshape" && key == "shape") {
        std::vector<int64_t> s = va.ints();
        int differing = 0;
        for (size_t d = 0; d < s.size(); ++d) {
          if (s[d] == vb.ints()[d]) continue;
          s[d] = -1;
          ++differing;
        }
        Y8M_CHECK(differing == 1,
                  "trace: node {} (reshape) has shape {} at batch {} and {} at batch {}: more than "
                  "one dimension follows the batch",
                  i, va.str(), batch_a, vb.str(), batch_b);
        out.graph.nodes[i].attrs.at(key) = Attr(s);
        continue;
      }
      Y8M_FAIL("trace: attribute '{}' of node {} ({}) is {} at batch {} and {} at batch {}: {}",
               key, i, na.op, va.str(), batch_a, vb.str(), batch_b, why);
    }
  }
  Y8M_CHECK(ga.inputs.size() == gb.inputs.size() && ga.outputs == gb.outputs,
            "trace: graph inputs or outputs differ: {}", why);
  for (size_t i = 0; i < ga.inputs.size(); ++i) {
    const ValueInfo &ia = ga.inputs[i], &ib = gb.inputs[i];
    Y8M_CHECK(ia.name == ib.name && ia.dtype == ib.dtype && ia.shape.size() == ib.shape.size(),
              "trace: graph input {} differs: {}", ia.name, why);
    for (size_t d = 0; d < ia.shape.size(); ++d)
      if (ia.shape[d] != ib.shape[d]) out.graph.inputs[i].shape[d] = -1;
  }
  Y8M_CHECK(a.initializers.size() == b.initializers.size(), "trace: initializers differ: {}", why);
  for (size_t i = 0; i < a.initializers.size(); ++i) {
    const auto& [name, ta] = a.initializers[i];
    const auto& [name_b, tb] = b.initializers[i];
    Y8M_CHECK(name == name_b, "trace: initializer {} is '{}' vs '{}': {}", i, name, name_b, why);
    Y8M_CHECK(same_bytes(ta, tb),
              "trace: the constant '{}' read by {} is {} at batch {} and {} at batch {}: a tensor "
              "computed outside ops from the inputs cannot be captured (compute it with ops)",
              name, reader_of(ga, name), ta.str(), batch_a, tb.str(), batch_b);
  }
  return out;
}

}  // namespace y8m::ops::graph
