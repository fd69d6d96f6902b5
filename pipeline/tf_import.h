// Importing the original's TensorFlow 1 checkpoints (V2 bundles, io/tf_bundle.h): the winners'
// released inference_model and users' model.ckpt-N files, into y8m models.
//
// Name mapping (SPEC §2.5, §3): every y8m parameter or buffer "<name>" (models/*.cpp use the
// original's variable and scope names: "video_VLAD/cluster_weights", "input_bn/moving_mean",
// "gates/weights", ...) is read from the checkpoint variable "<scope>/<name>" (scope "tower", as
// train.py and eval.py build the graph; graph_ensemble.py's members are "model_<i>/tower"), or
// with use_ema from its shadow "<scope>/<name>/ExponentialMovingAverage" (SPEC §7). A variable
// stored by quantize.py (SPEC §11) as "<v>_quants" (u8) + "<v>_space" (f32[256]) is dequantized
// to space[quants] (the exact lookup the original's graph does), one stored as "<v>float16" is
// widened to f32. Shapes must match, except that leading 1s of the checkpoint's shape are dropped
// (cluster_weights2 is [1, F, K] in the original, [F, K] here).
//
// A variable the model needs that the checkpoint lacks, or that has another shape or dtype, is an
// error naming it (and the scopes the checkpoint does have, when the architecture looks wrong). A
// checkpoint variable under the scope that the model does not use is an error too (the
// architecture flags differ from the run that wrote it), except optimizer slots (".../Adam",
// ".../Adam_1", ".../Momentum", ...), EMA shadows when importing the raw weights and raw weights
// when importing the shadows; variables outside the scope (global_step, beta1_power, ...) are
// ignored. Ignored variables are counted.
#pragma once

#include "engine/device.h"
#include "io/tf_bundle.h"
#include "models/zoo.h"
#include "pipeline/checkpoint.h"

#include <memory>
#include <string>
#include <vector>

namespace y8m::pipeline {

// The checkpoint prefix that `path` denotes: a prefix P with P.index (also written P.index or
// P.meta), or a folder holding its `checkpoint` file's model_checkpoint_path (TensorFlow's newest
// entry), else its only *.index prefix. Errors name the path and what was found.
std::string resolve_tf_checkpoint(const std::string& path);

struct TfImportOptions {
  std::string scope = "tower";
  bool use_ema = false;
};

struct TfImported {
  std::string prefix;
  std::shared_ptr<models::VideoModel> model;  // on the CPU, eval mode
  bool use_ema = false;
  int64_t step = 0;        // global_step, else the prefix's "-N" suffix, else 0
  size_t imported = 0;     // model tensors read
  size_t dequantized = 0;  // of which from quantize.py's _quants/_space or float16 variables
  std::vector<std::string> ignored;  // checkpoint variables left out
};

TfImported import_tf_checkpoint(const std::string& prefix, const models::ModelConfig& config,
                                const TfImportOptions& opts = {});

// The imported model as a y8m checkpoint (model tensors only, no optimizer state): evaluable by
// y8m-eval and usable as y8m-train --ema_source.
CheckpointState tf_import_checkpoint_state(const TfImported& imported);

}  // namespace y8m::pipeline
