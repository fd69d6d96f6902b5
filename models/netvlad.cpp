#include "models/netvlad.h"

#include "ops/shape/shape.h"

namespace y8m::models {

namespace {

// The configuration checks of SPEC §3.1 / §16.11, before anything is allocated.
void check_netvlad_config(const ModelConfig& c) {
  Y8M_CHECK(
      c.lightvlad || !c.vlagd,
      "NetVLADModelLF: --vlagd=true cannot be built: the original raises NameError (NetVLAGD is "
      "not defined in the seed, SPEC §16.11); use --lightvlad or the default NetVLAD");
  check_two_stream_model(c, c.netvlad_add_batch_norm, "netvlad_add_batch_norm");
  Y8M_CHECK(
      c.netvlad_cluster_size >= 2,
      "NetVLADModelLF: --netvlad_cluster_size must be >= 2 (the audio stream uses K div 2), got {}",
      c.netvlad_cluster_size);
  Y8M_CHECK(c.netvlad_hidden_size >= 1,
            "NetVLADModelLF: --netvlad_hidden_size must be positive, got {}",
            c.netvlad_hidden_size);
}

const ModelConfig& checked(const ModelConfig& c) {
  check_netvlad_config(c);
  return c;
}

}  // namespace

NetVLADModelLF::NetVLADModelLF(const ModelConfig& config, Initializer& init)
    : PooledFrameModel(checked(config)) {
  const ModelConfig& c = this->config();
  const int64_t k = c.netvlad_cluster_size;
  build_streams(init);
  video_vlad_ =
      add_module("video_VLAD", std::make_shared<NetVLAD>(init, c.feature_sizes[0], k, c.lightvlad));
  audio_vlad_ = add_module("audio_VLAD",
                           std::make_shared<NetVLAD>(init, c.feature_sizes[1], k / 2, c.lightvlad));
  // add_batch_norm is always true here, so relu alone picks BN + relu6 or a plain bias.
  build_top(init, {descriptor_size(), true, c.netvlad_hidden_size, k, c.netvlad_relu, c.gating});
}

Tensor NetVLADModelLF::pool(const std::vector<Tensor>& z, int64_t batch) {
  return ops::concat({video_vlad_->forward(z[0], batch), audio_vlad_->forward(z[1], batch)}, 1);
}

}  // namespace y8m::models
