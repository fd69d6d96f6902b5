#include "models/baseline_models.h"

#include "models/sampling.h"
#include "ops/elementwise/elementwise.h"
#include "ops/reduce/reduce.h"
#include "ops/sampling/frame_sampling.h"
#include "ops/shape/shape.h"

#include <algorithm>
#include <vector>

namespace y8m::models {

namespace {

const ModelConfig& validated(const ModelConfig& c) {
  validate(c);
  return c;
}

}  // namespace

LogisticModel::LogisticModel(const ModelConfig& config, Initializer& init)
    : VideoModel(validated(config)) {
  head_ = std::make_unique<LogisticHead>(*this, init, this->config().total_feature_size(),
                                         this->config().num_classes);
}

Tensor LogisticModel::forward(const Tensor& inputs, const Tensor& num_frames_host,
                              engine::Generator&) {
  check_inputs(inputs, num_frames_host);
  return head_->forward(inputs);
}

MoeModel::MoeModel(const ModelConfig& config, Initializer& init) : VideoModel(validated(config)) {
  head_ = std::make_unique<MoeHead>(*this, init, this->config().total_feature_size(),
                                    this->config().num_classes, moe_options(this->config()));
}

Tensor MoeModel::forward(const Tensor& inputs, const Tensor& num_frames_host, engine::Generator&) {
  check_inputs(inputs, num_frames_host);
  return head_->forward(inputs);
}

FrameLevelLogisticModel::FrameLevelLogisticModel(const ModelConfig& config, Initializer& init)
    : VideoModel(validated(config)) {
  head_ = std::make_unique<LogisticHead>(*this, init, this->config().total_feature_size(),
                                         this->config().num_classes);
}

Tensor FrameLevelLogisticModel::forward(const Tensor& inputs, const Tensor& num_frames_host,
                                        engine::Generator&) {
  const int64_t b = check_inputs(inputs, num_frames_host);
  // max(n, 1) valid frames per video, computed by an op so that a traced graph recomputes it.
  const Tensor d = ops::reshape(
      ops::frame_counts(num_frames_host, inputs.size(1), 1, inputs.dtype(), inputs.device()),
      {b, 1});
  return head_->forward(ops::div(ops::sum(inputs, 1), d));
}

}  // namespace y8m::models
