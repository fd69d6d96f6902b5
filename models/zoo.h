// The model zoo (DESIGN.md §2): builds a model from its typed config, keyed by the original class
// names. This is the header the apps include: it brings ModelConfig (config.h) and VideoModel
// (video_model.h).
//
// Typical training step (apps):
//   auto model = models::create_model(cfg, seed, Device::cuda(0));
//   engine::Generator sampling(sampling_seed);          // saved with the checkpoint (seed, offset)
//   Tensor x = ops::prepare_frames(frames_u8, num_frames_dev);       // [B, T, ΣF]
//   Tensor p = model->forward(x, num_frames_host, sampling);         // [B, V]
//   Tensor loss = ops::add(ops::sigmoid_cross_entropy(p, labels),
//                          ops::mul_scalar(model->regularization_loss(), regularization_penalty));
//   autograd::backward(loss);
// Checkpoints store to_map(model->config()) and model->named_parameters() / named_buffers();
// restoring builds create_model(config_from_map(map), any_seed, device, options with
// skip_random_init = true) and loads every tensor by name (Module::load_tensor).
#pragma once
#include "models/models_layer.h"

#include "models/config.h"
#include "models/video_model.h"

#include <memory>
#include <string>
#include <vector>

namespace y8m::models {

struct CreateOptions {
  DType dtype = DType::f32;  // f64 (CPU only) for gradient checks
  // Leaves randomly initialized parameters uninitialized and draws nothing: for a model whose
  // weights are loaded right after, and for tests that only count parameters. BN statistics and
  // zero biases are still filled.
  bool skip_random_init = false;
};

// The model classes create_model knows: NetVLADModelLF, NetFVModelLF, GatedDbofModelLF,
// SoftDbofModelLF, DbofModel, FrameLevelLogisticModel, LogisticModel, MoeModel.
std::vector<std::string> known_models();

// Builds config.model with parameters on `device`, initialized from engine::Generator(init_seed, 0)
// in the model's documented creation order (identical values on every device). The model starts in
// training mode. Unknown names are an error listing the known ones; invalid flag combinations are
// errors naming the model and flag.
std::shared_ptr<VideoModel> create_model(const ModelConfig& config, uint64_t init_seed,
                                         Device device = Device::cpu(),
                                         const CreateOptions& opts = {});

}  // namespace y8m::models
