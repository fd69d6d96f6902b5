// GatedDbofModelLF and SoftDbofModelLF (SPEC §3.3; the DBoF1/2/3 configs of SPEC §0.3): deep
// bag-of-frames poolings on the shared skeleton (models/frame_skeleton.h). They ignore --gating
// (no hidden-layer context gating); the head's own flags apply.
//
//   1-3  Z = BN_{input_bn}(sampled frames), split into Zv [B*S, F0] and Za [B*S, F1]
//   4    video: GatedDBoF_{video_DBOF}(Zv, K)   (GatedDbofModelLF)   [B, K]
//               SoftDBoF_{video_DBOF}(Zv, K)    (SoftDbofModelLF)    [B, K or 2K]
//        audio: SoftDBoF_{audio_DBOF}(Za, K div 8)                    [B, K/8 or 2·K/8]
//   5    D = concat(video, audio)
//   6    --fc_dimred: hidden layer (--dbof_relu, std 1/sqrt(K)); else the head reads D
//   7    head (--video_level_classifier_model)
//
// Poolings (A = softmax(BN_{cluster_bn}(Z · Wc)) as [B, S, K], Wc "cluster_weights" [F, K] ~
// N(0, 1/sqrt(F))):
//   GatedDBoF: s = Σ_s A;  m = l2norm(max_s A);
//              g = sigmoid(BN_{cluster_bn_2}((m · Dr) · W2)),  Dr "dim_red" [K, F],
//                  W2 "cluster_weights_2" [F, K], both ~ N(0, 1/sqrt(F));
//              out = l2norm(g ⊙ s)
//   SoftDBoF:  out = l2norm(Σ_s A), followed by l2norm(max_s A) with --softdbof_maxpool
// Variables in creation order: cluster_weights, cluster_bn/..., then (gated) dim_red,
// cluster_weights_2, cluster_bn_2/... Built from existing ops.
//
// DbofModel (Google's baseline, SPEC §3.6; runme commands only), one stream over all features:
//   Z = BN_{input_bn}(sampled frames) [B*S, ΣF]
//   A = relu6(BN_{cluster_bn}(Z · Wc)),  Wc "cluster_weights" [ΣF, K] ~ N(0, 1/sqrt(ΣF))
//   D = max_s A (--dbof_pooling_method=max) or mean_s A (average)     [B, K]
//   h = relu6(BN_{hidden1_bn}(D · W1)),  W1 "hidden1_weights" [K, H] ~ N(0, 1/sqrt(K))
//   p = Head(h)   (the original crashes with MoeModel, SPEC §16.10; here every head works)
#pragma once
#include "models/models_layer.h"

#include "models/frame_skeleton.h"

#include <memory>

namespace y8m::models {

// GatedDBoF (gated = true) or SoftDBoF over one stream.
class DBoF : public Scope {
 public:
  DBoF(Initializer& init, int64_t feature_size, int64_t cluster_size, bool gated, bool maxpool);
  // z [B*S, F] -> [B, output_size()].
  Tensor forward(const Tensor& z, int64_t batch);
  int64_t output_size() const { return maxpool_ ? 2 * cluster_size_ : cluster_size_; }

 private:
  int64_t feature_size_, cluster_size_;
  bool gated_, maxpool_;
  Tensor cluster_weights_, dim_red_, cluster_weights_2_;
  std::shared_ptr<BatchNorm> cluster_bn_, cluster_bn_2_;
};

class DbofModelLF : public PooledFrameModel {
 public:
  // gated_video: GatedDbofModelLF (gated video stream), else SoftDbofModelLF.
  DbofModelLF(const ModelConfig& config, Initializer& init, bool gated_video);
  int64_t descriptor_size() const {
    return video_dbof_->output_size() + audio_dbof_->output_size();
  }

 protected:
  Tensor pool(const std::vector<Tensor>& z, int64_t batch) override;

 private:
  std::shared_ptr<DBoF> video_dbof_, audio_dbof_;
};

class DbofModel : public PooledFrameModel {
 public:
  DbofModel(const ModelConfig& config, Initializer& init);

 protected:
  Tensor pool(const std::vector<Tensor>& z, int64_t batch) override;

 private:
  Tensor cluster_weights_;
  std::shared_ptr<BatchNorm> cluster_bn_;
  bool average_ = false;
};

}  // namespace y8m::models
