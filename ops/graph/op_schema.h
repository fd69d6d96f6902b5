// The schema of every op, parsed from the strings of its ops/op_list.h row: the inputs a node reads,
// the attributes it must carry with their types, and how many outputs it writes. The tracer checks
// each recorded node against it (a mismatch is a bug in the op's Y8M_TRACE_OP line) and the
// executor each loaded node (a mismatch is a bad archive).
#pragma once
#include "ops/ops_layer.h"

#include "ops/graph/graph.h"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace y8m::ops::graph {

struct OpSchema {
  std::string name;
  bool differentiable = false;
  bool has_cuda = false;
  std::vector<std::string> inputs;  // names, in order
  std::vector<bool> optional;       // per input: may be absent ("")
  bool variadic = false;            // one input spec "xs...": one or more inputs
  std::vector<std::pair<std::string, AttrType>> attrs;
  std::string outputs_from;  // "": one output; else the ints attribute with one output per entry
};

// Every op of Y8M_OP_LIST, in list order.
const std::vector<OpSchema>& op_schemas();
// The schema of `op`, or nullptr.
const OpSchema* find_schema(const std::string& op);

// Checks a node's attributes, input count, absent inputs and output count against its schema;
// throws naming `where` (e.g. "graph: node 3 (matmul)") and the problem.
void check_node(const OpSchema& s, const Node& n, const std::string& where);

}  // namespace y8m::ops::graph
