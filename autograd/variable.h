// Tape-based reverse-mode autograd, first order only.
//
// A tensor that requires grad carries an AutogradMeta: `grad` (accumulated by backward), and for a
// result of an op, `grad_fn`, the Node that computes the gradients of the op's inputs from the
// gradients of its outputs. Nodes point to the nodes of their inputs through edges; a leaf that
// requires grad is reached through an AccumulateGrad node. backward() walks this graph in reverse
// topological order, summing the gradients that reach each node from several consumers.
#pragma once
#include "autograd/autograd_layer.h"

#include "engine/tensor.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace y8m::autograd {

// Grad mode: ops record nodes only while it is on (the default). Thread-local.
bool grad_mode_enabled();
void set_grad_mode(bool on);
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_mode_enabled()) { set_grad_mode(false); }
  ~NoGradGuard() { set_grad_mode(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

class Node;

struct Edge {
  std::shared_ptr<Node> node;  // null: this input needs no gradient
  int input_nr = 0;            // which output of `node` this edge feeds
  bool valid() const { return node != nullptr; }
};

// What backward needs to know about each output to build a zero gradient when one is never
// produced.
struct OutputMeta {
  Shape shape;
  DType dtype = DType::f32;
  Device device;
};

class Node {
 public:
  explicit Node(std::string name) : name_(std::move(name)) {}
  virtual ~Node() = default;
  // Gradients of the inputs (one per edge; undefined where needs_input_grad(i) is false) from the
  // gradients of the outputs (all defined: missing ones are zero-filled by the engine).
  virtual std::vector<Tensor> apply(const std::vector<Tensor>& grad_outputs) = 0;

  const std::string& name() const { return name_; }
  const std::vector<Edge>& next_edges() const { return next_edges_; }
  bool needs_input_grad(size_t i) const { return i < next_edges_.size() && next_edges_[i].valid(); }
  size_t num_outputs() const { return outputs_.size(); }
  const OutputMeta& output_meta(size_t i) const { return outputs_.at(i); }

  void set_next_edges(std::vector<Edge> e) { next_edges_ = std::move(e); }
  void add_output(OutputMeta m) { outputs_.push_back(std::move(m)); }

 private:
  std::string name_;
  std::vector<Edge> next_edges_;
  std::vector<OutputMeta> outputs_;
};

// A Node whose backward is a closure (the usual case: ops capture what they saved).
using BackwardFn =
    std::function<std::vector<Tensor>(const std::vector<Tensor>& grad_outputs, const Node& node)>;
class FunctionNode : public Node {
 public:
  FunctionNode(std::string name, BackwardFn fn) : Node(std::move(name)), fn_(std::move(fn)) {}
  std::vector<Tensor> apply(const std::vector<Tensor>& grad_outputs) override {
    return fn_(grad_outputs, *this);
  }

 private:
  BackwardFn fn_;
};

struct AutogradMeta : engine::AutogradMetaBase {
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;  // null for leaves
  int output_nr = 0;
  std::weak_ptr<Node> accumulator;  // the leaf's AccumulateGrad, shared by all its uses
};

bool requires_grad(const Tensor& t);
// Marks a leaf as requiring (or not) a gradient. Throws for non-floating dtypes and non-leaves.
void set_requires_grad(const Tensor& t, bool on);
Tensor grad(const Tensor& t);  // undefined until a backward reaches t
void set_grad(const Tensor& t, Tensor g);
void zero_grad(const Tensor& t);  // drops the gradient (next backward writes a fresh one)
std::shared_ptr<Node> grad_fn(const Tensor& t);
bool is_leaf(const Tensor& t);
// The same data without autograd history.
Tensor detach(const Tensor& t);

// True when grad mode is on and any input requires grad: the op must record a node.
bool any_requires_grad(std::initializer_list<Tensor> inputs);
bool any_requires_grad(const std::vector<Tensor>& inputs);

// Records an op: creates a FunctionNode named `name` with an edge per input and makes it the
// grad_fn of every output. The closure gets one gradient per output and returns one per input. A
// closure that needs an output must capture detach(output): capturing the output itself would make
// a reference cycle (output -> grad_fn -> closure -> output).
std::shared_ptr<Node> record(const std::string& name, const std::vector<Tensor>& inputs,
                             const std::vector<Tensor>& outputs, BackwardFn fn);

// Runs backward from `root`. `grad_root` defaults to ones (then root must have one element).
// Gradients accumulate into the `grad` of every leaf that requires grad. Runs with grad mode off.
void backward(const Tensor& root, const Tensor& grad_root = Tensor());

}  // namespace y8m::autograd
