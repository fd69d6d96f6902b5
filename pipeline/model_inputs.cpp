#include "pipeline/model_inputs.h"

#include "autograd/variable.h"
#include "ops/ops.h"

namespace y8m::pipeline {

ModelInputs model_inputs(const io::Batch& batch, bool frame_features, Device device) {
  autograd::NoGradGuard ng;  // inputs are data
  ModelInputs in;
  in.num_frames = batch.num_frames;
  if (frame_features) {
    in.features = ops::prepare_frames(batch.frames.to(device), batch.num_frames.to(device));
  } else {
    in.features = ops::l2_normalize(batch.frames.to(device), -1);
  }
  return in;
}

io::ReaderOptions reader_options(const models::ModelConfig& config) {
  io::ReaderOptions ro;
  ro.video_level = !config.frame_features;
  ro.decode.features.names = config.feature_names;
  ro.decode.features.sizes.assign(config.feature_sizes.begin(), config.feature_sizes.end());
  ro.decode.num_classes = static_cast<int>(config.num_classes);
  ro.decode.max_frames = static_cast<int>(config.max_frames);
  return ro;
}

io::ReaderOptions reader_options(const models::ModelConfig& config, const ReaderFlags& flags) {
  io::ReaderOptions ro = reader_options(config);
  ro.decode.require_labels = flags.require_labels;
  ro.patterns = flags.patterns;
  ro.pattern_flag = flags.pattern_flag;
  ro.batch_size = flags.batch_size;
  ro.num_readers = flags.num_readers;
  ro.training = flags.training;
  ro.num_epochs = flags.num_epochs;
  ro.seed = flags.seed;
  ro.records.on_corrupt = io::corrupt_policy_from_name(flags.corrupt_records);
  return ro;
}

}  // namespace y8m::pipeline
