// The tracer (DESIGN.md §4): while a Tracer is alive on a thread, every public op entry of ops/
// records one graph node (op name, attributes, input and output value names) through Y8M_TRACE_OP,
// one line at the end of the entry. Tensors are named by identity (their TensorImpl):
//   - tensors declared with add_input are graph inputs (one name may cover several tensors, e.g.
//     num_frames on the host and its copy on the device);
//   - tensors declared with add_initializers (a model's parameters and buffers) become named
//     initializers when an op reads them;
//   - an op output gets a fresh name "<op>_<node>" (":<k>" for the k-th of several outputs);
//   - any other tensor an op reads is a constant (an index computed by model code, for example) and
//     becomes an anonymous initializer "constants/<k>" holding a copy of its value.
// A tensor that shares storage with a traced value but was not produced by an op (Tensor::reshape
// or slice_rows of an activation) cannot be captured and is an error naming the op.
//
// Tracing is for the eval-mode forward: grad mode must be off (autograd::NoGradGuard), so backward
// closures never run under a trace. The tracer keeps every traced tensor alive until it is
// destroyed, so identities are never reused. One tracer per thread at a time; ops on other threads
// are not recorded.
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"
#include "ops/graph/graph.h"

#include <memory>
#include <string>
#include <vector>

namespace y8m::ops::graph {

namespace detail {
struct TraceState;
extern thread_local TraceState* t_trace;
}  // namespace detail

// True while a Tracer is active on this thread.
inline bool tracing() { return detail::t_trace != nullptr; }

// Records a node; called by Y8M_TRACE_OP only while tracing. Undefined inputs (absent optional
// inputs) are recorded as "".
void record_op(const char* op, const Attrs& attrs, const std::vector<Tensor>& inputs,
               const std::vector<Tensor>& outputs);

class Tracer {
 public:
  // Starts tracing on this thread. Errors: another trace active, grad mode on.
  Tracer();
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Declares `t` as graph input `name`; `shape` is its declared shape (-1 for dynamic dimensions;
  // empty: t's shape). The first declaration of a name fixes its ValueInfo.
  void add_input(const std::string& name, const Tensor& t, Shape shape = {});
  // Declares named tensors (a model's parameters and buffers) that become initializers when read.
  void add_initializers(const NamedTensors& named);
  // Stops tracing and returns the graph whose outputs are the given tensors under the given names
  // (each must be the output of a recorded op), with the initializers it reads. Nodes that no
  // output depends on are dropped, except those with side effects (sample_frames draws from the
  // generator).
  GraphWithWeights finish(const NamedTensors& outputs);

 private:
  std::unique_ptr<detail::TraceState> state_;
};

// Makes the batch dimension dynamic from two traces of the same forward at batch sizes a.batch and
// b.batch: they must agree node by node; reshape shapes that differ in one dimension get -1 there,
// graph input dimensions that differ become -1, and anything else that differs (another attribute,
// a constant's shape or value) is an error naming the node, because that graph would only run at
// the traced batch size.
GraphWithWeights merge_batch_traces(const GraphWithWeights& a, int64_t batch_a,
                                    const GraphWithWeights& b, int64_t batch_b);

// Ops with side effects: never dropped as dead code, never reordered.
bool has_side_effects(const std::string& op);

}  // namespace y8m::ops::graph

// The one-line hook of every public op entry: Y8M_TRACE_OP(name, attrs, inputs, outputs). The
// arguments are evaluated only while tracing, so the hook costs one thread-local load otherwise.
#define Y8M_TRACE_OP(...)                                                        \
  do {                                                                           \
    if (::y8m::ops::graph::tracing()) ::y8m::ops::graph::record_op(__VA_ARGS__); \
  } while (0)
