// Turning a reader batch into model inputs on the device (SPEC §1.6–1.7): frame-level uint8 frames
// go through the fused dequantize + pad + per-frame L2 op; video-level features are L2-normalized.
// Also the reader settings a model config implies (features, classes, frames).
#pragma once

#include "engine/tensor.h"
#include "io/reader.h"
#include "models/zoo.h"

namespace y8m::pipeline {

struct ModelInputs {
  Tensor features;    // f32 [B, T, F] (frame-level) or [B, F] (video-level), on the device
  Tensor num_frames;  // i32 [B] on the host
};

ModelInputs model_inputs(const io::Batch& batch, bool frame_features, Device device);
io::ReaderOptions reader_options(const models::ModelConfig& config);

}  // namespace y8m::pipeline
