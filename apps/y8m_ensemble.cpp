// y8m-ensemble: merges several archives into one (graph_ensemble.py, SPEC §12.1), with its argparse
// command line:
//   y8m-ensemble --models a/inference_model.y8m b/inference_model.y8m c/inference_model.y8m
//       --weights 0.3333 0.3333 0.3334 --save_folder ensemble
// The weights must sum to 1 within 1e-4 and the save folder must not exist. The result is a normal
// archive (<save_folder>/inference_model.y8m) that y8m-infer and y8m-eval --model use like any
// other.
#include "apps/common/flags.h"
#include "apps/common/list_args.h"
#include "apps/common/model_path.h"
#include "engine/error.h"
#include "pipeline/ensemble.h"

#include <cstdio>
#include <filesystem>

namespace {

int g_argc;
char** g_argv;

int ensemble() {
  using namespace y8m;
  const apps::ListArgs a =
      apps::parse_list_args(g_argc, g_argv, {"models", "weights"}, {"save_folder"});
  Y8M_CHECK(a.lists.count("models"), "--models: give the archives to merge");
  Y8M_CHECK(a.lists.count("weights"), "--weights: give one weight per model");
  Y8M_CHECK(a.values.count("save_folder"), "--save_folder: required");
  std::vector<double> weights;
  for (const std::string& w : a.lists.at("weights")) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(w, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    Y8M_CHECK(used == w.size() && !w.empty(), "--weights: '{}' is not a number", w);
    weights.push_back(v);
  }
  std::vector<std::string> models;  // paths, or the original's prefixes ".../inference_model"
  for (const std::string& m : a.lists.at("models")) models.push_back(apps::resolve_model_path(m));
  const std::string path = pipeline::write_ensemble(models, weights, a.values.at("save_folder"));
  std::printf("y8m-ensemble: merged %zu models into %s (%.1f MB)\n", weights.size(), path.c_str(),
              std::filesystem::file_size(path) / 1e6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  g_argc = argc;
  g_argv = argv;
  return y8m::apps::run_app("y8m-ensemble", ensemble);
}
