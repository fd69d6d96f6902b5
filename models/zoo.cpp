#include "models/zoo.h"

#include "models/baseline_models.h"
#include "models/dbof.h"
#include "models/netfv.h"
#include "models/netvlad.h"
#include "models/rnn.h"

#include <fmt/ranges.h>

#include <functional>
#include <utility>

namespace y8m::models {

namespace {

using Factory = std::function<std::shared_ptr<VideoModel>(const ModelConfig&, Initializer&)>;

template <class M>
Factory factory() {
  return [](const ModelConfig& c, Initializer& init) { return std::make_shared<M>(c, init); };
}

Factory rnn_factory(RecurrentModel::Kind kind) {
  return [kind](const ModelConfig& c, Initializer& init) {
    return std::make_shared<RecurrentModel>(c, init, kind);
  };
}

// The registry: an explicit list (no self-registering statics, STYLE.md).
const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> r = {
      {"NetVLADModelLF", factory<NetVLADModelLF>()},
      {"NetFVModelLF", factory<NetFVModelLF>()},
      {"GatedDbofModelLF",
       [](const ModelConfig& c, Initializer& init) {
         return std::make_shared<DbofModelLF>(c, init, /*gated_video=*/true);
       }},
      {"SoftDbofModelLF",
       [](const ModelConfig& c, Initializer& init) {
         return std::make_shared<DbofModelLF>(c, init, /*gated_video=*/false);
       }},
      {"DbofModel", factory<DbofModel>()},
      {"Lstmbidirect", rnn_factory(RecurrentModel::Kind::lstm_bidirect)},
      {"GRUbidirect", rnn_factory(RecurrentModel::Kind::gru_bidirect)},
      {"LstmModel", rnn_factory(RecurrentModel::Kind::lstm_stack)},
      {"GRUbidirect_branchedBN", factory<BranchedGruModel>()},
      {"attention_frames_v0", factory<AttentionFramesModel>()},
      {"FrameLevelLogisticModel", factory<FrameLevelLogisticModel>()},
      {"LogisticModel", factory<LogisticModel>()},
      {"MoeModel", factory<MoeModel>()},
  };
  return r;
}

}  // namespace

int64_t VideoModel::check_inputs(const Tensor& inputs, const Tensor& num_frames_host) const {
  const char* m = config_.model.c_str();
  const int64_t f = config_.total_feature_size();
  Y8M_CHECK(inputs.defined(), "{}: inputs are undefined", m);
  if (frame_level()) {
    Y8M_CHECK(inputs.dim() == 3 && inputs.size(2) == f,
              "{}: frame-level inputs must be [B, T, {}] (--feature_sizes {}), got {}", m, f,
              fmt::join(config_.feature_sizes, ","), inputs.str());
    Y8M_CHECK(num_frames_host.defined() && num_frames_host.device().is_cpu() &&
                  num_frames_host.dim() == 1 && num_frames_host.size(0) == inputs.size(0),
              "{}: num_frames must be a host [B] tensor with B = {}, got {}", m, inputs.size(0),
              num_frames_host.defined() ? num_frames_host.str() : std::string("undefined"));
  } else {
    Y8M_CHECK(inputs.dim() == 2 && inputs.size(1) == f,
              "{}: video-level inputs must be [B, {}] (--feature_sizes {}), got {}", m, f,
              fmt::join(config_.feature_sizes, ","), inputs.str());
  }
  return inputs.size(0);
}

std::vector<std::string> known_models() {
  std::vector<std::string> names;
  for (const auto& kv : registry()) names.push_back(kv.first);
  return names;
}

std::shared_ptr<VideoModel> create_model(const ModelConfig& config, uint64_t init_seed,
                                         Device device, const CreateOptions& opts) {
  for (const auto& kv : registry()) {
    if (kv.first != config.model) continue;
    engine::Generator gen(init_seed, 0);
    InitOptions io;
    io.dtype = opts.dtype;
    io.device = device;
    io.skip_random_init = opts.skip_random_init;
    io.batch_norm_decay = config.batch_norm_decay;
    Initializer init(gen, io);
    std::shared_ptr<VideoModel> model = kv.second(config, init);
    model->train(true);
    return model;
  }
  Y8M_FAIL("--model: unknown model '{}' (known: {})", config.model,
           fmt::join(known_models(), ", "));
}

}  // namespace y8m::models
