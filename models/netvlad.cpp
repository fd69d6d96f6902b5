#include "models/netvlad.h"

#include "ops/elementwise/elementwise.h"
#include "ops/matmul/matmul.h"
#include "ops/shape/shape.h"

#include <fmt/ranges.h>

#include <cmath>

namespace y8m::models {

namespace {

// The configuration checks of SPEC §3.1 / §16.11, before anything is allocated.
void check_netvlad_config(const ModelConfig& c) {
  validate(c);
  Y8M_CHECK(
      c.lightvlad || !c.vlagd,
      "NetVLADModelLF: --vlagd=true cannot be built: the original raises NameError (NetVLAGD is "
      "not defined in the seed, SPEC §16.11); use --lightvlad or the default NetVLAD");
  Y8M_CHECK(c.netvlad_add_batch_norm,
            "NetVLADModelLF: --netvlad_add_batch_norm=false cannot be built: the original's no-BN "
            "branches reference an undefined name (cluster_biases) and pass a tensor as an "
            "initializer (gating), SPEC §16.11");
  Y8M_CHECK(c.feature_sizes.size() == 2,
            "NetVLADModelLF: needs two feature streams (rgb, audio), got --feature_names={} "
            "--feature_sizes={}",
            fmt::join(c.feature_names, ","), fmt::join(c.feature_sizes, ","));
  Y8M_CHECK(
      c.netvlad_cluster_size >= 2,
      "NetVLADModelLF: --netvlad_cluster_size must be >= 2 (the audio stream uses K div 2), got {}",
      c.netvlad_cluster_size);
  Y8M_CHECK(c.netvlad_hidden_size >= 1,
            "NetVLADModelLF: --netvlad_hidden_size must be positive, got {}",
            c.netvlad_hidden_size);
  Y8M_CHECK(!c.sample_all || c.iterations == c.max_frames,
            "NetVLADModelLF: --sample_all needs --iterations ({}) == max_frames ({})", c.iterations,
            c.max_frames);
}

const ModelConfig& checked(const ModelConfig& c) {
  check_netvlad_config(c);
  return c;
}

}  // namespace

NetVLADModelLF::NetVLADModelLF(const ModelConfig& config, Initializer& init)
    : VideoModel(checked(config)), relu_(config.netvlad_relu) {
  const ModelConfig& c = this->config();
  sampling_.num_samples = c.iterations;
  sampling_.sample_random_frames = c.sample_random_frames;
  sampling_.sample_all = c.sample_all;
  const int64_t k = c.netvlad_cluster_size, h = c.netvlad_hidden_size;

  input_bn_ = add_module("input_bn", std::make_shared<BatchNorm>(init, c.total_feature_size()));
  video_vlad_ =
      add_module("video_VLAD", std::make_shared<NetVLAD>(init, c.feature_sizes[0], k, c.lightvlad));
  audio_vlad_ = add_module("audio_VLAD",
                           std::make_shared<NetVLAD>(init, c.feature_sizes[1], k / 2, c.lightvlad));
  hidden1_weights_ =
      add_parameter("hidden1_weights",
                    init.normal({descriptor_size(), h}, 1.0 / std::sqrt(static_cast<double>(k))));
  // add_batch_norm is always true here, so relu alone picks BN + relu6 or a plain bias.
  if (relu_) {
    hidden1_bn_ = add_module("hidden1_bn", std::make_shared<BatchNorm>(init, h));
  } else {
    hidden1_biases_ = add_parameter("hidden1_biases", init.normal({h}, 0.01));
  }
  if (c.gating) {
    gating_.emplace(*this, init, h, ContextGating::Variant::batch_norm, c.gating_remove_diag,
                    "gating_weights_2", "gating_bn");
  }
  head_ = make_head(c.video_level_classifier_model, *this, init, h, c.num_classes, moe_options(c));
}

Tensor NetVLADModelLF::forward(const Tensor& inputs, const Tensor& num_frames_host,
                               engine::Generator& sampling) {
  const int64_t b = check_inputs(inputs, num_frames_host);
  const ModelConfig& c = config();
  const int64_t f = c.total_feature_size(), s = sampling_.num_samples;

  Tensor z = ops::reshape(sample_frames(inputs, num_frames_host, sampling_, sampling), {b * s, f});
  z = input_bn_->forward(z);
  const std::vector<Tensor> streams = ops::split(z, {c.feature_sizes[0], c.feature_sizes[1]}, 1);
  const Tensor d =
      ops::concat({video_vlad_->forward(streams[0], b), audio_vlad_->forward(streams[1], b)}, 1);

  Tensor h = ops::matmul(d, hidden1_weights_);
  if (relu_) {
    h = ops::relu6(hidden1_bn_->forward(h));
  } else {
    h = ops::add(h, hidden1_biases_);
  }
  if (gating_) h = gating_->forward(h);
  return head_->forward(h);
}

Tensor NetVLADModelLF::regularization_loss() { return head_->regularization_loss(); }

}  // namespace y8m::models
