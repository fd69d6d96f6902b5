// The interface every model of the zoo implements (SPEC §3: "All models receive the
// L2-normalized X[B,300,1152] and num_frames n[B]. They return predictions[B,3862], which
// are probabilities").
//
// Inputs:
//   frame-level models (frame_level() true): inputs [B, T, ΣF] f32 (or f64 on the CPU),
//       the output of ops::prepare_frames (dequantized, zero-padded, each frame
//       L2-normalized, SPEC §1.6-1.7);
//   video-level models: inputs [B, ΣF] (e.g. mean_rgb, already L2-normalized by the caller).
//   num_frames_host: i32 (or i64) [B] on the host; video-level models ignore it.
//   sampling: the generator of frame sampling (models/sampling.h documents how it is
//       advanced); models that do not sample leave it untouched. Sampling runs in train and
//       eval mode alike, as in the original: pass a generator with a fixed state to make
//       evaluation reproducible.
// train()/eval() switch batch normalization between batch statistics (updating the moving
// averages) and the moving statistics.
#pragma once
#include "models/models_layer.h"

#include "engine/rng.h"
#include "engine/tensor.h"
#include "models/config.h"
#include "models/layers.h"

#include <string>
#include <utility>

namespace y8m::models {

class VideoModel : public Scope {
 public:
  explicit VideoModel(ModelConfig config) : config_(std::move(config)) {}

  // Probabilities [B, V], differentiable with respect to the parameters.
  virtual Tensor forward(const Tensor& inputs, const Tensor& num_frames_host,
                         engine::Generator& sampling) = 0;
  // The sum of the model's slim L2 terms (SPEC §6.3), a scalar [] in the parameter dtype and
  // device. train.py adds regularization_penalty times this to the label loss.
  virtual Tensor regularization_loss() = 0;
  // Whether forward expects [B, T, ΣF] frames (true) or [B, ΣF] video-level features.
  virtual bool frame_level() const = 0;
  // Whether forward draws from the sampling generator.
  virtual bool samples_frames() const { return false; }

  const ModelConfig& config() const { return config_; }
  const std::string& name() const { return config_.model; }

 protected:
  // Checks the inputs' shapes against the config (messages start with the model name);
  // returns B.
  int64_t check_inputs(const Tensor& inputs, const Tensor& num_frames_host) const;

 private:
  ModelConfig config_;
};

}  // namespace y8m::models
