#include "pipeline/evaluator.h"

#include "autograd/variable.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "io/reader.h"
#include "ops/ops.h"
#include "pipeline/checkpoint.h"
#include "pipeline/model_inputs.h"

#include <chrono>
#include <fstream>

namespace y8m::pipeline {

EvalResult run_eval(const EvalOptions& o, std::FILE* log) {
  Y8M_CHECK(o.n_rounds >= 1, "--n_rounds must be at least 1, got {}", o.n_rounds);
  Y8M_CHECK(o.top_k >= 1, "--top_k must be at least 1, got {}", o.top_k);
  std::vector<std::string> broken;
  const std::string path = o.checkpoint.empty() ? latest_valid_checkpoint(o.train_dir, &broken) : o.checkpoint;
  for (const auto& b : broken) std::fprintf(log, "warning: skipping checkpoint: %s\n", b.c_str());
  Y8M_CHECK(!path.empty(), "--train_dir: no valid checkpoint (model.ckpt-<step>.y8m) in '{}'", o.train_dir);
  EvalResult r;
  std::shared_ptr<models::VideoModel> model;
  models::ModelConfig config;
  {
    CheckpointState s = load_checkpoint(path);
    if (o.use_ema) {
      swap_in_ema(s, path);
      std::fprintf(log, "evaluating the EMA shadow weights of %s\n", path.c_str());
    }
    for (const auto& [name, value] : o.explicit_model_flags) {
      const auto it = s.model_config.find(name);
      Y8M_CHECK(it != s.model_config.end() && it->second == value,
                "--{}={} does not match the checkpoint {} ({}); architecture flags are read from the checkpoint",
                name, value, path, it != s.model_config.end() ? it->second : "absent");
    }
    config = models::config_from_map(s.model_config);
    models::CreateOptions co;
    co.skip_random_init = true;
    model = models::create_model(config, o.seed, o.device, co);
    for (const auto& kv : s.model) model->load_tensor(kv.first, kv.second);
    r.step = s.step;
  }
  model->eval();
  autograd::NoGradGuard ng;

  io::ReaderOptions ro = reader_options(config);
  ro.patterns = o.eval_data_pattern;
  ro.pattern_flag = "--eval_data_pattern";
  ro.batch_size = o.batch_size;
  ro.num_readers = o.num_readers;
  ro.training = false;
  ro.records.on_corrupt = io::corrupt_policy_from_name(o.corrupt_records);
  io::Reader reader(ro);
  engine::Generator gen(o.seed ^ 0x6576616cull);
  MetricsAccumulator acc(config.num_classes, o.top_k);
  double loss_sum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  io::Batch batch;
  while (reader.next(&batch)) {
    ModelInputs in = model_inputs(batch, config.frame_features, o.device);
    Tensor probs = model->forward(in.features, in.num_frames, gen);
    for (int round = 1; round < o.n_rounds; ++round)
      probs = ops::add(probs, model->forward(in.features, in.num_frames, gen));
    if (o.n_rounds > 1) probs = ops::mul_scalar(probs, 1.0 / o.n_rounds);
    const Tensor loss = ops::sigmoid_cross_entropy(probs, batch.labels.to(o.device));
    loss_sum += loss.item<float>() * static_cast<double>(batch.size);
    const Tensor hp = probs.to(Device::cpu());
    acc.add(hp.data<float>(), batch.labels.data<float>(), batch.size);
  }
  r.metrics = acc.result();
  Y8M_CHECK(r.metrics.examples > 0, "--eval_data_pattern: no examples in '{}'", o.eval_data_pattern);
  r.avg_loss = loss_sum / static_cast<double>(r.metrics.examples);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.examples_per_second = secs > 0 ? static_cast<double>(r.metrics.examples) / secs : 0;
  r.line = fmt::format(
      "step {} | examples {} | Avg_Hit@1 {:.4f} | Avg_PERR {:.4f} | MAP {:.4f} | GAP {:.4f} | Avg_Loss {:.4f} | "
      "{:.0f} examples/s",
      r.step, r.metrics.examples, r.metrics.hit_at_one, r.metrics.perr, r.metrics.map, r.metrics.gap, r.avg_loss,
      r.examples_per_second);
  std::fprintf(log, "%s\n", r.line.c_str());
  if (!o.train_dir.empty()) {
    std::ofstream f(o.train_dir + "/evallog.txt", std::ios::app);
    f << path << " | " << r.line << "\n";
  }
  return r;
}

}  // namespace y8m::pipeline
