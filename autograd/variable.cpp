#include "autograd/variable.h"

#include <deque>
#include <unordered_map>

namespace y8m::autograd {

namespace {

thread_local bool g_grad_mode = true;

AutogradMeta* meta(const Tensor& t) { return static_cast<AutogradMeta*>(t.autograd_meta()); }

AutogradMeta& ensure_meta(const Tensor& t) {
  if (t.autograd_meta() == nullptr) t.set_autograd_meta(std::make_shared<AutogradMeta>());
  return *meta(t);
}

// Sink for a leaf's gradient: sums into AutogradMeta::grad.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<engine::TensorImpl> leaf)
      : Node("AccumulateGrad"), leaf_(std::move(leaf)) {
    Tensor t(leaf_);
    add_output({t.shape(), t.dtype(), t.device()});
  }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    Tensor leaf(leaf_);
    AutogradMeta& m = ensure_meta(leaf);
    const Tensor& g = grads[0];
    if (!m.grad.defined()) {
      // Keep the incoming buffer when nothing else refers to it; otherwise copy, so that an
      // in-place update of one leaf's gradient (clipping) never changes another's.
      m.grad = (g.use_count() == 1 && g.storage_use_count() == 1) ? g : g.clone();
    } else {
      m.grad = engine::add(m.grad, g);
    }
    return {};
  }

 private:
  std::shared_ptr<engine::TensorImpl> leaf_;
};

Edge gradient_edge(const Tensor& t) {
  AutogradMeta* m = meta(t);
  if (m == nullptr) return {};
  if (m->grad_fn) return {m->grad_fn, m->output_nr};
  if (!m->requires_grad) return {};
  std::shared_ptr<Node> acc = m->accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    m->accumulator = acc;
  }
  return {acc, 0};
}

}  // namespace

bool grad_mode_enabled() { return g_grad_mode; }
void set_grad_mode(bool on) { g_grad_mode = on; }

bool requires_grad(const Tensor& t) {
  const AutogradMeta* m = t.defined() ? meta(t) : nullptr;
  return m != nullptr && (m->requires_grad || m->grad_fn != nullptr);
}

void set_requires_grad(const Tensor& t, bool on) {
  Y8M_CHECK(!on || engine::is_floating(t.dtype()), "requires_grad: only floating tensors, got {}",
            t.str());
  AutogradMeta& m = ensure_meta(t);
  Y8M_CHECK(m.grad_fn == nullptr, "requires_grad: {} is the result of an op, not a leaf", t.str());
  m.requires_grad = on;
}

Tensor grad(const Tensor& t) {
  const AutogradMeta* m = meta(t);
  return m ? m->grad : Tensor();
}

void set_grad(const Tensor& t, Tensor g) {
  if (g.defined()) {
    Y8M_CHECK(g.shape() == t.shape() && g.dtype() == t.dtype() && g.device() == t.device(),
              "set_grad: gradient {} does not match tensor {}", g.str(), t.str());
  }
  ensure_meta(t).grad = std::move(g);
}

void zero_grad(const Tensor& t) {
  if (AutogradMeta* m = meta(t)) m->grad = Tensor();
}

std::shared_ptr<Node> grad_fn(const Tensor& t) {
  const AutogradMeta* m = meta(t);
  return m ? m->grad_fn : nullptr;
}

bool is_leaf(const Tensor& t) { return grad_fn(t) == nullptr; }

Tensor detach(const Tensor& t) { return t.reshape(t.shape()); }

bool any_requires_grad(std::initializer_list<Tensor> inputs) {
  if (!g_grad_mode) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && requires_grad(t)) return true;
  return false;
}

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_mode) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && requires_grad(t)) return true;
  return false;
}

std::shared_ptr<Node> record(const std::string& name, const std::vector<Tensor>& inputs,
                             const std::vector<Tensor>& outputs, BackwardFn fn) {
  auto node = std::make_shared<FunctionNode>(name, std::move(fn));
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor& in : inputs) edges.push_back(in.defined() ? gradient_edge(in) : Edge{});
  node->set_next_edges(std::move(edges));
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    node->add_output({out.shape(), out.dtype(), out.device()});
    AutogradMeta& m = ensure_meta(out);
    m.grad_fn = node;
    m.output_nr = static_cast<int>(i);
    m.requires_grad = true;
  }
  return node;
}

void backward(const Tensor& root, const Tensor& grad_root) {
  NoGradGuard no_grad;
  const Edge root_edge = gradient_edge(root);
  Y8M_CHECK(root_edge.valid(), "backward: {} does not require grad (no op recorded a gradient)",
            root.str());
  Tensor g0 = grad_root;
  if (!g0.defined()) {
    Y8M_CHECK(root.numel() == 1,
              "backward: the gradient can be implied only for one-element "
              "outputs, got {}",
              root.str());
    g0 = Tensor::ones(root.shape(), root.dtype(), root.device());
  }
  Y8M_CHECK(
      g0.shape() == root.shape() && g0.dtype() == root.dtype() && g0.device() == root.device(),
      "backward: gradient {} does not match output {}", g0.str(), root.str());

  // Count, for every node reachable from the root, how many edges lead into it.
  std::unordered_map<Node*, int> deps;
  std::unordered_map<Node*, std::shared_ptr<Node>> alive;
  std::vector<Node*> stack{root_edge.node.get()};
  alive[root_edge.node.get()] = root_edge.node;
  deps[root_edge.node.get()] = 0;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges()) {
      if (!e.valid()) continue;
      Node* c = e.node.get();
      if (alive.emplace(c, e.node).second) {
        deps[c] = 0;
        stack.push_back(c);
      }
      ++deps[c];
    }
  }

  // Kahn's algorithm: a node runs once every consumer has delivered its gradient.
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  auto deliver = [&](const Edge& e, Tensor g) {
    std::vector<Tensor>& buf = buffers[e.node.get()];
    if (buf.empty()) buf.resize(e.node->num_outputs());
    Tensor& slot = buf[static_cast<size_t>(e.input_nr)];
    const OutputMeta& om = e.node->output_meta(static_cast<size_t>(e.input_nr));
    Y8M_ASSERT(g.shape() == om.shape, "gradient for output {} of {} has shape {}, expected {}",
               e.input_nr, e.node->name(), engine::shape_str(g.shape()),
               engine::shape_str(om.shape));
    slot = slot.defined() ? engine::add(slot, g) : std::move(g);
  };
  deliver(root_edge, g0);
  g0 = Tensor();
  std::deque<Node*> ready{root_edge.node.get()};
  while (!ready.empty()) {
    Node* n = ready.front();
    ready.pop_front();
    std::vector<Tensor> grads = std::move(buffers[n]);
    buffers.erase(n);
    grads.resize(n->num_outputs());
    for (size_t i = 0; i < grads.size(); ++i) {
      if (!grads[i].defined()) {
        const OutputMeta& om = n->output_meta(i);
        grads[i] = Tensor::zeros(om.shape, om.dtype, om.device);
      }
    }
    std::vector<Tensor> in_grads = n->apply(grads);
    grads.clear();
    const auto& edges = n->next_edges();
    Y8M_ASSERT(in_grads.empty() || in_grads.size() == edges.size(),
               "{} returned {} gradients for {} inputs", n->name(), in_grads.size(), edges.size());
    for (size_t i = 0; i < edges.size(); ++i) {
      const Edge& e = edges[i];
      if (!e.valid()) continue;
      if (i < in_grads.size() && in_grads[i].defined()) deliver(e, std::move(in_grads[i]));
      if (--deps[e.node.get()] == 0) ready.push_back(e.node.get());
    }
  }
}

}  // namespace y8m::autograd
