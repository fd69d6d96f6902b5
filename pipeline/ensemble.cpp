#include "pipeline/ensemble.h"

#include "engine/error.h"
#include "models/config.h"
#include "pipeline/model_flags_json.h"
#include "pipeline/output_folder.h"

#include <cmath>
#include <filesystem>
#include <set>

namespace y8m::pipeline {

namespace og = ops::graph;

namespace {
// Config settings every member must share: they decide what the reader feeds the merged graph.
const char* kSharedInputSettings[] = {"feature_names", "feature_sizes", "frame_features",
                                      "max_frames", "num_classes"};
}  // namespace

og::GraphWithWeights merge_archives(const std::vector<Archive>& members,
                                    const std::vector<double>& weights) {
  Y8M_CHECK(!members.empty(), "--models: give at least one model");
  Y8M_CHECK(weights.size() == members.size(), "--weights: {} weights for {} models", weights.size(),
            members.size());
  double total = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    Y8M_CHECK(std::isfinite(weights[i]) && weights[i] >= 0,
              "--weights: weight {} of {} is {}; weights are non-negative and sum to 1", weights[i],
              members[i].path, std::isfinite(weights[i]) ? "negative" : "not finite");
    total += weights[i];
  }
  Y8M_CHECK(std::fabs(total - 1.0) <= 1e-4, "--weights must sum to 1 (within 1e-4), got {}", total);
  og::GraphWithWeights out;
  const og::Graph& first = members[0].graph;
  out.graph.inputs = first.inputs;
  std::set<std::string> input_names;
  for (const auto& in : first.inputs) input_names.insert(in.name);
  for (size_t i = 0; i < members.size(); ++i) {
    const Archive& m = members[i];
    const og::Graph& g = m.graph;
    Y8M_CHECK(g.outputs.size() == 1, "{}: an archive with {} outputs cannot be merged", m.path,
              g.outputs.size());
    Y8M_CHECK(g.inputs.size() == first.inputs.size(), "{} and {} read different inputs", m.path,
              members[0].path);
    for (size_t k = 0; k < g.inputs.size(); ++k) {
      const og::ValueInfo& a = g.inputs[k];
      const og::ValueInfo* b = first.find_input(a.name);
      Y8M_CHECK(b != nullptr && a.dtype == b->dtype && a.shape == b->shape,
                "{} reads input '{}' as {}{} but {} does not", m.path, a.name,
                engine::dtype_name(a.dtype), og::shape_pattern_str(a.shape), members[0].path);
    }
    for (const char* key : kSharedInputSettings) {
      const auto x = m.model_config.find(key), y = members[0].model_config.find(key);
      Y8M_CHECK(
          x != m.model_config.end() && y != members[0].model_config.end() && x->second == y->second,
          "{} has {}={} but {} has {}: members must read the same data", m.path, key,
          x != m.model_config.end() ? x->second : "?", members[0].path,
          y != members[0].model_config.end() ? y->second : "?");
    }
    const std::string prefix = "model_" + std::to_string(i) + "/";
    // "" is an absent optional input (dequant_matmul's bias, LightVLAD's centres): not a value.
    auto rename = [&](const std::string& v) {
      return v.empty() || input_names.count(v) ? v : prefix + v;
    };
    for (og::Node n : g.nodes) {
      for (auto& v : n.inputs) v = rename(v);
      for (auto& v : n.outputs) v = rename(v);
      out.graph.nodes.push_back(std::move(n));
    }
    for (const auto& name : g.initializers) out.graph.initializers.push_back(prefix + name);
    for (const auto& [name, t] : m.initializers) out.initializers.emplace_back(prefix + name, t);
    og::Node scale{"mul_scalar",
                   {rename(g.outputs[0])},
                   {prefix + "weighted_predictions"},
                   {{"scalar", weights[i]}}};
    out.graph.nodes.push_back(std::move(scale));
  }
  // The weighted sum, in member order; the last node writes "predictions".
  std::string acc = "model_0/weighted_predictions";
  for (size_t i = 1; i < members.size(); ++i) {
    const std::string sum =
        i + 1 == members.size() ? "predictions" : "ensemble/sum_" + std::to_string(i);
    out.graph.nodes.push_back(
        {"add", {acc, "model_" + std::to_string(i) + "/weighted_predictions"}, {sum}, {}});
    acc = sum;
  }
  if (members.size() == 1)
    out.graph.nodes.push_back({"mul_scalar", {acc}, {"predictions"}, {{"scalar", 1.0}}});
  out.graph.outputs = {"predictions"};
  og::validate(out.graph);
  return out;
}

std::string write_ensemble(const std::vector<std::string>& models,
                           const std::vector<double>& weights, const std::string& save_folder) {
  OutputFolder out(save_folder, "--save_folder");
  std::vector<Archive> members;
  for (const auto& p : models) members.push_back(read_archive(p));
  const og::GraphWithWeights merged = merge_archives(members, weights);
  std::map<std::string, std::string> meta;
  std::string list, wlist;
  for (size_t i = 0; i < models.size(); ++i) {
    list += (i ? "," : "") + models[i];
    wlist += (i ? "," : "") + fmt::format("{}", weights[i]);
  }
  meta["ensemble_members"] = list;
  meta["ensemble_weights"] = wlist;
  write_archive(out.temp() + "/inference_model.y8m", merged,
                models::config_from_map(members[0].model_config), meta);
  // graph_ensemble.py copied the last model's model_flags.json along (informational here).
  copy_model_flags_json(std::filesystem::path(models.back()).parent_path().string(), out.temp());
  out.commit();
  return out.path() + "/inference_model.y8m";
}

}  // namespace y8m::pipeline
