// Training checkpoints: <train_dir>/model.ckpt-<step>.y8m, y8m containers of kind "checkpoint" holding
// everything a run needs to continue exactly (DESIGN.md §5): parameters and BN statistics (by their model
// names), Adam slots and beta powers ("optimizer/..."), the step, the frame-sampling generator, the number
// of examples the reader delivered, the model config and the run's flags.
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
  NamedTensors model;                            // parameters and buffers
  NamedTensors optimizer;                        // Adam state
};

std::string checkpoint_path(const std::string& train_dir, int64_t step);
// Writes atomically, then deletes the oldest checkpoints beyond `keep_max` (0 keeps all, as the original).
void save_checkpoint(const std::string& train_dir, const CheckpointState& state, int keep_max);
// Checkpoints in train_dir, newest (largest step) first.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& train_dir);
// The newest checkpoint that opens and passes its CRC checks ("" if none). Broken ones are reported
// through `skipped` (path: reason) and passed over.
std::string latest_valid_checkpoint(const std::string& train_dir, std::vector<std::string>* skipped = nullptr);

// Opens a checkpoint (validated and CRC-verified) and splits it back into a CheckpointState. Tensors are
// zero-copy views of the mapped file.
CheckpointState load_checkpoint(const std::string& path);

}  // namespace y8m::pipeline
