// Graph <-> io/proto/graph.proto bytes (pipeline/graph_proto.h).
#include "pipeline/graph_proto.h"

#include "engine/error.h"
#include "io/dtype_proto.h"
#include "io/proto/graph.pb.h"
#include "ops/graph/executor.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <optional>

namespace y8m::pipeline {

namespace og = ops::graph;
namespace pb = io::proto;

namespace {

DType from_proto(pb::DType d, const std::string& what, const std::string& input) {
  const std::optional<DType> known = io::dtype_from_proto(d);
  Y8M_CHECK(known.has_value(), "{}: graph input '{}' has an unknown dtype ({})", what, input,
            static_cast<int>(d));
  return *known;
}

void attr_to_proto(const og::Attr& a, pb::AttrValue* p) {
  switch (a.type()) {
    case og::AttrType::i:
      p->set_i(a.i());
      break;
    case og::AttrType::f:
      p->set_f(a.f());
      break;
    case og::AttrType::s:
      p->set_s(a.s());
      break;
    case og::AttrType::b:
      p->set_b(a.b());
      break;
    case og::AttrType::ints:
      for (int64_t v : a.ints()) p->mutable_ints()->add_values(v);
      break;
    case og::AttrType::floats:
      for (double v : a.floats()) p->mutable_floats()->add_values(v);
      break;
  }
}

og::Attr attr_from_proto(const pb::AttrValue& p, const std::string& where) {
  switch (p.value_case()) {
    case pb::AttrValue::kI:
      return og::Attr(static_cast<int64_t>(p.i()));
    case pb::AttrValue::kF:
      return og::Attr(p.f());
    case pb::AttrValue::kS:
      return og::Attr(p.s());
    case pb::AttrValue::kB:
      return og::Attr(p.b());
    case pb::AttrValue::kInts:
      return og::Attr(std::vector<int64_t>(p.ints().values().begin(), p.ints().values().end()));
    case pb::AttrValue::kFloats:
      return og::Attr(std::vector<double>(p.floats().values().begin(), p.floats().values().end()));
    default:
      break;
  }
  Y8M_FAIL("{} has no value", where);
}

}  // namespace

std::string serialize_graph(const og::Graph& g) {
  pb::Graph p;
  p.set_version(kGraphVersion);
  for (const og::Node& n : g.nodes) {
    pb::Node* pn = p.add_nodes();
    pn->set_op(n.op);
    for (const std::string& s : n.inputs) pn->add_inputs(s);
    for (const std::string& s : n.outputs) pn->add_outputs(s);
    for (const auto& [key, a] : n.attrs) attr_to_proto(a, &(*pn->mutable_attrs())[key]);
  }
  for (const og::ValueInfo& v : g.inputs) {
    pb::ValueInfo* pv = p.add_inputs();
    pv->set_name(v.name);
    pv->set_dtype(io::dtype_to_proto(v.dtype));
    for (int64_t d : v.shape) pv->add_shape(d);
  }
  for (const std::string& s : g.outputs) p.add_outputs(s);
  for (const std::string& s : g.initializers) p.add_initializers(s);
  // Deterministic: attribute maps in key order, so one graph always gives the same bytes (a plain
  // SerializeToString writes map entries in hash order, which differs between processes).
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream sos(&bytes);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    Y8M_CHECK(p.SerializeToCodedStream(&cos), "graph: cannot serialize ({} nodes)", g.nodes.size());
  }
  return bytes;
}

og::Graph parse_graph(const std::string& bytes, const std::string& what) {
  pb::Graph p;
  Y8M_CHECK(!bytes.empty(), "{}: no graph", what);
  Y8M_CHECK(p.ParseFromString(bytes), "{}: the graph is not a valid graph.proto message", what);
  Y8M_CHECK(p.version() >= 1 && p.version() <= kGraphVersion,
            "{}: graph version {} is not supported (this build reads versions 1 to {})", what,
            p.version(), kGraphVersion);
  og::Graph g;
  for (int i = 0; i < p.nodes_size(); ++i) {
    const pb::Node& pn = p.nodes(i);
    og::Node n;
    n.op = pn.op();
    n.inputs.assign(pn.inputs().begin(), pn.inputs().end());
    n.outputs.assign(pn.outputs().begin(), pn.outputs().end());
    for (const auto& [key, a] : pn.attrs())
      n.attrs.emplace(key, attr_from_proto(a, fmt::format("{}: node {} ({}) attribute '{}'", what,
                                                          i, n.op, key)));
    g.nodes.push_back(std::move(n));
  }
  for (const pb::ValueInfo& pv : p.inputs())
    g.inputs.push_back({pv.name(), from_proto(pv.dtype(), what, pv.name()),
                        Shape(pv.shape().begin(), pv.shape().end())});
  g.outputs.assign(p.outputs().begin(), p.outputs().end());
  g.initializers.assign(p.initializers().begin(), p.initializers().end());
  try {
    og::validate(g);
  } catch (const Error& e) {
    Y8M_FAIL("{}: {}", what, e.what());
  }
  return g;
}

}  // namespace y8m::pipeline
