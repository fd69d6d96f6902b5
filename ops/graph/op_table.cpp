// The executor's op table: one entry per op of ops/op_list.h, mapping a node (inputs, attributes)
// to the public op function with the same arguments the tracer recorded (ops/graph/trace.h).
#include "ops/graph/op_table.h"

#include "ops/fused/dequant_matmul.h"
#include "ops/op_list.h"
#include "ops/ops.h"
#include "ops/sampling/frame_sampling.h"

#include <unordered_map>

namespace y8m::ops::graph {

namespace {

using Out = std::vector<Tensor>;

Out one(Tensor t) { return Out{std::move(t)}; }

template <Tensor (*F)(const Tensor&, const Tensor&)>
Out binary(const OpArgs& a) {
  return one(F(a.in(0), a.in(1)));
}
template <Tensor (*F)(const Tensor&)>
Out unary(const OpArgs& a) {
  return one(F(a.in(0)));
}
template <Tensor (*F)(const Tensor&, double)>
Out scalar(const OpArgs& a) {
  return one(F(a.in(0), a.f("scalar")));
}
template <Tensor (*F)(const Tensor&, int64_t, bool)>
Out reduce(const OpArgs& a) {
  return one(F(a.in(0), a.i("axis"), a.b("keepdim")));
}

Out run_batch_norm(const OpArgs& a) {
  BatchNormOptions o;
  o.training = false;
  o.epsilon = a.f("epsilon");
  Tensor mean = a.in(3), var = a.in(4);
  return one(batch_norm(a.in(0), a.in(1), a.in(2), mean, var, o));
}

// vlad's batch is the number of videos, which the graph keeps dynamic: the node stores the rows
// per video (samples) and the batch follows from the rows of the logits.
Out run_vlad(const OpArgs& a) {
  const int64_t s = a.i("samples"), rows = a.in(0).size(0);
  Y8M_CHECK(s >= 1 && rows % s == 0, "vlad: logits {} are not a whole number of {} rows per video",
            a.in(0).str(), s);
  return one(vlad(a.in(0), a.in(1), a.in(2), rows / s));
}

// A CUDA gather does not copy its index back to check it: an index the executor holds on the host
// (an integer initializer, such as DiagPart's, or a host graph input) is checked here; one
// computed on the device comes from sample_frames and is in range by construction.
Out run_gather_rows(const OpArgs& a) {
  if (a.device().is_cuda() && a.has_host(1) && a.in(0).defined() && a.in(0).dim() >= 1)
    check_gather_index(a.host(1), a.in(0).size(0), a.in(0).str());
  return one(gather_rows(a.in(0), a.in(1)));
}

Out run_prepare_frames(const OpArgs& a) {
  return one(prepare_frames(a.in(0), a.in(1).to(a.in(0).device())));
}

// The quantize pass (pipeline/quantize.h) turns matmul(x, W) into dequant_matmul(x, Wq, codebook)
// without knowing x's rank, and matmul broadcasts a 2-D W over a batched x [..., M, K]: such an x
// is multiplied as the [rows, K] matrix it is in memory, and the result gets x's leading
// dimensions back.
Out run_dequant_matmul(const OpArgs& a) {
  const Tensor& x = a.in(0);
  if (x.dim() <= 2) return one(dequant_matmul(x, a.in(1), a.in(2), a.in(3)));
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  const int64_t rows = engine::shape_numel(out_shape);
  const Tensor y = dequant_matmul(x.reshape({rows, x.size(-1)}), a.in(1), a.in(2), a.in(3));
  out_shape.push_back(y.size(1));
  return one(y.reshape(out_shape));
}

Out run_sample_frames(const OpArgs& a) {
  return one(sample_frames(a.host(0), a.i("max_frames"), a.i("num_samples"),
                           sample_mode_from_name(a.s("mode")), a.gen(), a.device()));
}

Out run_frame_counts(const OpArgs& a) {
  return one(frame_counts(a.host(0), a.i("max_frames"), a.i("min_count"),
                          engine::dtype_from_name(a.s("dtype")), a.device()));
}

// The recurrent ops read num_frames on the host (lengths clip there); the executor's host copy
// avoids a device round trip.
Out run_lstm(const OpArgs& a) {
  return one(lstm(a.in(0), a.host(1), a.in(2), a.in(3), a.b("reverse"), a.s("output")));
}
Out run_gru(const OpArgs& a) {
  return one(
      gru(a.in(0), a.host(1), a.in(2), a.in(3), a.in(4), a.in(5), a.b("reverse"), a.s("output")));
}

void check_batch_norm(const Node& n, size_t index) {
  Y8M_CHECK(!n.attrs.at("training").b(),
            "graph: node {} (batch_norm) is in training mode; graphs hold the eval forward", index);
}
void check_sample_frames(const Node& n, size_t index) {
  try {
    sample_mode_from_name(n.attrs.at("mode").s());
  } catch (const Error& e) {
    Y8M_FAIL("graph: node {} (sample_frames): {}", index, e.what());
  }
}
void check_frame_counts(const Node& n, size_t index) {
  const std::string& d = n.attrs.at("dtype").s();
  Y8M_CHECK(d == "f32" || d == "f64",
            "graph: node {} (frame_counts): dtype must be f32 or f64, got '{}'", index, d);
}

// The run function (and extra check) of every op; the schema comes from ops/op_list.h.
struct RunEntry {
  const char* name;
  std::vector<Tensor> (*run)(const OpArgs&);
  void (*check)(const Node& node, size_t index) = nullptr;
};

std::vector<RunEntry> run_entries() {
  // clang-format off
  return {
      {"matmul", [](const OpArgs& a) { return one(matmul(a.in(0), a.in(1), a.b("trans_a"), a.b("trans_b"))); }},
      {"add", binary<add>},
      {"sub", binary<sub>},
      {"mul", binary<mul>},
      {"div", binary<div>},
      {"add_scalar", scalar<add_scalar>},
      {"mul_scalar", scalar<mul_scalar>},
#define Y8M_UNARY_RUN(X, name, lo, hi, forward, backward) {#name, unary<ops::name>},
      Y8M_UNARY_OPS(Y8M_UNARY_RUN, _)
#undef Y8M_UNARY_RUN
      {"sum", reduce<sum>},
      {"mean", reduce<mean>},
      {"max", reduce<ops::max>},
      {"softmax", unary<softmax>},
      {"l2_normalize", [](const OpArgs& a) { return one(l2_normalize(a.in(0), a.i("axis"))); }},
      {"reshape", [](const OpArgs& a) { return one(reshape(a.in(0), a.ints("shape"))); }},
      {"concat", [](const OpArgs& a) { return one(concat(a.inputs(), a.i("axis"))); }},
      {"split", [](const OpArgs& a) { return split(a.in(0), a.ints("sizes"), a.i("axis")); }},
      {"slice", [](const OpArgs& a) { return one(slice(a.in(0), a.i("axis"), a.i("begin"), a.i("end"))); }},
      {"transpose", unary<transpose>},
      {"gather_rows", run_gather_rows},
      {"batch_norm", run_batch_norm, check_batch_norm},
      {"sigmoid_cross_entropy", [](const OpArgs& a) { return one(sigmoid_cross_entropy(a.in(0), a.in(1), a.f("epsilon"))); }},
      {"prepare_frames", run_prepare_frames},
      {"vlad", run_vlad},
      {"gated_moe", [](const OpArgs& a) { return one(gated_moe(a.in(0), a.in(1), a.i("num_mixtures"))); }},
      {"dequant_matmul", run_dequant_matmul},
      {"dequantize", binary<dequantize>},
      {"lstm", run_lstm},
      {"gru", run_gru},
      {"sample_frames", run_sample_frames, check_sample_frames},
      {"frame_counts", run_frame_counts, check_frame_counts},
  };
  // clang-format on
}

std::vector<OpDef> make_table() {
  std::unordered_map<std::string, RunEntry> runs;
  for (const RunEntry& e : run_entries())
    Y8M_ASSERT(runs.emplace(e.name, e).second, "ops/graph/op_table.cpp: {} is listed twice",
               e.name);
  std::vector<OpDef> table;
  for (const OpSchema& s : op_schemas()) {
    const auto it = runs.find(s.name);
    Y8M_ASSERT(it != runs.end(), "ops/graph/op_table.cpp: {} (ops/op_list.h) has no run function",
               s.name);
    table.push_back(OpDef{&s, it->second.run, it->second.check});
    runs.erase(it);
  }
  Y8M_ASSERT(runs.empty(), "ops/graph/op_table.cpp: {} is not in ops/op_list.h",
             runs.empty() ? "" : runs.begin()->first);
  return table;
}

}  // namespace

const std::vector<OpDef>& op_table() {
  static const std::vector<OpDef> table = make_table();
  return table;
}

int64_t find_op(const std::string& name) {
  static const std::unordered_map<std::string, int64_t> index = [] {
    std::unordered_map<std::string, int64_t> m;
    for (size_t i = 0; i < op_table().size(); ++i)
      m[op_table()[i].schema->name] = static_cast<int64_t>(i);
    return m;
  }();
  const auto it = index.find(name);
  return it == index.end() ? -1 : it->second;
}

}  // namespace y8m::ops::graph
