// NetVLADModelLF (SPEC §3.1; WILLOW's model, used by the NetVLAD1/2 configs of SPEC §0.3):
//
//   1  Xs = sample_frames(X, n, S)     [B, S, ΣF]  (models/sampling.h: random frames,
//                                                   sample_all or a random sequence)
//   2  Z  = BN_{input_bn}(reshape(Xs, [B*S, ΣF]))
//   3  Zv = Z[:, :F0], Za = Z[:, F0:F0+F1]   (rgb then audio, from --feature_sizes;
//                                             the original hard-codes 1024 / 128)
//   4  v = NetVLAD_{video_VLAD}(Zv, K)         [B, F0·K]            (models/vlad.h)
//      a = NetVLAD_{audio_VLAD}(Za, K div 2)   [B, F1·(K div 2)]
//   5  D = concat(v, a)
//   6  h = D · W1, W1 "hidden1_weights" [Ddim, H] ~ N(0, 1/sqrt(K))
//                                     (K, not the fan-in: SPEC §16.4)
//      relu:     h = relu6(BN_{hidden1_bn}(h))
//      no relu:  h = h + b1, b1 "hidden1_biases" [H] ~ N(0, 0.01), no activation
//                (the final configs)
//   7  gating:   h = h ⊙ sigmoid(BN_{gating_bn}(h·Wg [- diag(Wg) ⊙ h]))
//                Wg "gating_weights_2" [H, H] ~ N(0, 1/sqrt(H)); the diagonal term with
//                --gating_remove_diag
//   8  p = Head(h)   (--video_level_classifier_model: MoeModel (default) or
//                     LogisticModel, models/heads.h)
//
// Variables (creation order = the order of the generator draws):
//   input_bn/{beta,gamma,moving_mean,moving_variance}
//   video_VLAD/{cluster_weights, cluster_bn/..., cluster_weights2}
//   audio_VLAD/{cluster_weights, cluster_bn/..., cluster_weights2}
//                                      (no cluster_weights2 with --lightvlad)
//   hidden1_weights, then hidden1_bn/... (relu) or hidden1_biases (no relu)
//   gating_weights_2, gating_bn/...                               (--gating)
//   head: gates/weights (or gates1/weights, gates2/weights), experts/{weights,biases},
//         gating_prob_weights, gating_prob_bn/...                 (MoeModel)
//         or fully_connected/{weights,biases}                     (LogisticModel)
//
// Unsupported combinations fail at construction with the reason, because the original
// cannot run them either (SPEC §16.11): --vlagd without --lightvlad (NetVLAGD is not
// defined in the seed), --netvlad_add_batch_norm=false (the cluster_biases branch uses an
// undefined name; the gating branch passes a tensor as initializer). Also required:
// exactly two feature streams and K >= 2.
#pragma once
#include "models/models_layer.h"

#include "models/frame_skeleton.h"
#include "models/vlad.h"

#include <memory>

namespace y8m::models {

class NetVLADModelLF : public PooledFrameModel {
 public:
  NetVLADModelLF(const ModelConfig& config, Initializer& init);
  // The pooled descriptor width F0·K + F1·(K div 2) (278,528 for NetVLAD1).
  int64_t descriptor_size() const {
    return video_vlad_->output_size() + audio_vlad_->output_size();
  }

 protected:
  Tensor pool(const std::vector<Tensor>& z, int64_t batch) override;

 private:
  std::shared_ptr<NetVLAD> video_vlad_, audio_vlad_;
};

}  // namespace y8m::models
