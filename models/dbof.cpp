#include "models/dbof.h"

#include "ops/elementwise/elementwise.h"
#include "ops/matmul/matmul.h"
#include "ops/reduce/reduce.h"
#include "ops/shape/shape.h"

#include <cmath>

namespace y8m::models {

DBoF::DBoF(Initializer& init, int64_t feature_size, int64_t cluster_size, bool gated, bool maxpool)
    : feature_size_(feature_size), cluster_size_(cluster_size), gated_(gated), maxpool_(maxpool) {
  Y8M_CHECK(feature_size > 0 && cluster_size > 0,
            "DBoF: feature size {} and cluster size {} must be positive", feature_size,
            cluster_size);
  Y8M_CHECK(!(gated && maxpool), "DBoF: the gated pooling has no max-pool output");
  const double std = 1.0 / std::sqrt(static_cast<double>(feature_size));
  cluster_weights_ =
      add_parameter("cluster_weights", init.normal({feature_size, cluster_size}, std));
  cluster_bn_ = add_module("cluster_bn", std::make_shared<BatchNorm>(init, cluster_size));
  if (gated_) {
    dim_red_ = add_parameter("dim_red", init.normal({cluster_size, feature_size}, std));
    cluster_weights_2_ =
        add_parameter("cluster_weights_2", init.normal({feature_size, cluster_size}, std));
    cluster_bn_2_ = add_module("cluster_bn_2", std::make_shared<BatchNorm>(init, cluster_size));
  }
}

Tensor DBoF::forward(const Tensor& z, int64_t batch) {
  Y8M_CHECK(z.dim() == 2 && z.size(1) == feature_size_, "DBoF: input must be [B*S, {}], got {}",
            feature_size_, z.str());
  Y8M_CHECK(batch >= 1 && z.size(0) % batch == 0,
            "DBoF: {} rows of {} are not a whole number of frames for each of {} videos", z.size(0),
            z.str(), batch);
  const int64_t s = z.size(0) / batch;
  const Tensor a =
      ops::reshape(ops::softmax(cluster_bn_->forward(ops::matmul(z, cluster_weights_))),
                   {batch, s, cluster_size_});
  const Tensor total = ops::sum(a, 1);  // [B, K]
  auto max_pool = [&] { return ops::l2_normalize(ops::max(a, 1), -1); };
  if (gated_) {
    const Tensor gate = ops::sigmoid(
        cluster_bn_2_->forward(ops::matmul(ops::matmul(max_pool(), dim_red_), cluster_weights_2_)));
    return ops::l2_normalize(ops::mul(gate, total), -1);
  }
  const Tensor out = ops::l2_normalize(total, -1);
  return maxpool_ ? ops::concat({out, max_pool()}, 1) : out;
}

namespace {

const ModelConfig& checked(const ModelConfig& c) {
  check_two_stream_model(c, c.dbof_add_batch_norm, "dbof_add_batch_norm");
  Y8M_CHECK(c.dbof_cluster_size >= 8,
            "{}: --dbof_cluster_size must be >= 8 (the audio stream uses K div 8), got {}", c.model,
            c.dbof_cluster_size);
  Y8M_CHECK(c.dbof_hidden_size >= 1, "{}: --dbof_hidden_size must be positive, got {}", c.model,
            c.dbof_hidden_size);
  return c;
}

}  // namespace

DbofModelLF::DbofModelLF(const ModelConfig& config, Initializer& init, bool gated_video)
    : PooledFrameModel(checked(config)) {
  const ModelConfig& c = this->config();
  const int64_t k = c.dbof_cluster_size;
  build_streams(init);
  video_dbof_ =
      add_module("video_DBOF", std::make_shared<DBoF>(init, c.feature_sizes[0], k, gated_video,
                                                      !gated_video && c.softdbof_maxpool));
  audio_dbof_ = add_module("audio_DBOF", std::make_shared<DBoF>(init, c.feature_sizes[1], k / 8,
                                                                false, c.softdbof_maxpool));
  // No context gating: these models ignore --gating (SPEC §3.3).
  build_top(init, {descriptor_size(), c.fc_dimred, c.dbof_hidden_size, k, c.dbof_relu, false});
}

Tensor DbofModelLF::pool(const std::vector<Tensor>& z, int64_t batch) {
  return ops::concat({video_dbof_->forward(z[0], batch), audio_dbof_->forward(z[1], batch)}, 1);
}

namespace {

const ModelConfig& checked_google(const ModelConfig& c) {
  check_frame_model(c, c.dbof_add_batch_norm, "dbof_add_batch_norm");
  Y8M_CHECK(c.dbof_pooling_method == "max" || c.dbof_pooling_method == "average",
            "DbofModel: --dbof_pooling_method must be max or average, got '{}'",
            c.dbof_pooling_method);
  Y8M_CHECK(c.dbof_cluster_size >= 1 && c.dbof_hidden_size >= 1,
            "DbofModel: --dbof_cluster_size ({}) and --dbof_hidden_size ({}) must be positive",
            c.dbof_cluster_size, c.dbof_hidden_size);
  return c;
}

}  // namespace

DbofModel::DbofModel(const ModelConfig& config, Initializer& init)
    : PooledFrameModel(checked_google(config)),
      average_(this->config().dbof_pooling_method == "average") {
  const ModelConfig& c = this->config();
  const int64_t f = c.total_feature_size(), k = c.dbof_cluster_size;
  build_streams(init, /*split=*/false);
  cluster_weights_ = add_parameter("cluster_weights",
                                   init.normal({f, k}, 1.0 / std::sqrt(static_cast<double>(f))));
  cluster_bn_ = add_module("cluster_bn", std::make_shared<BatchNorm>(init, k));
  build_top(init, {k, true, c.dbof_hidden_size, k, /*relu=*/true, false});
}

Tensor DbofModel::pool(const std::vector<Tensor>& z, int64_t batch) {
  const int64_t k = cluster_weights_.size(1);
  const Tensor a =
      ops::reshape(ops::relu6(cluster_bn_->forward(ops::matmul(z[0], cluster_weights_))),
                   {batch, z[0].size(0) / batch, k});
  return average_ ? ops::mean(a, 1) : ops::max(a, 1);
}

}  // namespace y8m::models
