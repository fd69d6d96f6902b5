// Turning a reader batch into model inputs on the device (SPEC §1.6–1.7): frame-level uint8 frames
// go through the fused dequantize + pad + per-frame L2 op; video-level features are L2-normalized.
// Also the reader settings a model config implies (features, classes, frames).
#pragma once

#include "engine/tensor.h"
#include "io/reader.h"
#include "models/zoo.h"

#include <cstdint>
#include <string>

namespace y8m::pipeline {

struct ModelInputs {
  Tensor features;    // f32 [B, T, F] (frame-level) or [B, F] (video-level), on the device
  Tensor num_frames;  // i32 [B] on the host
};

ModelInputs model_inputs(const io::Batch& batch, bool frame_features, Device device);

// The reader settings the model config implies (features, classes, frames, video level).
io::ReaderOptions reader_options(const models::ModelConfig& config);

// What else a reader takes from training, evaluation, inference and distillation: their data flags
// and whether the records carry labels and are shuffled.
struct ReaderFlags {
  std::string patterns;
  std::string pattern_flag;  // named in errors: "--train_data_pattern", ...
  int batch_size = 1024;
  int num_readers = 1;
  std::string corrupt_records;  // --corrupt_records (io::corrupt_policy_from_name)
  bool require_labels = true;   // false for test data (inference, distillation)
  bool training = false;        // shuffled files and examples, num_epochs passes from seed
  int num_epochs = 1;
  uint64_t seed = 0;
};

// reader_options(config) with `flags` applied; throws on an unknown --corrupt_records name.
io::ReaderOptions reader_options(const models::ModelConfig& config, const ReaderFlags& flags);

}  // namespace y8m::pipeline
