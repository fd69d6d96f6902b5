#include "models/vlad.h"

#include "ops/fused/vlad.h"
#include "ops/matmul/matmul.h"

#include <cmath>

namespace y8m::models {

NetVLAD::NetVLAD(Initializer& init, int64_t feature_size, int64_t cluster_size, bool lightvlad)
    : feature_size_(feature_size), cluster_size_(cluster_size) {
  Y8M_CHECK(feature_size > 0 && cluster_size > 0,
            "NetVLAD: feature size {} and cluster size {} must be positive", feature_size,
            cluster_size);
  const double std = 1.0 / std::sqrt(static_cast<double>(feature_size));
  cluster_weights_ =
      add_parameter("cluster_weights", init.normal({feature_size, cluster_size}, std));
  cluster_bn_ = add_module("cluster_bn", std::make_shared<BatchNorm>(init, cluster_size));
  if (!lightvlad) {
    cluster_weights2_ =
        add_parameter("cluster_weights2", init.normal({feature_size, cluster_size}, std));
  }
}

Tensor NetVLAD::forward(const Tensor& z, int64_t batch) {
  Y8M_CHECK(z.dim() == 2 && z.size(1) == feature_size_, "NetVLAD: input must be [B*S, {}], got {}",
            feature_size_, z.str());
  Y8M_CHECK(batch >= 1 && z.size(0) % batch == 0,
            "NetVLAD: {} rows of {} are not a whole number of frames for each of {} videos",
            z.size(0), z.str(), batch);
  const Tensor logits = cluster_bn_->forward(ops::matmul(z, cluster_weights_));
  return ops::vlad(logits, z, cluster_weights2_, batch);
}

}  // namespace y8m::models
