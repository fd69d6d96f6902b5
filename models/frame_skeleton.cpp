#include "models/frame_skeleton.h"

#include "ops/elementwise/elementwise.h"
#include "ops/matmul/matmul.h"
#include "ops/shape/shape.h"

#include <fmt/ranges.h>

#include <cmath>

namespace y8m::models {

void check_frame_model(const ModelConfig& c, bool add_batch_norm, const char* bn_flag) {
  validate(c);
  const char* m = c.model.c_str();
  Y8M_CHECK(add_batch_norm,
            "{}: --{}=false cannot be built: the original's no-BN branches reference an undefined "
            "name or pass a tensor as an initializer (SPEC §16.11)",
            m, bn_flag);
  Y8M_CHECK(!c.sample_all || c.iterations == c.max_frames,
            "{}: --sample_all needs --iterations ({}) == max_frames ({})", m, c.iterations,
            c.max_frames);
}

void check_two_stream_model(const ModelConfig& c, bool add_batch_norm, const char* bn_flag) {
  check_frame_model(c, add_batch_norm, bn_flag);
  Y8M_CHECK(c.feature_sizes.size() == 2,
            "{}: needs two feature streams (rgb, audio), got --feature_names={} --feature_sizes={}",
            c.model, fmt::join(c.feature_names, ","), fmt::join(c.feature_sizes, ","));
}

FrameStreams::FrameStreams(Scope& owner, Initializer& init, const ModelConfig& c, bool split)
    : sizes_(split ? c.feature_sizes : std::vector<int64_t>{c.total_feature_size()}) {
  sampling_.num_samples = c.iterations;
  sampling_.sample_random_frames = c.sample_random_frames;
  sampling_.sample_all = c.sample_all;
  input_bn_ =
      owner.add_module("input_bn", std::make_shared<BatchNorm>(init, c.total_feature_size()));
}

std::vector<Tensor> FrameStreams::forward(const Tensor& inputs, const Tensor& num_frames_host,
                                          engine::Generator& sampling) const {
  const int64_t b = inputs.size(0), f = inputs.size(2), s = sampling_.num_samples;
  Tensor z = ops::reshape(sample_frames(inputs, num_frames_host, sampling_, sampling), {b * s, f});
  z = input_bn_->forward(z);
  return sizes_.size() == 1 ? std::vector<Tensor>{z} : ops::split(z, sizes_, 1);
}

HiddenLayer::HiddenLayer(Scope& owner, Initializer& init, int64_t in, int64_t hidden,
                         int64_t cluster_size, bool relu) {
  Y8M_CHECK(in > 0 && hidden > 0 && cluster_size > 0,
            "hidden layer: sizes must be positive (in {}, hidden {}, clusters {})", in, hidden,
            cluster_size);
  weights_ = owner.add_parameter(
      "hidden1_weights",
      init.normal({in, hidden}, 1.0 / std::sqrt(static_cast<double>(cluster_size))));
  if (relu) {
    bn_ = owner.add_module("hidden1_bn", std::make_shared<BatchNorm>(init, hidden));
  } else {
    biases_ = owner.add_parameter("hidden1_biases", init.normal({hidden}, 0.01));
  }
}

Tensor HiddenLayer::forward(const Tensor& d) const {
  const Tensor h = ops::matmul(d, weights_);
  return bn_ ? ops::relu6(bn_->forward(h)) : ops::add(h, biases_);
}

void PooledFrameModel::build_top(Initializer& init, const Top& top) {
  const ModelConfig& c = config();
  int64_t width = top.descriptor;
  if (top.hidden) {
    hidden_.emplace(*this, init, width, top.hidden_size, top.cluster_size, top.relu);
    width = top.hidden_size;
  }
  if (top.gating) {
    gating_.emplace(*this, init, width, ContextGating::Variant::batch_norm, c.gating_remove_diag,
                    "gating_weights_2", "gating_bn");
  }
  head_ =
      make_head(c.video_level_classifier_model, *this, init, width, c.num_classes, moe_options(c));
}

Tensor PooledFrameModel::forward(const Tensor& inputs, const Tensor& num_frames_host,
                                 engine::Generator& sampling) {
  const int64_t b = check_inputs(inputs, num_frames_host);
  Tensor h = pool(streams_->forward(inputs, num_frames_host, sampling), b);
  if (hidden_) h = hidden_->forward(h);
  if (gating_) h = gating_->forward(h);
  return head_->forward(h);
}

}  // namespace y8m::models
