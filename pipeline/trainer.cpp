#include "pipeline/trainer.h"

#include "autograd/optim.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "io/events.h"
#include "io/reader.h"
#include "ops/ops.h"
#include "pipeline/checkpoint.h"
#include "pipeline/losses.h"
#include "pipeline/metrics.h"
#include "pipeline/model_inputs.h"

#include <chrono>
#include <cmath>
#include <filesystem>

namespace y8m::pipeline {

namespace fs = std::filesystem;

double learning_rate(const TrainOptions& o, int64_t step) {
  const double decays = std::floor(static_cast<double>(step) * o.batch_size / o.learning_rate_decay_examples);
  return o.base_learning_rate * std::pow(o.learning_rate_decay, decays);
}

namespace {

using Clock = std::chrono::steady_clock;

CheckpointState snapshot(const models::VideoModel& model, const autograd::Adam& adam, const TrainOptions& o,
                         const models::ModelConfig& config, const engine::Generator& gen, int64_t examples) {
  CheckpointState s;
  s.step = adam.step_count();
  s.model_config = models::to_map(config);
  for (auto& kv : model.named_parameters()) s.model.push_back(kv);
  for (auto& kv : model.named_buffers()) s.model.push_back(kv);
  s.optimizer = adam.state();
  s.metadata = {{"sampling_seed", std::to_string(gen.seed())},
                {"sampling_offset", std::to_string(gen.offset())},
                {"examples_consumed", std::to_string(examples)},
                {"train_data_pattern", o.train_data_pattern}};
  for (const auto& kv : o.flags) s.metadata["flag." + kv.first] = kv.second;
  return s;
}

uint64_t meta_u64(const CheckpointState& s, const std::string& key, const std::string& path) {
  const auto it = s.metadata.find(key);
  Y8M_CHECK(it != s.metadata.end(), "{}: checkpoint lacks '{}'", path, key);
  return std::stoull(it->second);
}

}  // namespace

TrainResult run_training(const TrainOptions& o, std::FILE* log) {
  check_label_loss_name(o.label_loss);
  Y8M_CHECK(o.batch_size > 0, "--batch_size must be positive, got {}", o.batch_size);
  Y8M_CHECK(o.learning_rate_decay_examples > 0, "--learning_rate_decay_examples must be positive");
  if (o.start_new_model) fs::remove_all(o.train_dir);
  fs::create_directories(o.train_dir);

  std::vector<std::string> broken;
  const std::string ckpt = latest_valid_checkpoint(o.train_dir, &broken);
  for (const auto& b : broken) std::fprintf(log, "warning: skipping checkpoint: %s\n", b.c_str());
  models::ModelConfig config = o.model;
  CheckpointState resumed;
  TrainResult result;
  if (!ckpt.empty()) {
    resumed = load_checkpoint(ckpt);
    const auto given = models::to_map(config);
    for (const std::string& name : o.explicit_model_flags) {
      const auto a = given.find(name);
      const auto b = resumed.model_config.find(name);
      Y8M_CHECK(a != given.end() && b != resumed.model_config.end() && a->second == b->second,
                "--{}={} differs from the checkpoint being resumed ({}: {}); use --start_new_model to start over",
                name, a != given.end() ? a->second : "?", ckpt, b != resumed.model_config.end() ? b->second : "absent");
    }
    config = models::config_from_map(resumed.model_config);
    result.resumed = true;
    std::fprintf(log, "resuming from %s (step %lld)\n", ckpt.c_str(), static_cast<long long>(resumed.step));
  }

  models::CreateOptions co;
  co.skip_random_init = result.resumed;  // every tensor comes from the checkpoint
  std::shared_ptr<models::VideoModel> model = models::create_model(config, o.seed, o.device, co);
  model->train();
  autograd::AdamOptions ao;
  ao.clip_norm = o.clip_gradient_norm;
  autograd::Adam adam(model->named_parameters(), ao);
  engine::Generator gen(o.seed ^ 0x73616d706c65ull);
  int64_t examples = 0;
  if (result.resumed) {
    for (const auto& kv : resumed.model) model->load_tensor(kv.first, kv.second);
    adam.load_state(resumed.optimizer, resumed.step);
    gen.set_state(meta_u64(resumed, "sampling_seed", ckpt), meta_u64(resumed, "sampling_offset", ckpt));
    examples = static_cast<int64_t>(meta_u64(resumed, "examples_consumed", ckpt));
  }
  resumed = CheckpointState();  // release the mapping

  io::ReaderOptions ro = reader_options(config);
  ro.patterns = o.train_data_pattern;
  ro.pattern_flag = "--train_data_pattern";
  ro.batch_size = o.batch_size;
  ro.num_readers = o.num_readers;
  ro.training = true;
  ro.num_epochs = o.num_epochs;
  ro.seed = o.seed;
  ro.records.on_corrupt = io::corrupt_policy_from_name(o.corrupt_records);
  io::Reader reader(ro);
  if (examples > 0) reader.skip_examples(examples);
  io::EventWriter events(o.train_dir);
  std::fprintf(log, "training %s: %lld parameters on %s, %zu files, batch %d\n", config.model.c_str(),
               static_cast<long long>(model->num_parameter_elements()), o.device.str().c_str(), reader.files().size(),
               o.batch_size);

  int64_t step = adam.step_count();
  int64_t saved_step = result.resumed ? step : -1;
  auto last_save = Clock::now(), last_log = Clock::now();
  int64_t examples_since_log = 0;
  io::Batch batch;
  while ((o.max_steps <= 0 || step < o.max_steps) && reader.next(&batch)) {
    const double lr = learning_rate(o, step);
    ModelInputs in = model_inputs(batch, config.frame_features, o.device);
    Tensor probs = model->forward(in.features, in.num_frames, gen);
    Tensor labels = batch.labels.to(o.device);
    Tensor loss = label_loss(o.label_loss, probs, labels);
    Tensor total = ops::add(loss, ops::mul_scalar(model->regularization_loss(), o.regularization_penalty));
    model->zero_grad();
    autograd::backward(total);
    adam.step(lr);
    ++step;
    examples_since_log += batch.size;
    result.examples += batch.size;
    if (step % o.log_every == 0 || step == 1) {
      result.last_loss = loss.item<float>();
      MetricsAccumulator acc(config.num_classes, 20);
      const Tensor hp = probs.to(Device::cpu());
      acc.add(hp.data<float>(), batch.labels.data<float>(), batch.size);
      const Metrics m = acc.result();
      const double secs = std::chrono::duration<double>(Clock::now() - last_log).count();
      const double eps = secs > 0 ? static_cast<double>(examples_since_log) / secs : 0;
      std::fprintf(log, "step %lld | loss %.4f | hit@1 %.3f perr %.3f gap %.3f | lr %.3g | %.0f examples/s\n",
                   static_cast<long long>(step), result.last_loss, m.hit_at_one, m.perr, m.gap, lr, eps);
      std::fflush(log);
      events.scalar("model/loss", result.last_loss, step);
      events.scalar("model/hit_at_one", m.hit_at_one, step);
      events.scalar("model/perr", m.perr, step);
      events.scalar("model/gap", m.gap, step);
      events.scalar("learning_rate", lr, step);
      events.scalar("examples_per_second", eps, step);
      events.flush();
      last_log = Clock::now();
      examples_since_log = 0;
    }
    if (std::chrono::duration<double>(Clock::now() - last_save).count() >= o.save_model_secs) {
      save_checkpoint(o.train_dir, snapshot(*model, adam, o, config, gen, reader.position()), o.keep_checkpoint_max);
      saved_step = step;
      last_save = Clock::now();
    }
  }
  if (step != saved_step) {
    save_checkpoint(o.train_dir, snapshot(*model, adam, o, config, gen, reader.position()), o.keep_checkpoint_max);
  }
  if (reader.skipped_records() > 0)
    std::fprintf(log, "warning: %lld corrupt records skipped\n", static_cast<long long>(reader.skipped_records()));
  std::fprintf(log, "done at step %lld: %s\n", static_cast<long long>(step), checkpoint_path(o.train_dir, step).c_str());
  result.step = step;
  return result;
}

}  // namespace y8m::pipeline
