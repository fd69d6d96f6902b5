// Training checkpoints: <train_dir>/model.ckpt-<step>.y8m, y8m containers of kind "checkpoint"
// holding everything a run needs to continue exactly (DESIGN.md §5): parameters and BN statistics
// (by their model names), Adam slots and beta powers ("optimizer/..."), for EMA runs the shadows
// ("<name>/ExponentialMovingAverage", TF's names, SPEC §7), the step, the frame-sampling generator,
// the number of examples the reader delivered, the model config and the run's flags.
#pragma once

#include "engine/tensor.h"
#include "io/container.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace y8m::pipeline {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct CheckpointState {
  int64_t step = 0;
  std::map<std::string, std::string> model_config;
  std::map<std::string, std::string> metadata;  // flags, sampling generator, reader position, ...
  NamedTensors model;                           // parameters and buffers
  NamedTensors optimizer;                       // Adam state
  NamedTensors
      ema;  // EMA shadows, named "<model tensor>/ExponentialMovingAverage" (empty without EMA)
};

std::string checkpoint_path(const std::string& train_dir, int64_t step);
// Writes <train_dir>/model.ckpt-<step>.y8m atomically and returns its path, then applies retention
// when keep_max > 0 (0 keeps all, as the original): the checkpoint just written and the newest
// keep_max - 1 other checkpoints that verify (CRCs checked once per process per file) are kept,
// older verified ones are deleted. A checkpoint that does not verify is never counted, never
// deleted and is named on `log` (once per file per process), so that retention can never leave
// only a corrupt checkpoint. Checkpoint temporaries of writers that are gone are removed and named
// too.
std::string save_checkpoint(const std::string& train_dir, const CheckpointState& state,
                            int keep_max, std::FILE* log = nullptr);
// Checkpoints in train_dir, newest (largest step) first.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& train_dir);
// The newest checkpoint that opens and passes its CRC checks ("" if none). Broken ones are reported
// through `skipped` (path: reason) and passed over.
std::string latest_valid_checkpoint(const std::string& train_dir,
                                    std::vector<std::string>* skipped = nullptr);

// Opens a checkpoint (validated and CRC-verified) and splits it back into a CheckpointState.
// Tensors are zero-copy views of the mapped file.
CheckpointState load_checkpoint(const std::string& path);

// EMA runs (SPEC §7): architecture flags on the command line that differ from the --ema_source
// model are ignored, with a note: the run keeps its source's architecture (the original README's
// EMA command passes LSTM-style flags, --video_level_classifier_model=LogisticModel, to a NetVLAD
// source). The checkpoint records them as metadata "ignored_flag.<name>" = value, so that resuming
// the run, or evaluating it, with the same command line ignores them again instead of failing.
constexpr const char* kIgnoredFlagPrefix = "ignored_flag.";
std::map<std::string, std::string> ignored_flags(
    const std::map<std::string, std::string>& metadata);

// Refuses weights holding Inf or NaN (a diverged run's, or a damaged file whose CRC was rewritten):
// throws "<what>: tensor '<name>' has N non-finite values (first: nan at element i)". Floating
// tensors only; integer (quantized) ones cannot hold either.
void check_finite_weights(const NamedTensors& tensors, const std::string& what);

// eval.py --use_EMA (SPEC §7.7): replaces every model tensor of `state` by its EMA shadow and drops
// the shadows. Throws (naming `what`, e.g. the checkpoint path) when the checkpoint has no shadows
// or lacks the shadow of some model tensor.
void swap_in_ema(CheckpointState& state, const std::string& what = "checkpoint");

// The weights a run starts from (--ema_source): a checkpoint or a model archive, both containers
// whose model tensors are named as the model's parameters and buffers (an archive may hold more:
// graph constants, codebooks). Optimizer state ("optimizer/...") and EMA shadows are left out.
// Tensors are zero-copy views of the mapped file; the caller refuses quantized ones (codebook set,
// integer dtype).
struct ModelSource {
  std::string path;
  std::string kind;  // "checkpoint" or "archive"
  std::map<std::string, std::string> model_config;
  std::vector<io::ContainerTensor> tensors;
};
ModelSource load_model_source(const std::string& path, const std::string& flag = "--ema_source");

}  // namespace y8m::pipeline
