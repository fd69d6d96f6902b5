#include "models/netfv.h"

#include "ops/elementwise/elementwise.h"
#include "ops/matmul/matmul.h"
#include "ops/reduce/reduce.h"
#include "ops/shape/shape.h"

#include <cmath>

namespace y8m::models {

NetFV::NetFV(Initializer& init, int64_t feature_size, int64_t cluster_size, bool couple_weights,
             double coupling_factor)
    : feature_size_(feature_size),
      cluster_size_(cluster_size),
      couple_weights_(couple_weights),
      coupling_factor_(coupling_factor) {
  Y8M_CHECK(feature_size > 0 && cluster_size > 0,
            "NetFV: feature size {} and cluster size {} must be positive", feature_size,
            cluster_size);
  const double std = 1.0 / std::sqrt(static_cast<double>(feature_size));
  cluster_weights_ =
      add_parameter("cluster_weights", init.normal({feature_size, cluster_size}, std));
  covar_weights_ =
      add_parameter("covar_weights", init.normal({feature_size, cluster_size}, std, 1.0));
  cluster_bn_ = add_module("cluster_bn", std::make_shared<BatchNorm>(init, cluster_size));
  if (!couple_weights_) {
    cluster_weights2_ =
        add_parameter("cluster_weights2", init.normal({feature_size, cluster_size}, std));
  }
}

Tensor NetFV::forward(const Tensor& z, int64_t batch) {
  Y8M_CHECK(z.dim() == 2 && z.size(1) == feature_size_, "NetFV: input must be [B*S, {}], got {}",
            feature_size_, z.str());
  Y8M_CHECK(batch >= 1 && z.size(0) % batch == 0,
            "NetFV: {} rows of {} are not a whole number of frames for each of {} videos",
            z.size(0), z.str(), batch);
  const int64_t b = batch, s = z.size(0) / batch, f = feature_size_, k = cluster_size_;
  const Tensor a =
      ops::reshape(ops::softmax(cluster_bn_->forward(ops::matmul(z, cluster_weights_))), {b, s, k});
  const Tensor asum = ops::sum(a, 1, /*keepdim=*/true);  // [B, 1, K]
  const Tensor z3 = ops::reshape(z, {b, s, f});
  const Tensor s1 = ops::matmul(z3, a, /*trans_a=*/true);               // [B, F, K]
  const Tensor s2 = ops::matmul(ops::square(z3), a, /*trans_a=*/true);  // [B, F, K]
  const Tensor sigma = ops::add_scalar(ops::square(covar_weights_), 1e-6);
  const Tensor mu =
      couple_weights_ ? ops::mul_scalar(cluster_weights_, coupling_factor_) : cluster_weights2_;

  Tensor fv1 = ops::div(ops::sub(s1, ops::mul(asum, mu)), sigma);
  fv1 = ops::l2_normalize(ops::reshape(ops::l2_normalize(fv1, 1), {b, f * k}), -1);
  // (asum·μ² + S2 − 2·μ·S1) / σ² − asum
  Tensor fv2 = ops::add(ops::add(ops::mul(asum, ops::square(mu)), s2),
                        ops::mul_scalar(ops::mul(s1, mu), -2.0));
  fv2 = ops::sub(ops::div(fv2, ops::square(sigma)), asum);
  fv2 = ops::l2_normalize(ops::reshape(fv2, {b, f * k}), -1);
  return ops::concat({fv1, fv2}, 1);
}

namespace {

const ModelConfig& checked(const ModelConfig& c) {
  check_two_stream_model(c, c.netvlad_add_batch_norm, "netvlad_add_batch_norm");
  Y8M_CHECK(c.fv_cluster_size >= 2,
            "NetFVModelLF: --fv_cluster_size must be >= 2 (the audio stream uses K div 2), got {}",
            c.fv_cluster_size);
  Y8M_CHECK(c.fv_hidden_size >= 1, "NetFVModelLF: --fv_hidden_size must be positive, got {}",
            c.fv_hidden_size);
  return c;
}

}  // namespace

NetFVModelLF::NetFVModelLF(const ModelConfig& config, Initializer& init)
    : PooledFrameModel(checked(config)) {
  const ModelConfig& c = this->config();
  const int64_t k = c.fv_cluster_size;
  build_streams(init);
  video_fv_ =
      add_module("video_FV", std::make_shared<NetFV>(init, c.feature_sizes[0], k,
                                                     c.fv_couple_weights, c.fv_coupling_factor));
  audio_fv_ =
      add_module("audio_FV", std::make_shared<NetFV>(init, c.feature_sizes[1], k / 2,
                                                     c.fv_couple_weights, c.fv_coupling_factor));
  build_top(init, {descriptor_size(), true, c.fv_hidden_size, k, c.fv_relu, c.gating});
}

Tensor NetFVModelLF::pool(const std::vector<Tensor>& z, int64_t batch) {
  return ops::concat({video_fv_->forward(z[0], batch), audio_fv_->forward(z[1], batch)}, 1);
}

}  // namespace y8m::models
