// The skeleton that NetVLADModelLF, NetFVModelLF and the DBoF-LF models share (SPEC §3.1–3.3):
//
//   1-3  Z = BN_{input_bn}(reshape(sample_frames(X, n, S), [B*S, ΣF])), split into the rgb and
//        audio streams (FrameStreams)
//   4-5  a pooling per stream, concatenated (the model's own part)
//   6    h = D · W1, W1 "hidden1_weights" [Ddim, H] ~ N(0, 1/sqrt(K))   (K, not the fan-in:
//                                                                        SPEC §16.4)
//        relu:    h = relu6(BN_{hidden1_bn}(h))
//        no relu: h = h + b1, b1 "hidden1_biases" [H] ~ N(0, 0.01)      (HiddenLayer)
//   7-8  optional context gating, then the head.
#pragma once
#include "models/models_layer.h"

#include "models/config.h"
#include "models/heads.h"
#include "models/layers.h"
#include "models/sampling.h"
#include "models/video_model.h"

#include <memory>
#include <optional>
#include <vector>

namespace y8m::models {

// The checks every sampled-frame model makes before allocating: --sample_all only with
// --iterations == max_frames, and the batch-norm flag on (the original's no-BN branches cannot run,
// SPEC §16.11; `bn_flag` names it, e.g. "netvlad_add_batch_norm").
void check_frame_model(const ModelConfig& c, bool add_batch_norm, const char* bn_flag);
// check_frame_model, and exactly two feature streams (rgb, audio).
void check_two_stream_model(const ModelConfig& c, bool add_batch_norm, const char* bn_flag);

// Steps 1-3: the sampled frames of each video through the input batch norm, split per stream.
class FrameStreams {
 public:
  // Registers "input_bn" into `owner`. split = false keeps the features together (one stream).
  FrameStreams(Scope& owner, Initializer& init, const ModelConfig& c, bool split = true);
  // inputs [B, T, ΣF] -> {Zv [B*S, F0], Za [B*S, F1]} (or {Z [B*S, ΣF]}). Draws from `sampling`
  // once per call.
  std::vector<Tensor> forward(const Tensor& inputs, const Tensor& num_frames_host,
                              engine::Generator& sampling) const;
  const SamplingOptions& sampling_options() const { return sampling_; }

 private:
  SamplingOptions sampling_;
  std::vector<int64_t> sizes_;
  std::shared_ptr<BatchNorm> input_bn_;
};

// Step 6. Registers into `owner`: "hidden1_weights", then "hidden1_bn" (relu) or "hidden1_biases".
class HiddenLayer {
 public:
  HiddenLayer(Scope& owner, Initializer& init, int64_t in, int64_t hidden, int64_t cluster_size,
              bool relu);
  Tensor forward(const Tensor& d) const;

 private:
  Tensor weights_, biases_;
  std::shared_ptr<BatchNorm> bn_;
};

// A model built on the skeleton: frame streams, the subclass's pooling of both streams, an optional
// hidden layer and context gating, the head. Subclass constructors build, in creation order:
// build_streams(), their poolings, then build_top().
class PooledFrameModel : public VideoModel {
 public:
  // inputs [B, T, F0+F1], num_frames host [B] -> probabilities [B, V]. Draws from `sampling` once
  // per call (models/sampling.h).
  Tensor forward(const Tensor& inputs, const Tensor& num_frames_host,
                 engine::Generator& sampling) override;
  Tensor regularization_loss() override { return head_->regularization_loss(); }
  bool frame_level() const override { return true; }
  bool samples_frames() const override { return true; }
  const SamplingOptions& sampling_options() const { return streams_->sampling_options(); }

 protected:
  explicit PooledFrameModel(const ModelConfig& config) : VideoModel(config) {}
  void build_streams(Initializer& init, bool split = true) {
    streams_.emplace(*this, init, config(), split);
  }
  struct Top {
    int64_t descriptor = 0;    // width of the pooled descriptor D
    bool hidden = true;        // the hidden layer (else the head reads D)
    int64_t hidden_size = 0;   // H
    int64_t cluster_size = 0;  // K, for the hidden weights' std
    bool relu = false;
    bool gating = false;  // CG-BN (--gating_remove_diag applies)
  };
  void build_top(Initializer& init, const Top& top);
  // z = {Zv [B*S, F0], Za [B*S, F1]} -> D [B, descriptor].
  virtual Tensor pool(const std::vector<Tensor>& z, int64_t batch) = 0;

 private:
  std::optional<FrameStreams> streams_;
  std::optional<HiddenLayer> hidden_;
  std::optional<ContextGating> gating_;
  std::unique_ptr<Head> head_;
};

}  // namespace y8m::models
