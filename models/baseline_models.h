// The small models of the original: the video-level LogisticModel and MoeModel
// (video_level_models.py, used as models on [B, ΣF] video-level features; SPEC §2.3) and Google's
// FrameLevelLogisticModel (frame_level_models.py, SPEC §3.6). None of them samples frames.
#pragma once
#include "models/models_layer.h"

#include "models/heads.h"
#include "models/video_model.h"

#include <memory>

namespace y8m::models {

// p = sigmoid(x·W + b) on video-level input x [B, ΣF]. Variables fully_connected/{weights,biases};
// regularizer 1e-8·||W||²/2.
class LogisticModel : public VideoModel {
 public:
  LogisticModel(const ModelConfig& config, Initializer& init);
  Tensor forward(const Tensor& inputs, const Tensor& num_frames_host,
                 engine::Generator& sampling) override;
  Tensor regularization_loss() override { return head_->regularization_loss(); }
  bool frame_level() const override { return false; }

 private:
  std::unique_ptr<LogisticHead> head_;
};

// The MoE head of heads.h with every --moe_* flag (and --gating_remove_diag) on video-level input
// [B, ΣF]. Variables gates/..., experts/..., gating_prob_weights, gating_prob_bn/...
class MoeModel : public VideoModel {
 public:
  MoeModel(const ModelConfig& config, Initializer& init);
  Tensor forward(const Tensor& inputs, const Tensor& num_frames_host,
                 engine::Generator& sampling) override;
  Tensor regularization_loss() override { return head_->regularization_loss(); }
  bool frame_level() const override { return false; }

 private:
  std::unique_ptr<MoeHead> head_;
};

// FrameLevelLogisticModel: x̄[b] = Σ_t X[b,t,:] / n[b] (the sum runs over all T slots; padding is
// zero), then p = sigmoid(x̄·W + b) with W fully_connected/weights (Xavier), regularizer
// 1e-8·||W||²/2. Deviation: a video with n = 0 is divided by 1 (x̄ = 0, p = sigmoid(b)) where the
// original divides 0 by 0 and yields NaN, which would poison a whole training batch.
class FrameLevelLogisticModel : public VideoModel {
 public:
  FrameLevelLogisticModel(const ModelConfig& config, Initializer& init);
  Tensor forward(const Tensor& inputs, const Tensor& num_frames_host,
                 engine::Generator& sampling) override;
  Tensor regularization_loss() override { return head_->regularization_loss(); }
  bool frame_level() const override { return true; }

 private:
  std::unique_ptr<LogisticHead> head_;
};

}  // namespace y8m::models
