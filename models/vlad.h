// NetVLAD pooling (SPEC §3.1, the `NetVLAD` / `LightVLAD` classes of devel_models), one per
// feature stream, created in the model under the scope "video_VLAD" or "audio_VLAD":
//
//   logits = BN_{cluster_bn}(Z · Wc)   Z [B*S, F], the S sampled frames of a video contiguous
//   out    = vlad(logits, Z, C, B)     [B, F*K], element (f, k) at f*K + k  (ops/fused/vlad.h)
//
// where vlad() is the soft assignment (softmax over K), the residual aggregation
// sum_s A[b,s,k] * (Z[b,s,f] - C[f,k]), intra-normalization over f and global L2
// normalization. LightVLAD (NetRVLAD, --lightvlad) drops the residual: no C term and no
// cluster_weights2 variable.
//
// Variables, in creation order:
//   cluster_weights   [F, K] ~ N(0, 1/sqrt(F))
//   cluster_bn/{beta, gamma, moving_mean, moving_variance}  [K]
//   cluster_weights2  [F, K] ~ N(0, 1/sqrt(F))   (not with LightVLAD)
//                     TF stores it as [1, F, K]; we store [F, K] (same elements, same
//                     order): an importer of TF checkpoints drops the leading 1.
// The batch-norm-free variant of the original (cluster_biases) references an undefined name
// and cannot run (SPEC §16.11), so add_batch_norm is not an option here.
// Uses ops::vlad, or ops::vlad_composite when Y8M_DISABLE_FUSION=1.
#pragma once
#include "models/models_layer.h"

#include "models/layers.h"

#include <memory>

namespace y8m::models {

class NetVLAD : public Scope {
 public:
  NetVLAD(Initializer& init, int64_t feature_size, int64_t cluster_size, bool lightvlad = false);
  // z [B*S, F] -> [B, F*K].
  Tensor forward(const Tensor& z, int64_t batch);

  int64_t feature_size() const { return feature_size_; }
  int64_t cluster_size() const { return cluster_size_; }
  int64_t output_size() const { return feature_size_ * cluster_size_; }

 private:
  int64_t feature_size_, cluster_size_;
  Tensor cluster_weights_, cluster_weights2_;  // cluster_weights2_ undefined for LightVLAD
  std::shared_ptr<BatchNorm> cluster_bn_;
};

}  // namespace y8m::models
