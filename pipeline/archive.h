// Portable model archives (DESIGN.md §1, §4, §5; SPEC §9.1 step 4 and §10): a model's eval-mode
// forward frozen into a graph (ops/graph) with its weights, in one container of kind "archive", and
// run by the executor without model code.
//
// The traced forward is what eval.py exported as inference_model:
//   frame-level:  frames u8 [B, T, F], num_frames i32 [B]
//                   -> ops::prepare_frames -> model->forward (frame sampling included)
//   video-level:  features f32 [B, F] -> ops::l2_normalize -> model->forward
// and writes predictions f32 [B, V]. Build-time flags are baked in as the original did (SPEC §9.1):
// the model config (so --sample_all and --iterations), and --n_rounds: the graph runs the model
// n_rounds times, each drawing its own frame samples, and averages (p1 + p2 + ... ) * (1 / n), the
// order of pipeline/evaluator.cpp. The batch is dynamic: the forward is traced at two batch sizes
// (ops::graph::merge_batch_traces).
//
// Typical use (apps):
//   export:  pipeline::export_checkpoint("train/model.ckpt-100.y8m", "model.y8m", opts, device);
//   run:     pipeline::ArchiveModel m("model.y8m", device);
//            engine::Generator gen(seed);
//            Tensor p = m.predict(batch, gen);          // io::Batch from the reader -> [B, V]
#pragma once

#include "engine/rng.h"
#include "engine/tensor.h"
#include "io/reader.h"
#include "models/zoo.h"
#include "ops/graph/executor.h"
#include "ops/graph/graph.h"
#include "pipeline/graph_proto.h"

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace y8m::pipeline {

constexpr const char* kArchiveKind = "archive";

// y8m-infer and the C API (capi/) draw frame samples from engine::Generator(seed ^ this) ("infe"),
// so that one seed gives the same scores in both.
constexpr uint64_t kInferenceSeedSalt = 0x696e6665ull;

struct ExportOptions {
  int n_rounds = 1;         // eval.py --n_rounds: average of n forward passes
  int64_t trace_batch = 2;  // traced at trace_batch and trace_batch + 1 (any batch runs)
  uint64_t trace_seed = 0;  // content of the synthetic trace inputs (does not affect the graph)
  // export_checkpoint only: architecture flags from the command line (eval_model_config).
  std::map<std::string, std::string> model_flags;
  bool use_ema = false;  // export_checkpoint only: the EMA shadows instead of the weights
  std::map<std::string, std::string> metadata;  // extra provenance written into the archive
  std::FILE* notes = nullptr;  // export_checkpoint only: where notes go (flags ignored, EMA hint)
};

// Traces `model`'s forward (switched to eval mode for the trace and restored after) on its device.
// The model's parameters must be f32. Errors name what cannot be captured.
ops::graph::GraphWithWeights trace_model(models::VideoModel& model, const ExportOptions& opts = {});

// The codebook of each quantized tensor, as the graph uses them: indices -> codebook for every
// dequant_matmul(x, indices, codebook, bias) and dequantize(codebook, indices) node.
std::map<std::string, std::string> codebook_names(const ops::graph::Graph& graph);

// Writes an archive: the graph, its initializers as tensors (a quantized tensor's entry names its
// codebook: codebook_names), the model config and metadata (n_rounds, sample_all, format and
// anything in `metadata`).
void write_archive(const std::string& path, const ops::graph::GraphWithWeights& traced,
                   const models::ModelConfig& config,
                   const std::map<std::string, std::string>& metadata);

// Traces `model` and writes the archive in one call.
void export_model(models::VideoModel& model, const std::string& path,
                  const ExportOptions& opts = {});

// An app that runs an archive (y8m-infer) takes its architecture from the archive: flags given on
// the command line (name -> value, config map form) must agree with the archive's config at
// `path`, the frame-sampling ones included (they were baked in at export); else an error names the
// first that does not.
void check_flags_match_archive(const std::map<std::string, std::string>& archive_config,
                               const std::string& path,
                               const std::map<std::string, std::string>& flags);

// The config that evaluation and export build from a checkpoint's config (at `path`) and the
// architecture flags given on the command line (name -> value). eval.py built its graph from its
// own flags, so the frame-sampling ones (--sample_all, --sample_random_frames, --iterations)
// replace the checkpoint's; every other one must agree with the checkpoint, else an error names it
// — except a flag the checkpoint's EMA run was given and ignored with the same value (`ignored`,
// pipeline/checkpoint.h ignored_flags), which is ignored again with a line in `notes`.
models::ModelConfig eval_model_config(const std::map<std::string, std::string>& checkpoint_config,
                                      const std::string& path,
                                      const std::map<std::string, std::string>& flags,
                                      const std::map<std::string, std::string>& ignored = {},
                                      std::vector<std::string>* notes = nullptr);

// Loads a checkpoint (pipeline/checkpoint.h), applies opts.model_flags (eval_model_config), builds
// the model on `device` and exports it; the archive records the checkpoint path and step.
void export_checkpoint(const std::string& checkpoint, const std::string& path,
                       const ExportOptions& opts = {}, Device device = Device::cpu());

struct Archive {
  std::string path;
  ops::graph::Graph graph;
  ops::graph::NamedTensors initializers;  // zero-copy CPU views of the file
  std::map<std::string, std::string> model_config;
  std::map<std::string, std::string> metadata;
};

// Opens, CRC-verifies and validates an archive (kind, graph version, graph, initializers present).
Archive read_archive(const std::string& path);

// The graph inputs of a reader batch: frames/num_frames for frame-level graphs, features for
// video-level ones (batch.frames either way).
std::map<std::string, Tensor> graph_inputs(const ops::graph::Graph& graph, const io::Batch& batch);

// An archive ready to run on one device.
class ArchiveModel {
 public:
  ArchiveModel(const std::string& path, Device device = Device::cpu());
  // predictions f32 [B, V] on the device.
  Tensor predict(const io::Batch& batch, engine::Generator& gen) const;
  Tensor predict(const std::map<std::string, Tensor>& inputs, engine::Generator& gen) const;

  const Archive& archive() const { return archive_; }
  const ops::graph::Executor& executor() const { return executor_; }
  models::ModelConfig config() const { return models::config_from_map(archive_.model_config); }

 private:
  Archive archive_;
  ops::graph::Executor executor_;
};

}  // namespace y8m::pipeline
