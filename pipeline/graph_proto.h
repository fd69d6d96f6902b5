// A graph (ops/graph) as io/proto/graph.proto bytes, the form model archives (pipeline/archive.h)
// store it in. Serializing is deterministic: one graph always gives the same bytes.
#pragma once

#include "ops/graph/graph.h"

#include <cstdint>
#include <string>

namespace y8m::pipeline {

constexpr uint32_t kGraphVersion = 1;

// Graph <-> io/proto/graph.proto bytes. parse_graph validates the result; `what` names the source
// in errors.
std::string serialize_graph(const ops::graph::Graph& graph);
ops::graph::Graph parse_graph(const std::string& bytes, const std::string& what);

}  // namespace y8m::pipeline
