// Merging several archives into one graph (graph_ensemble.py, SPEC §12.1): the members' nodes,
// values and initializers are renamed with the prefix "model_<i>/", the graph inputs are shared,
// and the output is the weighted sum of the members' probabilities, predictions = sum_i w_i * p_i.
// Each member keeps its own preprocessing and frame sampling; at run time the members draw from the
// one generator in member order, so member i's samples continue where member i-1's stopped. The
// result is a normal archive.
#pragma once

#include "ops/graph/graph.h"
#include "pipeline/archive.h"

#include <string>
#include <vector>

namespace y8m::pipeline {

// Weights must be as many as members, finite, non-negative and sum to 1 within 1e-4 (the original
// checked only the sum). Members must read the same inputs (same graph input names, dtypes and
// shapes) and produce the same number of classes.
ops::graph::GraphWithWeights merge_archives(const std::vector<Archive>& members,
                                            const std::vector<double>& weights);

// Reads the members, merges them and writes <save_folder>/inference_model.y8m; save_folder must not
// exist, and appears only once complete (OutputFolder). Returns the written path.
std::string write_ensemble(const std::vector<std::string>& models,
                           const std::vector<double>& weights, const std::string& save_folder);

}  // namespace y8m::pipeline
