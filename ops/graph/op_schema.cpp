#include "ops/graph/op_schema.h"

#include "engine/strings.h"
#include "ops/op_list.h"

#include <fmt/format.h>

#include <unordered_map>

namespace y8m::ops::graph {

namespace {

using engine::split_trimmed;
using engine::trim;

AttrType attr_type_from_name(const std::string& op, const std::string& t) {
  for (AttrType a :
       {AttrType::i, AttrType::f, AttrType::s, AttrType::b, AttrType::ints, AttrType::floats})
    if (t == attr_type_name(a)) return a;
  Y8M_ASSERT(false, "ops/op_list.h: {} has an attribute of unknown type '{}'", op, t);
  return AttrType::i;
}

OpSchema parse(const OpInfo& info) {
  OpSchema s;
  s.name = info.name;
  s.differentiable = info.differentiable;
  s.has_cuda = info.has_cuda;
  std::string inputs = info.inputs;
  const size_t arrow = inputs.find("->");
  if (arrow != std::string::npos) {
    const std::string out = trim(inputs.substr(arrow + 2));
    const size_t open = out.find('['), close = out.find(']');
    Y8M_ASSERT(open != std::string::npos && close == out.size() - 1,
               "ops/op_list.h: {}: outputs '{}' must read 'ys[attribute]'", s.name, out);
    s.outputs_from = out.substr(open + 1, close - open - 1);
    inputs = inputs.substr(0, arrow);
  }
  for (std::string in : split_trimmed(inputs)) {
    Y8M_ASSERT(!in.empty(), "ops/op_list.h: {} has an empty input name", s.name);
    bool opt = false;
    if (in.back() == '?') {
      opt = true;
      in.pop_back();
    } else if (in.size() > 3 && in.compare(in.size() - 3, 3, "...") == 0) {
      s.variadic = true;
      in.resize(in.size() - 3);
    }
    s.inputs.push_back(in);
    s.optional.push_back(opt);
  }
  Y8M_ASSERT(!s.variadic || s.inputs.size() == 1,
             "ops/op_list.h: {}: a variadic input must be the only one", s.name);
  for (const std::string& a : split_trimmed(info.attributes)) {
    const size_t colon = a.find(':');
    Y8M_ASSERT(colon != std::string::npos, "ops/op_list.h: {}: attribute '{}' has no type", s.name,
               a);
    s.attrs.emplace_back(trim(a.substr(0, colon)),
                         attr_type_from_name(s.name, trim(a.substr(colon + 1))));
  }
  if (!s.outputs_from.empty()) {
    bool found = false;
    for (const auto& [key, type] : s.attrs)
      found = found || (key == s.outputs_from && type == AttrType::ints);
    Y8M_ASSERT(found, "ops/op_list.h: {}: outputs follow '{}', which is not an ints attribute",
               s.name, s.outputs_from);
  }
  return s;
}

}  // namespace

const std::vector<OpSchema>& op_schemas() {
  static const std::vector<OpSchema> v = [] {
    std::vector<OpSchema> out;
    for (const OpInfo& i : kOpList) out.push_back(parse(i));
    return out;
  }();
  return v;
}

const OpSchema* find_schema(const std::string& op) {
  static const std::unordered_map<std::string, size_t> index = [] {
    std::unordered_map<std::string, size_t> m;
    for (size_t i = 0; i < op_schemas().size(); ++i) m[op_schemas()[i].name] = i;
    return m;
  }();
  const auto it = index.find(op);
  return it == index.end() ? nullptr : &op_schemas()[it->second];
}

void check_node(const OpSchema& s, const Node& n, const std::string& where) {
  for (const auto& [key, type] : s.attrs) {
    const auto it = n.attrs.find(key);
    Y8M_CHECK(it != n.attrs.end(), "{} needs the attribute '{}' ({})", where, key,
              attr_type_name(type));
    Y8M_CHECK(it->second.type() == type, "{} attribute '{}' must be {}, got {} {}", where, key,
              attr_type_name(type), attr_type_name(it->second.type()), it->second.str());
  }
  for (const auto& [key, value] : n.attrs) {
    bool known = false;
    for (const auto& a : s.attrs) known = known || key == a.first;
    Y8M_CHECK(known, "{} has an unknown attribute '{}' = {}", where, key, value.str());
  }
  if (s.variadic) {
    Y8M_CHECK(!n.inputs.empty(), "{} needs at least one input", where);
  } else {
    Y8M_CHECK(n.inputs.size() == s.inputs.size(), "{} needs {} inputs, got {}", where,
              s.inputs.size(), n.inputs.size());
  }
  for (size_t j = 0; j < n.inputs.size(); ++j)
    Y8M_CHECK(!n.inputs[j].empty() || (!s.variadic && s.optional[j]),
              "{} input {} is empty but not optional", where, j);
  const size_t outputs = s.outputs_from.empty() ? 1 : n.attrs.at(s.outputs_from).ints().size();
  Y8M_CHECK(n.outputs.size() == outputs, "{} must write {} outputs, got {}", where, outputs,
            n.outputs.size());
}

}  // namespace y8m::ops::graph
