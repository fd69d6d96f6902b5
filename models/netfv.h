// NetFVModelLF (SPEC §3.2; the FVNet config of SPEC §0.3): NetVLADModelLF's skeleton
// (models/frame_skeleton.h) with a Fisher-vector pooling per stream instead of VLAD:
//
//   1-3  Z = BN_{input_bn}(sampled frames), split into Zv [B*S, F0] and Za [B*S, F1]
//   4    v = NetFV_{video_FV}(Zv, K)         [B, 2·F0·K]
//        a = NetFV_{audio_FV}(Za, K div 2)   [B, 2·F1·(K div 2)]
//   5-8  D = concat(v, a); hidden layer (--fv_relu, std 1/sqrt(K)); CG-BN gating (--gating,
//        --gating_remove_diag); head (--video_level_classifier_model)
//
// NetFV block (input Z [B*S, F], the S frames of a video contiguous):
//   A   = softmax(BN_{cluster_bn}(Z · Wc)) as [B, S, K];  asum[b,k] = Σ_s A
//   σ   = Cv² + 1e-6                             Cv "covar_weights" [F, K] ~ N(1, 1/sqrt(F))
//   μ   = "cluster_weights2" [F, K] ~ N(0, 1/sqrt(F)), or fv_coupling_factor · Wc with
//         --fv_couple_weights (no variable)
//   S1  = Σ_s A·Z,  S2 = Σ_s A·Z²                [B, F, K]
//   fv1 = l2norm_all(l2norm_f((S1 − asum·μ) / σ))
//   fv2 = l2norm_all((asum·μ² + S2 − 2·μ·S1) / σ² − asum)    (no intra-normalization)
//   out = concat(fv1, fv2) flattened with (f, k) at f·K + k   [B, 2·F·K]
//
// Variables, in creation order: cluster_weights [F, K] ~ N(0, 1/sqrt(F)), covar_weights,
// cluster_bn/{beta, gamma, moving_mean, moving_variance}, cluster_weights2 (uncoupled only; TF
// stores it as [1, F, K]). Built from existing ops (matmul, softmax, reductions, element-wise),
// so every kernel and gradient is the engine's.
#pragma once
#include "models/models_layer.h"

#include "models/frame_skeleton.h"

#include <memory>

namespace y8m::models {

class NetFV : public Scope {
 public:
  NetFV(Initializer& init, int64_t feature_size, int64_t cluster_size, bool couple_weights,
        double coupling_factor);
  // z [B*S, F] -> [B, 2*F*K].
  Tensor forward(const Tensor& z, int64_t batch);
  int64_t output_size() const { return 2 * feature_size_ * cluster_size_; }

 private:
  int64_t feature_size_, cluster_size_;
  bool couple_weights_;
  double coupling_factor_;
  Tensor cluster_weights_, covar_weights_, cluster_weights2_;
  std::shared_ptr<BatchNorm> cluster_bn_;
};

class NetFVModelLF : public PooledFrameModel {
 public:
  NetFVModelLF(const ModelConfig& config, Initializer& init);
  // 2·(F0·K + F1·(K div 2)) (208,896 for FVNet).
  int64_t descriptor_size() const { return video_fv_->output_size() + audio_fv_->output_size(); }

 protected:
  Tensor pool(const std::vector<Tensor>& z, int64_t batch) override;

 private:
  std::shared_ptr<NetFV> video_fv_, audio_fv_;
};

}  // namespace y8m::models
