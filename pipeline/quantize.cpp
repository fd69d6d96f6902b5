// The quantize graph pass and quantized archives (pipeline/quantize.h, SPEC §11).
#include "pipeline/quantize.h"

#include "engine/error.h"
#include "engine/parallel.h"
#include "io/container.h"
#include "models/config.h"
#include "ops/graph/executor.h"
#include "pipeline/archive.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <mutex>
#include <set>
#include <unordered_map>

namespace y8m::pipeline {

namespace og = ops::graph;

namespace {

constexpr const char* kTransformNames[] = {"float16", "quant_uniform", "quant_quantile",
                                           "quant_kmeans"};
constexpr QuantTransform kTransforms[] = {QuantTransform::float16, QuantTransform::quant_uniform,
                                          QuantTransform::quant_quantile,
                                          QuantTransform::quant_kmeans};

uint64_t align_blob(uint64_t bytes) {
  return (bytes + io::kBlobAlignment - 1) / io::kBlobAlignment * io::kBlobAlignment;
}

// f32 -> f16 (round to nearest even). |w| >= 65520 would round to infinity: refused, naming the
// tensor, as is any non-finite value.
Tensor to_float16(const Tensor& w, const std::string& what) {
  const float* p = w.data<float>();
  std::mutex mu;
  int64_t bad = -1;
  engine::parallel_for(0, w.numel(), int64_t(1) << 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      if (!(std::fabs(p[i]) < 65520.0f)) {  // also catches NaN
        std::lock_guard<std::mutex> l(mu);
        if (bad < 0 || i < bad) bad = i;
        return;
      }
    }
  });
  Y8M_CHECK(bad < 0,
            "{}: value {} at flat index {} is not finite in float16 (largest: 65504); keep this "
            "tensor f32 (a larger --min_elements) or use a quant_* transform",
            what, p[bad], bad);
  return w.to(DType::f16);
}

// Every value name of the graph: inputs, initializers and node outputs.
std::set<std::string> value_names(const og::Graph& g) {
  std::set<std::string> s(g.initializers.begin(), g.initializers.end());
  for (const og::ValueInfo& v : g.inputs) s.insert(v.name);
  for (const og::Node& n : g.nodes) s.insert(n.outputs.begin(), n.outputs.end());
  return s;
}

bool reads(const og::Node& n, const std::string& v) {
  return std::find(n.inputs.begin(), n.inputs.end(), v) != n.inputs.end();
}

// matmul(x, W) with W the right operand only and no transposes: the dequant_matmul pattern.
bool fusable_matmul(const og::Node& n, const std::string& w) {
  if (n.op != "matmul" || n.inputs.size() != 2 || n.inputs[1] != w || n.inputs[0] == w)
    return false;
  const auto ta = n.attrs.find("trans_a"), tb = n.attrs.find("trans_b");
  return ta != n.attrs.end() && tb != n.attrs.end() && ta->second.type() == og::AttrType::b &&
         tb->second.type() == og::AttrType::b && !ta->second.b() && !tb->second.b();
}

// Rewrites the consumers of W (quantized into q, c) in g's nodes; fills the entry's counts.
void rewire_quantized(og::Graph& g, const std::string& w, int64_t w_dim, const std::string& q,
                      const std::string& c, QuantizedEntry& e) {
  std::vector<og::Node>& nodes = g.nodes;
  int64_t first_other = -1;
  for (size_t i = 0; i < nodes.size(); ++i) {
    og::Node& n = nodes[i];
    if (!reads(n, w)) continue;
    if (w_dim == 2 && fusable_matmul(n, w)) {
      n = og::Node{"dequant_matmul", {n.inputs[0], q, c, ""}, n.outputs, {}};
      ++e.fused_matmuls;
    } else {
      if (first_other < 0) first_other = static_cast<int64_t>(i);
      ++e.dequantized;
    }
  }
  // The other readers keep reading `w`, now the output of one lookup placed before the first (or
  // at the end when only the graph's outputs name it).
  const bool output = std::find(g.outputs.begin(), g.outputs.end(), w) != g.outputs.end();
  if (first_other < 0 && output) first_other = static_cast<int64_t>(nodes.size());
  if (first_other >= 0)
    nodes.insert(nodes.begin() + first_other, og::Node{"dequantize", {c, q}, {w}, {}});
}

}  // namespace

QuantTransform quant_transform_from_name(const std::string& name) {
  for (size_t i = 0; i < std::size(kTransforms); ++i)
    if (name == kTransformNames[i]) return kTransforms[i];
  Y8M_FAIL("--transform_type: unknown transform '{}' (valid: {})", name,
           fmt::join(std::begin(kTransformNames), std::end(kTransformNames), ", "));
}

const char* quant_transform_name(QuantTransform t) {
  for (size_t i = 0; i < std::size(kTransforms); ++i)
    if (t == kTransforms[i]) return kTransformNames[i];
  return "?";
}

og::GraphWithWeights quantize_graph(const og::GraphWithWeights& in, const QuantizeOptions& opts,
                                    QuantizeStats* stats) {
  Y8M_CHECK(opts.min_elements >= 0, "--min_elements must be >= 0, got {}", opts.min_elements);
  og::validate(in.graph);
  std::unordered_map<std::string, Tensor> given;
  for (const auto& [name, t] : in.initializers) given.emplace(name, t);
  const std::set<std::string> names = value_names(in.graph);
  std::set<std::string> codebooks;
  for (const auto& kv : codebook_names(in.graph)) codebooks.insert(kv.second);
  auto check_new = [&](const std::string& name, const std::string& from) {
    Y8M_CHECK(!names.count(name),
              "quantize: cannot store '{}' as '{}': the graph already has a value of that name",
              from, name);
  };

  QuantizeStats st;
  og::GraphWithWeights out;
  out.graph = in.graph;
  out.graph.initializers.clear();
  og::NamedTensors before;
  for (const std::string& name : in.graph.initializers) {
    const auto it = given.find(name);
    Y8M_CHECK(it != given.end() && it->second.defined(),
              "quantize: the graph needs the initializer '{}', which was not given", name);
    const Tensor w = it->second.to(Device::cpu());
    before.emplace_back(name, w);
    if (w.dtype() != DType::f32 || w.numel() <= opts.min_elements || codebooks.count(name)) {
      out.graph.initializers.push_back(name);
      out.initializers.emplace_back(name, w);
      ++st.kept;
      continue;
    }
    const std::string what = fmt::format("quantize: '{}'", name);
    QuantizedEntry e;
    e.name = name;
    e.elements = w.numel();
    if (opts.transform == QuantTransform::float16) {
      // Storage only: the executor widens it back to f32 (ops/graph/executor.h).
      const std::string h = name + "float16";
      check_new(h, name);
      for (const std::string& o : in.graph.outputs)
        Y8M_CHECK(o != name, "{}: an initializer that is a graph output cannot become float16",
                  what);
      out.initializers.emplace_back(h, to_float16(w, what));
      out.graph.initializers.push_back(h);
      for (og::Node& n : out.graph.nodes) {
        bool used = false;
        for (std::string& v : n.inputs) {
          if (v != name) continue;
          v = h;
          used = true;
        }
        e.dequantized += used;
      }
      e.stored = {h};
    } else {
      const std::string q = name + "_quants", c = name + "_space";
      check_new(q, name);
      check_new(c, name);
      QuantizedTensor qt = quantize_tensor(w, opts.transform, what);
      out.initializers.emplace_back(q, std::move(qt.indices));
      out.initializers.emplace_back(c, std::move(qt.codebook));
      out.graph.initializers.push_back(q);
      out.graph.initializers.push_back(c);
      rewire_quantized(out.graph, name, w.dim(), q, c, e);
      e.stored = {q, c};
    }
    st.transformed.push_back(std::move(e));
  }
  og::validate(out.graph);
  st.data_bytes_before = tensor_data_bytes(before);
  st.data_bytes_after = tensor_data_bytes(out.initializers);
  if (stats) *stats = std::move(st);
  return out;
}

uint64_t tensor_data_bytes(const og::NamedTensors& tensors) {
  uint64_t total = 0;
  for (const auto& kv : tensors) total += align_blob(kv.second.nbytes());
  return total;
}

uint64_t predicted_data_bytes(const og::NamedTensors& tensors, const QuantizeOptions& opts) {
  uint64_t total = 0;
  for (const auto& [name, t] : tensors) {
    const uint64_t n = static_cast<uint64_t>(t.numel());
    if (t.dtype() != DType::f32 || t.numel() <= opts.min_elements)
      total += align_blob(t.nbytes());
    else if (opts.transform == QuantTransform::float16)
      total += align_blob(2 * n);
    else
      total += align_blob(n) + align_blob(kCodebookSize * sizeof(float));
  }
  return total;
}

QuantizeSummary quantize_archive(const std::string& model, const std::string& savefile,
                                 const QuantizeOptions& opts) {
  namespace fs = std::filesystem;
  Y8M_CHECK(!model.empty(), "--model: give the archive to quantize");
  Y8M_CHECK(!savefile.empty(), "--savefile: give the path of the quantized archive");
  Y8M_CHECK(!fs::is_directory(savefile),
            "--savefile: '{}' is a folder; give the path of the archive file to write", savefile);
  const Archive a = read_archive(model);
  QuantizeSummary s;
  s.file_bytes_before = fs::file_size(model);
  const og::GraphWithWeights q = quantize_graph({a.graph, a.initializers}, opts, &s.stats);
  std::map<std::string, std::string> meta = a.metadata;
  meta.erase("graph_version");  // write_archive sets the current one
  meta["quantize_transform"] = quant_transform_name(opts.transform);
  meta["quantize_min_elements"] = std::to_string(opts.min_elements);
  meta["quantized_from"] = model;
  const fs::path parent = fs::path(savefile).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  write_archive(savefile, q, models::config_from_map(a.model_config), meta);
  s.file_bytes_after = fs::file_size(savefile);
  return s;
}

}  // namespace y8m::pipeline
