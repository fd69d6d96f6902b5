// The graph IR (DESIGN.md §4): a list of nodes in topological order. A node names an op of
// ops/op_list.h, its attributes, and the values it reads and writes; values are named strings.
// Graph inputs are named with a dtype and a shape whose -1 dimensions are dynamic (the batch);
// weights are named initializers whose tensors travel beside the graph (an archive's tensor table).
//
// Conventions:
//   - an empty input name is an absent optional input (vlad's centers for LightVLAD);
//   - frame-level graphs read `frames` u8 [-1, T, F] and `num_frames` i32 [-1]; video-level graphs
//     read `features` f32 [-1, F]; both write `predictions` f32 [-1, V];
//   - attribute values that depended on the batch size at trace time are stored batch-free (a -1 in
//     reshape's shape, the frames per video of vlad), so a graph runs on any batch.
// The serialized form is io/proto/graph.proto (pipeline/archive.h converts); this header has no
// Protobuf dependency so graph passes and the executor stay plain C++.
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace y8m::ops::graph {

enum class AttrType { i, f, s, b, ints, floats };
const char* attr_type_name(AttrType t);  // "int", "float", "string", "bool", "ints", "floats"

// One attribute value: an int, a double, a string, a bool, or a list of ints or doubles. The
// constructors are explicit about their type (a string literal is a string, never a bool).
class Attr {
 public:
  Attr(int v) : v_(static_cast<int64_t>(v)) {}
  Attr(long v) : v_(static_cast<int64_t>(v)) {}
  Attr(long long v) : v_(static_cast<int64_t>(v)) {}
  Attr(double v) : v_(v) {}
  Attr(bool v) : v_(v) {}
  Attr(const char* v) : v_(std::string(v)) {}
  Attr(std::string v) : v_(std::move(v)) {}
  Attr(std::vector<int64_t> v) : v_(std::move(v)) {}
  Attr(std::vector<double> v) : v_(std::move(v)) {}

  AttrType type() const { return static_cast<AttrType>(v_.index()); }
  // Typed access; the wrong type is an internal error (the executor validates types first).
  int64_t i() const { return get<int64_t>(); }
  double f() const { return get<double>(); }
  const std::string& s() const { return get<std::string>(); }
  bool b() const { return get<bool>(); }
  const std::vector<int64_t>& ints() const { return get<std::vector<int64_t>>(); }
  const std::vector<double>& floats() const { return get<std::vector<double>>(); }
  std::string str() const;  // for messages: 3, 0.5, "random", true, [1, 2]

  bool operator==(const Attr& o) const { return v_ == o.v_; }
  bool operator!=(const Attr& o) const { return !(*this == o); }

 private:
  template <class T>
  const T& get() const {
    const T* p = std::get_if<T>(&v_);
    Y8M_ASSERT(p != nullptr, "attribute {} read as the wrong type", str());
    return *p;
  }
  // Order matches AttrType.
  std::variant<int64_t, double, std::string, bool, std::vector<int64_t>, std::vector<double>> v_;
};

using Attrs = std::map<std::string, Attr>;

struct Node {
  std::string op;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  Attrs attrs;
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;  // -1: dynamic
};

struct Graph {
  std::vector<Node> nodes;
  std::vector<ValueInfo> inputs;
  std::vector<std::string> outputs;
  std::vector<std::string> initializers;  // names of the weight tensors that travel with the graph

  const ValueInfo* find_input(const std::string& name) const;
};

// Initializer tensors by name, in the order of Graph::initializers.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// A graph with its initializer tensors (what tracing produces and an archive stores).
struct GraphWithWeights {
  Graph graph;
  NamedTensors initializers;
};

// "[-1, 300, 1152]" with -1 shown as "B".
std::string shape_pattern_str(const Shape& shape);

// A readable listing (inputs, initializers, one line per node, outputs), for tools and messages.
std::string graph_str(const Graph& graph);

}  // namespace y8m::ops::graph
