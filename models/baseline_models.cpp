#include "models/baseline_models.h"

#include "models/sampling.h"
#include "ops/elementwise/elementwise.h"
#include "ops/reduce/reduce.h"

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
  const std::vector<int64_t> n =
      host_num_frames(num_frames_host, b, inputs.size(1), "FrameLevelLogisticModel");
  std::vector<double> denom(n.size());
  for (size_t i = 0; i < n.size(); ++i) denom[i] = static_cast<double>(std::max<int64_t>(n[i], 1));
  const Tensor d = Tensor::from_vector(denom, {b, 1}).to(inputs.dtype()).to(inputs.device());
  return head_->forward(ops::div(ops::sum(inputs, 1), d));
}

}  // namespace y8m::models
