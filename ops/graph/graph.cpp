// Small helpers of the graph IR (ops/graph/graph.h): attribute printing and lookups.
#include "ops/graph/graph.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace y8m::ops::graph {

const char* attr_type_name(AttrType t) {
  switch (t) {
    case AttrType::i:
      return "int";
    case AttrType::f:
      return "float";
    case AttrType::s:
      return "string";
    case AttrType::b:
      return "bool";
    case AttrType::ints:
      return "ints";
    case AttrType::floats:
      return "floats";
  }
  return "?";
}

std::string Attr::str() const {
  switch (type()) {
    case AttrType::i:
      return std::to_string(std::get<int64_t>(v_));
    case AttrType::f:
      return fmt::format("{}", std::get<double>(v_));
    case AttrType::s:
      return "\"" + std::get<std::string>(v_) + "\"";
    case AttrType::b:
      return std::get<bool>(v_) ? "true" : "false";
    case AttrType::ints:
      return fmt::format("[{}]", fmt::join(std::get<std::vector<int64_t>>(v_), ", "));
    case AttrType::floats:
      return fmt::format("[{}]", fmt::join(std::get<std::vector<double>>(v_), ", "));
  }
  return "?";
}

const ValueInfo* Graph::find_input(const std::string& name) const {
  for (const ValueInfo& v : inputs)
    if (v.name == name) return &v;
  return nullptr;
}

std::string shape_pattern_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += shape[i] < 0 ? std::string("B") : std::to_string(shape[i]);
  }
  return s + "]";
}

std::string graph_str(const Graph& g) {
  std::string s;
  for (const ValueInfo& v : g.inputs)
    s += fmt::format("input {}: {} {}\n", v.name, engine::dtype_name(v.dtype),
                     shape_pattern_str(v.shape));
  s += fmt::format("initializers: {}\n", fmt::join(g.initializers, ", "));
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    std::vector<std::string> attrs;
    for (const auto& [key, a] : n.attrs) attrs.push_back(key + "=" + a.str());
    s += fmt::format("{:4d} {} = {}({}){}{}\n", i, fmt::join(n.outputs, ", "), n.op,
                     fmt::join(n.inputs, ", "), attrs.empty() ? "" : " ", fmt::join(attrs, " "));
  }
  s += fmt::format("outputs: {}\n", fmt::join(g.outputs, ", "));
  return s;
}

}  // namespace y8m::ops::graph
