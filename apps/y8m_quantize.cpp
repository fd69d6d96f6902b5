// y8m-quantize: per-tensor 8-bit codebook quantization (or float16 storage) of an archive
// (quantize.py, SPEC §11), with its argparse command line:
//   y8m-quantize --transform_type quant_uniform --model run/inference_model.y8m
//                --savefile quant/inference_model.y8m [--min_elements 17000]
// --transform_type is one of float16, quant_uniform (the one the team used), quant_quantile,
// quant_kmeans. f32 tensors with more than --min_elements elements are transformed; the result is a
// normal archive that y8m-eval --model, y8m-infer and y8m-ensemble use like any other. --model and
// --savefile may be written as the original did ("run/inference_model" is
// run/inference_model.y8m); the savefile is written atomically and must not exist (quantize.py
// refused an existing one).
// Prints the archive sizes before and after, in bytes and MiB, and their ratio.
#include "apps/common/flags.h"
#include "apps/common/list_args.h"
#include "apps/common/model_path.h"
#include "engine/error.h"
#include "pipeline/quantize.h"

#include <cstdio>
#include <filesystem>
#include <string>

namespace {

using namespace y8m;

int g_argc;
char** g_argv;

int64_t parse_min_elements(const std::string& s) {
  size_t used = 0;
  long long v = -1;
  try {
    v = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  Y8M_CHECK(!s.empty() && used == s.size() && v >= 0,
            "--min_elements: '{}' is not a non-negative integer", s);
  return v;
}

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

int quantize() {
  const apps::ListArgs a = apps::parse_list_args(
      g_argc, g_argv, {}, {"transform_type", "model", "savefile", "min_elements"});
  Y8M_CHECK(a.values.count("transform_type"),
            "--transform_type: required (float16, quant_uniform, quant_quantile or quant_kmeans)");
  Y8M_CHECK(a.values.count("model"), "--model: required (the archive to quantize)");
  Y8M_CHECK(a.values.count("savefile"), "--savefile: required (the archive to write)");
  pipeline::QuantizeOptions o;
  o.transform = pipeline::quant_transform_from_name(a.values.at("transform_type"));
  if (a.values.count("min_elements"))
    o.min_elements = parse_min_elements(a.values.at("min_elements"));
  const std::string model = apps::resolve_model_path(a.values.at("model"));
  const std::string savefile = apps::output_model_path(a.values.at("savefile"));
  Y8M_CHECK(!std::filesystem::exists(savefile),
            "--savefile: {} already exists (as quantize.py, y8m-quantize does not overwrite it)",
            savefile);
  const pipeline::QuantizeSummary s = pipeline::quantize_archive(model, savefile, o);
  std::printf(
      "y8m-quantize: %s: transformed %zu of %lld tensors (f32, more than %lld elements)\n",
      pipeline::quant_transform_name(o.transform), s.stats.transformed.size(),
      static_cast<long long>(s.stats.transformed.size()) + static_cast<long long>(s.stats.kept),
      static_cast<long long>(o.min_elements));
  for (const pipeline::QuantizedEntry& e : s.stats.transformed)
    std::printf("  %s: %lld elements (%lld fused matmuls, %lld other readers)\n", e.name.c_str(),
                static_cast<long long>(e.elements), static_cast<long long>(e.fused_matmuls),
                static_cast<long long>(e.dequantized));
  std::printf("before: %llu bytes (%.1f MiB) %s\n",
              static_cast<unsigned long long>(s.file_bytes_before), mib(s.file_bytes_before),
              model.c_str());
  std::printf("after:  %llu bytes (%.1f MiB) %s\n",
              static_cast<unsigned long long>(s.file_bytes_after), mib(s.file_bytes_after),
              savefile.c_str());
  const double ratio = s.file_bytes_before > 0 ? static_cast<double>(s.file_bytes_after) /
                                                     static_cast<double>(s.file_bytes_before)
                                               : 0.0;
  std::printf("ratio:  %.4f (%.1f%% of the original size)\n", ratio, 100.0 * ratio);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  g_argc = argc;
  g_argv = argv;
  return y8m::apps::run_app("y8m-quantize", quantize);
}
