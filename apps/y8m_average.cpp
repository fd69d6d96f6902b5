// y8m-average: element-wise mean of the weights of same-architecture models (weights_average.py,
// which has a syntax error in the original, SPEC §12.2), with its argparse command line:
//   y8m-average --models run1/inference_model.y8m run2/inference_model.y8m --save_folder avg
// Inputs are archives (the output is <save_folder>/inference_model.y8m, same graph) or checkpoints
// (the output is <save_folder>/model.ckpt-<step>.y8m without optimizer state). Batch-norm
// statistics are averaged too. Different architectures, tensor sets or quantized (integer) tensors
// are refused.
#include "apps/common/flags.h"
#include "apps/common/list_args.h"
#include "apps/common/model_path.h"
#include "engine/error.h"
#include "pipeline/average.h"
#include "pipeline/output_folder.h"

#include <fmt/format.h>

#include <cstdio>
#include <memory>

namespace {

using namespace y8m;

int g_argc;
char** g_argv;

int average() {
  const apps::ListArgs args = apps::parse_list_args(g_argc, g_argv, {"models"}, {"save_folder"});
  Y8M_CHECK(args.lists.count("models"), "--models: give the models to average");
  Y8M_CHECK(args.values.count("save_folder"), "--save_folder: required");
  std::vector<std::string> paths;  // paths, or the original's prefixes ".../inference_model"
  for (const std::string& m : args.lists.at("models")) paths.push_back(apps::resolve_model_path(m));
  const std::string folder = args.values.at("save_folder");
  pipeline::OutputFolder out(folder, "--save_folder");  // appears only once written
  const pipeline::Averaged avg = pipeline::average_models(paths);
  const bool checkpoint = avg.contents.kind == "checkpoint";
  const std::string name =
      checkpoint ? fmt::format("model.ckpt-{}.y8m", avg.step) : "inference_model.y8m";
  io::write_container(out.temp() + "/" + name, avg.contents);
  out.commit();
  const std::string dest = out.path() + "/" + name;
  std::printf("y8m-average: averaged %zu %ss (%zu tensors) into %s\n", paths.size(),
              avg.contents.kind.c_str(), avg.contents.tensors.size(), dest.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  g_argc = argc;
  g_argv = argv;
  return y8m::apps::run_app("y8m-average", average);
}
