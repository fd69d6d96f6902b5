#include "pipeline/evaluator.h"

#include "autograd/variable.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "io/events.h"
#include "io/reader.h"
#include "ops/ops.h"
#include "pipeline/archive.h"
#include "pipeline/checkpoint.h"
#include "pipeline/model_inputs.h"

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>

namespace y8m::pipeline {

void check_eval_options(const EvalOptions& o) {
  Y8M_CHECK(!o.eval_data_pattern.empty(), "--eval_data_pattern: required");
  Y8M_CHECK(o.n_rounds >= 1, "--n_rounds must be at least 1, got {}", o.n_rounds);
  Y8M_CHECK(o.top_k >= 1, "--top_k must be at least 1, got {}", o.top_k);
  Y8M_CHECK(o.batch_size > 0, "--batch_size must be positive, got {}", o.batch_size);
  Y8M_CHECK(o.num_readers > 0, "--num_readers must be positive, got {}", o.num_readers);
  io::corrupt_policy_from_name(o.corrupt_records);
  io::expand_patterns(o.eval_data_pattern, "--eval_data_pattern");
}

EvalResult run_eval(const EvalOptions& o, std::FILE* log) {
  check_eval_options(o);
  EvalResult r;
  models::ModelConfig config;
  std::function<Tensor(const io::Batch&, engine::Generator&)> predict;
  std::string what;  // for the log line
  if (!o.model_archive.empty()) {
    Y8M_CHECK(
        o.n_rounds == 1,
        "--n_rounds: an archive's rounds were fixed when it was exported (y8m-eval --build_only)");
    Y8M_CHECK(!o.use_ema,
              "--use_EMA: applies to checkpoints; export the EMA weights with y8m-eval --use_EMA "
              "--build_only");
    Y8M_CHECK(o.explicit_model_flags.empty(),
              "--{}: architecture flags do not apply to --model archives",
              o.explicit_model_flags.empty() ? "" : o.explicit_model_flags.begin()->first);
    auto archive = std::make_shared<ArchiveModel>(o.model_archive, o.device);
    config = archive->config();
    const auto it = archive->archive().metadata.find("step");
    r.step = it != archive->archive().metadata.end() ? std::stoll(it->second) : 0;
    predict = [archive](const io::Batch& b, engine::Generator& g) {
      return archive->predict(b, g);
    };
    what = o.model_archive;
  } else {
    std::vector<std::string> broken;
    const std::string path =
        o.checkpoint.empty() ? latest_valid_checkpoint(o.train_dir, &broken) : o.checkpoint;
    for (const auto& b : broken) std::fprintf(log, "warning: skipping checkpoint: %s\n", b.c_str());
    Y8M_CHECK(!path.empty(), "--train_dir: no valid checkpoint (model.ckpt-<step>.y8m) in '{}'",
              o.train_dir);
    CheckpointState s = load_checkpoint(path);
    if (o.use_ema) {
      swap_in_ema(s, path);
      std::fprintf(log, "evaluating the EMA shadow weights of %s\n", path.c_str());
    }
    std::vector<std::string> notes;
    config = eval_model_config(s.model_config, path, o.explicit_model_flags,
                               ignored_flags(s.metadata), &notes);
    for (const auto& n : notes) std::fprintf(log, "%s\n", n.c_str());
    models::CreateOptions co;
    co.skip_random_init = true;
    std::shared_ptr<models::VideoModel> model = models::create_model(config, o.seed, o.device, co);
    for (const auto& kv : s.model) model->load_tensor(kv.first, kv.second);
    model->eval();
    r.step = s.step;
    const bool frame_features = config.frame_features;
    const Device device = o.device;
    const int rounds = o.n_rounds;
    predict = [model, frame_features, device, rounds](const io::Batch& b, engine::Generator& g) {
      ModelInputs in = model_inputs(b, frame_features, device);
      Tensor probs = model->forward(in.features, in.num_frames, g);
      for (int round = 1; round < rounds; ++round)
        probs = ops::add(probs, model->forward(in.features, in.num_frames, g));
      return rounds > 1 ? ops::mul_scalar(probs, 1.0 / rounds) : probs;
    };
    what = path;
  }
  autograd::NoGradGuard ng;

  ReaderFlags rf;
  rf.patterns = o.eval_data_pattern;
  rf.pattern_flag = "--eval_data_pattern";
  rf.batch_size = o.batch_size;
  rf.num_readers = o.num_readers;
  rf.corrupt_records = o.corrupt_records;
  const io::ReaderOptions ro = reader_options(config, rf);
  io::Reader reader(ro);
  engine::Generator gen(o.seed ^ 0x6576616cull);
  MetricsAccumulator acc(config.num_classes, o.top_k);
  // eval.py's TensorBoard summaries in train_dir, all at the checkpoint's step: per batch
  // "GlobalStep/Eval_*" (utils.AddGlobalStepSummary), at the end "Epoch/Eval_*" (AddEpochSummary).
  // Not for an archive (eval_custom.py wrote none).
  std::unique_ptr<io::EventWriter> own_events;
  io::EventWriter* events = nullptr;
  if (o.model_archive.empty() && !o.train_dir.empty()) {
    events = o.events;
    if (events == nullptr)
      events = (own_events = std::make_unique<io::EventWriter>(o.train_dir)).get();
  }
  double loss_sum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto batch_start = t0;
  io::Batch batch;
  while (reader.next(&batch)) {
    Tensor probs = predict(batch, gen);
    const Tensor loss = ops::sigmoid_cross_entropy(probs, batch.labels.to(o.device));
    const double batch_loss = loss.item<float>();
    loss_sum += batch_loss * static_cast<double>(batch.size);
    const Tensor hp = probs.to(Device::cpu());
    check_finite_scores(hp.data<float>(), hp.size(1), batch.ids, "evaluation");
    acc.add(hp.data<float>(), batch.labels.data<float>(), batch.size);
    if (events) {
      const auto now = std::chrono::steady_clock::now();
      const double secs = std::chrono::duration<double>(now - batch_start).count();
      batch_start = now;
      MetricsAccumulator one(config.num_classes, 1);
      one.add(hp.data<float>(), batch.labels.data<float>(), batch.size);
      const Metrics m = one.result();
      events->scalar("GlobalStep/Eval_Hit@1", m.hit_at_one, r.step);
      events->scalar("GlobalStep/Eval_Perr", m.perr, r.step);
      events->scalar("GlobalStep/Eval_Loss", batch_loss, r.step);
      events->scalar("GlobalStep/Eval_Example_Second", secs > 0 ? batch.size / secs : 0, r.step);
      events->flush();
    }
  }
  r.metrics = acc.result();
  const io::SkipReport skipped = reader.skipped();
  r.skipped_records = skipped.records;
  r.skipped_bytes = skipped.bytes;
  io::warn_skipped(log, skipped);
  Y8M_CHECK(r.metrics.examples > 0, "--eval_data_pattern: no examples in '{}'",
            o.eval_data_pattern);
  r.avg_loss = loss_sum / static_cast<double>(r.metrics.examples);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.examples_per_second = secs > 0 ? static_cast<double>(r.metrics.examples) / secs : 0;
  r.line = fmt::format(
      "step {} | examples {} | Avg_Hit@1 {:.4f} | Avg_PERR {:.4f} | MAP {:.4f} | GAP {:.4f} | "
      "Avg_Loss {:.4f} | {}"
      "{:.0f} examples/s",
      r.step, r.metrics.examples, r.metrics.hit_at_one, r.metrics.perr, r.metrics.map,
      r.metrics.gap, r.avg_loss,
      skipped.records > 0 ? "skipped " + io::skip_figure(skipped) + " | " : std::string(),
      r.examples_per_second);
  std::fprintf(log, "%s\n", r.line.c_str());
  if (events) {
    events->scalar("Epoch/Eval_Avg_Hit@1", r.metrics.hit_at_one, r.step);
    events->scalar("Epoch/Eval_Avg_Perr", r.metrics.perr, r.step);
    events->scalar("Epoch/Eval_Avg_Loss", r.avg_loss, r.step);
    events->scalar("Epoch/Eval_MAP", r.metrics.map, r.step);
    events->scalar("Epoch/Eval_GAP", r.metrics.gap, r.step);
    events->flush();
  }
  if (!o.train_dir.empty()) {
    std::ofstream f(o.train_dir + "/evallog.txt", std::ios::app);
    f << what << " | " << r.line << "\n";
  }
  return r;
}

}  // namespace y8m::pipeline
