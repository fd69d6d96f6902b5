#include "pipeline/trainer.h"

#include "autograd/ema.h"
#include "autograd/optim.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "io/container.h"
#include "io/events.h"
#include "io/reader.h"
#include "ops/ops.h"
#include "pipeline/checkpoint.h"
#include "pipeline/losses.h"
#include "pipeline/metrics.h"
#include "pipeline/model_flags_json.h"
#include "pipeline/model_inputs.h"
#include "pipeline/train_dir.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

namespace y8m::pipeline {

void validate_train_options(const TrainOptions& o) {
  check_label_loss_name(o.label_loss);
  auto finite = [](const char* flag, double v) {
    Y8M_CHECK(std::isfinite(v), "--{} must be a finite number, got {}", flag, v);
  };
  auto positive = [&](const char* flag, double v) {
    finite(flag, v);
    Y8M_CHECK(v > 0, "--{} must be positive, got {}", flag, v);
  };
  Y8M_CHECK(o.batch_size > 0, "--batch_size must be positive, got {}", o.batch_size);
  positive("base_learning_rate", o.base_learning_rate);
  positive("learning_rate_decay", o.learning_rate_decay);
  positive("learning_rate_decay_examples", o.learning_rate_decay_examples);
  finite("regularization_penalty", o.regularization_penalty);
  Y8M_CHECK(o.regularization_penalty >= 0, "--regularization_penalty must be >= 0, got {}",
            o.regularization_penalty);
  finite("clip_gradient_norm", o.clip_gradient_norm);  // <= 0 turns clipping off
  // TF's string_input_producer refused num_epochs <= 0 ("num_epochs must be > 0").
  Y8M_CHECK(o.num_epochs > 0, "--num_epochs must be > 0, got {} (the original refused it too)",
            o.num_epochs);
  Y8M_CHECK(o.max_steps >= 0, "--max_steps must be >= 0 (0: no limit), got {}", o.max_steps);
  Y8M_CHECK(o.num_readers > 0, "--num_readers must be positive, got {}", o.num_readers);
  finite("save_model_secs", o.save_model_secs);
  Y8M_CHECK(o.save_model_secs >= 0, "--save_model_secs must be >= 0, got {}", o.save_model_secs);
  Y8M_CHECK(o.keep_checkpoint_max >= 0, "--keep_checkpoint_max must be >= 0 (0: keep all), got {}",
            o.keep_checkpoint_max);
  autograd::check_optimizer_name(o.optimizer);
  finite("momentum", o.momentum);
  Y8M_CHECK(o.on_nonfinite == "stop" || o.on_nonfinite == "skip",
            "--on_nonfinite must be stop or skip, got '{}'", o.on_nonfinite);
  if (!o.ema_source.empty()) autograd::ExponentialMovingAverage::decay_for_halflife(o.ema_halflife);
  if (o.distill) {
    Y8M_CHECK(o.loss_lambda >= 0 && o.loss_lambda <= 1, "--loss_lambda must be in [0, 1], got {}",
              o.loss_lambda);
    Y8M_CHECK(
        o.label_loss == "CrossEntropyLoss",
        "--label_loss={}: distilled training always uses MixedCrossEntropyLoss (--loss_lambda)",
        o.label_loss);
  }
}

double learning_rate(const TrainOptions& o, int64_t step, int ranks) {
  const double decays =
      std::floor(static_cast<double>(step) * o.batch_size * ranks / o.learning_rate_decay_examples);
  return o.base_learning_rate * std::pow(o.learning_rate_decay, decays);
}

namespace {

using Clock = std::chrono::steady_clock;

// What a run records about its EMA and distillation settings (checked again on resume).
struct RunMode {
  std::string ema_source;  // "" without EMA
  double ema_halflife = 0;
  bool distill = false;
  double loss_lambda = 0;
  // Architecture flags an EMA run was given that differ from its source, ignored (checkpoint.h).
  std::map<std::string, std::string> ignored_flags;
};

// Where one rank stands: examples its reader delivered for training, its frame-sampling offset.
struct RankPosition {
  int64_t examples = 0;
  uint64_t sampling_offset = 0;
};

// Rank r's frame-sampling seed: rank 0's (the single process's) mixed with r, so that ranks sample
// different frames.
uint64_t rank_sampling_seed(uint64_t rank0_seed, int rank) {
  return rank0_seed + static_cast<uint64_t>(rank) * 0x9e3779b97f4a7c15ull;
}

CheckpointState snapshot(const models::VideoModel& model, const autograd::Optimizer& optimizer,
                         const autograd::ExponentialMovingAverage* ema, const RunMode& mode,
                         const TrainOptions& o, const models::ModelConfig& config,
                         const engine::Generator& gen, const std::vector<RankPosition>& ranks) {
  CheckpointState s;
  s.step = optimizer.step_count();
  s.model_config = models::to_map(config);
  for (auto& kv : model.named_parameters()) s.model.push_back(kv);
  for (auto& kv : model.named_buffers()) s.model.push_back(kv);
  s.optimizer = optimizer.state();
  if (ema != nullptr) s.ema = ema->state();
  s.metadata = {{"sampling_seed", std::to_string(gen.seed())},
                {"sampling_offset", std::to_string(gen.offset())},
                {"examples_consumed", std::to_string(ranks.front().examples)},
                {"train_data_pattern", o.train_data_pattern},
                {"optimizer", optimizer.name()}};
  if (ranks.size() > 1) {  // every rank's position (the keys above are rank 0's)
    s.metadata["num_ranks"] = std::to_string(ranks.size());
    for (size_t r = 0; r < ranks.size(); ++r) {
      s.metadata[fmt::format("examples_consumed.rank{}", r)] = std::to_string(ranks[r].examples);
      s.metadata[fmt::format("sampling_offset.rank{}", r)] =
          std::to_string(ranks[r].sampling_offset);
    }
  }
  if (ema != nullptr) {
    s.metadata["ema_source"] = mode.ema_source;
    s.metadata["ema_halflife"] = fmt::format("{}", mode.ema_halflife);  // shortest exact form
    s.metadata["ema_decay"] = fmt::format("{}", ema->decay());
  }
  // As train_distill.py's model_flags.json: label_loss stays CrossEntropyLoss (what evaluation
  // uses); the mixed loss is marked by loss_lambda.
  s.metadata["label_loss"] = o.label_loss;
  if (mode.distill) s.metadata["loss_lambda"] = fmt::format("{}", mode.loss_lambda);
  for (const auto& [name, value] : mode.ignored_flags)
    s.metadata[kIgnoredFlagPrefix + name] = value;
  for (const auto& kv : o.flags) s.metadata["flag." + kv.first] = kv.second;
  return s;
}

uint64_t meta_u64(const CheckpointState& s, const std::string& key, const std::string& path) {
  const auto it = s.metadata.find(key);
  Y8M_CHECK(it != s.metadata.end(), "{}: checkpoint lacks '{}'", path, key);
  return std::stoull(it->second);
}

std::string meta_str(const std::map<std::string, std::string>& m, const std::string& key) {
  const auto it = m.find(key);
  return it == m.end() ? "" : it->second;
}

// Architecture flags given on the command line must agree with the config a run continues from,
// except `tolerated` ones (name -> the value an EMA run ignored), which are ignored again with a
// note.
void check_explicit_flags(const TrainOptions& o, const std::map<std::string, std::string>& config,
                          const std::string& what, const std::string& path,
                          const std::map<std::string, std::string>& tolerated, std::FILE* log) {
  const auto given = models::to_map(o.model);
  for (const std::string& name : o.explicit_model_flags) {
    const auto a = given.find(name);
    const auto b = config.find(name);
    const auto t = tolerated.find(name);
    if (a != given.end() && t != tolerated.end() && t->second == a->second &&
        (b == config.end() || b->second != a->second)) {
      std::fprintf(log, "note: --%s=%s ignored, as this EMA run ignored it from the start\n",
                   name.c_str(), a->second.c_str());
      continue;
    }
    Y8M_CHECK(
        a != given.end() && b != config.end() && a->second == b->second,
        "--{}={} differs from {} ({}: {}){}", name, a != given.end() ? a->second : "?", what, path,
        b != config.end() ? b->second : "absent",
        what == "the checkpoint being resumed" ? "; use --start_new_model to start over" : "");
  }
}

[[noreturn]] void fail_not_distillation(const std::string& where) {
  Y8M_FAIL(
      "--loss_lambda: the training data are not distillation records ({} has no teacher "
      "'predictions'); "
      "--loss_lambda and y8m-train-distill need records written by y8m-distill",
      where);
}

// Decodes the first record of the first file as a distillation record; true (and the file in
// *file) when it has no teacher predictions. Other decoding problems are left to the reader,
// which names file and record.
bool first_record_lacks_predictions(const io::ReaderOptions& ro, std::string* file) {
  const std::vector<std::string> files = io::expand_patterns(ro.patterns, ro.pattern_flag.c_str());
  if (files.empty() || ro.video_level) return false;
  io::RecordReader records(files.front(), ro.records);
  std::string_view rec;
  if (!records.next(&rec)) return false;
  io::FrameRecord fr;
  try {
    io::decode_frame_record(rec, ro.decode, &fr);
  } catch (const io::MissingFeatureError& e) {
    if (e.feature() == "predictions") {
      *file = files.front();
      return true;
    }
  } catch (const Error&) {
  }
  return false;
}

// Decodes the first record of the first file as a distillation record, so that ordinary data fail
// at once with a clear error (other decoding problems are left to the reader, which names file and
// record).
void check_distillation_data(const io::ReaderOptions& ro) {
  std::string file;
  if (first_record_lacks_predictions(ro, &file)) fail_not_distillation(file);
}

// reader.next, turning a later file's missing predictions into the same clear error.
bool next_batch(io::Reader& reader, io::Batch* batch, bool distill) {
  try {
    return reader.next(batch);
  } catch (const io::MissingFeatureError& e) {
    if (!distill || e.feature() != "predictions") throw;
    fail_not_distillation(e.where());
  }
}

// Stage 1 of run_training: what the run is. Validates the flags, takes the train_dir, finds the
// checkpoint to resume or the --ema_source, and settles the EMA and distillation mode and the
// model config.
struct RunPlan {
  Communicator* comm = nullptr;  // never null
  // Taken by resolve_run (on rank 0 only); declared first, so released last.
  std::unique_ptr<TrainDirLock> train_dir;
  models::ModelConfig config;
  RunMode mode;
  bool resumed = false;
  std::string ckpt;               // the checkpoint resumed ("" for a new run)
  CheckpointState resumed_state;  // its contents, until build_state has loaded them
  ModelSource source;  // the --ema_source of a new EMA run, until build_state has loaded it
};

// Stage 2: what training changes, built and restored from the checkpoint or the source.
struct TrainState {
  std::shared_ptr<models::VideoModel> model;
  std::unique_ptr<autograd::Optimizer> optimizer;
  engine::Generator gen;
  std::unique_ptr<autograd::ExponentialMovingAverage> ema;
  std::unique_ptr<io::Reader> reader;
  int64_t examples = 0;  // examples consumed by the run so far (the reader has skipped them)
};

RunPlan resolve_run(const TrainOptions& o, Communicator& comm, std::FILE* log) {
  validate_train_options(o);
  const bool ema_run = !o.ema_source.empty();
  RunPlan plan;
  plan.comm = &comm;
  std::vector<std::string> broken;
  if (!comm.is_root()) {
    // Rank 0 owns the train_dir and chooses the checkpoint; the others load the same one (the
    // train_dir must be on a filesystem every rank sees).
    plan.ckpt = comm.broadcast(std::string(), 0);
    if (!plan.ckpt.empty())
      Y8M_CHECK(std::filesystem::exists(plan.ckpt),
                "{}: the checkpoint rank 0 resumes is not visible here (--train_dir must be on a "
                "filesystem every rank sees)",
                plan.ckpt);
  } else {
    // One trainer per train_dir (pipeline/train_dir.h). A folder this run creates is removed
    // again if the run is refused before training starts.
    plan.train_dir = std::make_unique<TrainDirLock>(o.train_dir);
    if (o.start_new_model) plan.train_dir->clear();
    plan.train_dir->remove_stale_temps(log);
    plan.ckpt = latest_valid_checkpoint(o.train_dir, &broken);
    comm.broadcast(plan.ckpt, 0);
  }
  const std::string& ckpt = plan.ckpt;
  if (ema_run && plan.train_dir && !plan.train_dir->fresh()) {
    // SPEC §7.1: an EMA run starts in a new train_dir. Only a checkpoint of this same EMA run
    // resumes.
    const bool same_run =
        !ckpt.empty() && meta_str(io::Container(ckpt).metadata(), "ema_source") == o.ema_source;
    Y8M_CHECK(same_run,
              "--train_dir: '{}' already exists; an --ema_source run starts in a new train_dir "
              "(remove it, choose "
              "another, or pass --start_new_model)",
              o.train_dir);
  }
  for (const auto& b : broken) std::fprintf(log, "warning: skipping checkpoint: %s\n", b.c_str());

  models::ModelConfig& config = plan.config;
  config = o.model;
  CheckpointState& resumed = plan.resumed_state;
  ModelSource& source = plan.source;
  RunMode& mode = plan.mode;
  mode.distill = o.distill;
  mode.loss_lambda = o.loss_lambda;
  if (!ckpt.empty()) {
    resumed = load_checkpoint(ckpt);
    mode.ignored_flags = ignored_flags(resumed.metadata);
    check_explicit_flags(o, resumed.model_config, "the checkpoint being resumed", ckpt,
                         mode.ignored_flags, log);
    config = models::config_from_map(resumed.model_config);
    // The run continues as it was: its EMA and its distillation setting.
    const std::string lambda = meta_str(resumed.metadata, "loss_lambda");
    Y8M_CHECK(
        lambda.empty() == !o.distill && (lambda.empty() || std::stod(lambda) == o.loss_lambda),
        "{} was trained {}; resume it with the same setting{} or use --start_new_model", ckpt,
        lambda.empty() ? "without distillation"
                       : "on distillation records with --loss_lambda=" + lambda,
        lambda.empty() ? " (no --loss_lambda)" : "");
    // The slots of one optimizer mean nothing to another (TF could not restore them either).
    // Checkpoints that predate the record are Adam's.
    std::string recorded = meta_str(resumed.metadata, "optimizer");
    if (recorded.empty()) recorded = "AdamOptimizer";
    Y8M_CHECK(recorded == o.optimizer,
              "--optimizer={} differs from the optimizer of the checkpoint being resumed ({}: {}); "
              "pass --optimizer={} to resume it, or --start_new_model to start over",
              o.optimizer, ckpt, recorded, recorded);
    if (!resumed.ema.empty()) {
      mode.ema_source = meta_str(resumed.metadata, "ema_source");
      const std::string h = meta_str(resumed.metadata, "ema_halflife");
      Y8M_CHECK(!h.empty(), "{}: EMA shadows without a recorded ema_halflife", ckpt);
      mode.ema_halflife = std::stod(h);
      Y8M_CHECK(!ema_run || mode.ema_halflife == o.ema_halflife,
                "--ema_halflife={} differs from the EMA run being resumed ({}: {})", o.ema_halflife,
                ckpt, h);
    }
    plan.resumed = true;
    std::fprintf(log, "resuming from %s (step %lld)%s\n", ckpt.c_str(),
                 static_cast<long long>(resumed.step),
                 resumed.ema.empty() ? "" : " with EMA shadows");
  } else if (ema_run) {
    source = load_model_source(o.ema_source);
    // SPEC §7: the run keeps its source's architecture; flags that say otherwise (the original
    // README's EMA command passes LSTM-style ones to a NetVLAD source) are ignored with a note.
    const auto given = models::to_map(o.model);
    for (const std::string& name : o.explicit_model_flags) {
      const auto a = given.find(name);
      const auto b = source.model_config.find(name);
      if (a == given.end() || (b != source.model_config.end() && b->second == a->second)) continue;
      std::fprintf(log,
                   "note: --%s=%s ignored: an EMA run keeps the architecture of its --ema_source "
                   "(%s has %s)\n",
                   name.c_str(), a->second.c_str(), o.ema_source.c_str(),
                   b != source.model_config.end() ? b->second.c_str() : "no such setting");
      mode.ignored_flags[name] = a->second;
    }
    config = models::config_from_map(source.model_config);
    mode.ema_source = o.ema_source;
    mode.ema_halflife = o.ema_halflife;
  }
  return plan;
}

TrainState build_state(const TrainOptions& o, RunPlan& plan, std::FILE* log) {
  const models::ModelConfig& config = plan.config;
  const std::string& ckpt = plan.ckpt;
  CheckpointState& resumed = plan.resumed_state;
  ModelSource& source = plan.source;
  const bool use_ema = !plan.mode.ema_source.empty();
  TrainState s;

  models::CreateOptions co;
  co.skip_random_init =
      plan.resumed || use_ema;  // every tensor comes from the checkpoint or the source
  s.model = models::create_model(config, o.seed, o.device, co);
  models::VideoModel* model = s.model.get();
  model->train();
  autograd::OptimizerConfig oc;
  oc.name = o.optimizer;
  oc.momentum = o.momentum;
  oc.clip_norm = o.clip_gradient_norm;
  // Fresh for a warm start: step 0, slots at TF's initial values.
  s.optimizer = autograd::make_optimizer(model->named_parameters(), oc);
  s.gen = engine::Generator(rank_sampling_seed(o.seed ^ 0x73616d706c65ull, plan.comm->rank()));
  if (plan.resumed) {
    for (const auto& kv : resumed.model) model->load_tensor(kv.first, kv.second);
    s.optimizer->load_state(resumed.optimizer, resumed.step);
    const Communicator& comm = *plan.comm;
    const std::string ranks = meta_str(resumed.metadata, "num_ranks");
    const int recorded_ranks = ranks.empty() ? 1 : std::stoi(ranks);
    Y8M_CHECK(recorded_ranks == comm.size(),
              "{}: written by a run of {} rank(s), resumed with {}; resume it with as many ranks "
              "or towers (mpirun -np {} or --num_gpu={}), or pass --start_new_model",
              ckpt, recorded_ranks, comm.size(), recorded_ranks, recorded_ranks);
    const std::string suffix = comm.size() > 1 ? fmt::format(".rank{}", comm.rank()) : "";
    s.gen.set_state(rank_sampling_seed(meta_u64(resumed, "sampling_seed", ckpt), comm.rank()),
                    meta_u64(resumed, "sampling_offset" + suffix, ckpt));
    s.examples = static_cast<int64_t>(meta_u64(resumed, "examples_consumed" + suffix, ckpt));
  } else if (use_ema) {
    // SPEC §7.4: every averaged tensor (parameters and BN statistics) from the source's tensor of
    // that name.
    std::map<std::string, const io::ContainerTensor*> by_name;
    for (const auto& t : source.tensors) by_name[t.name] = &t;
    size_t loaded = 0;
    for (const auto& list : {model->named_parameters(), model->named_buffers()}) {
      for (const auto& kv : list) {
        const auto it = by_name.find(kv.first);
        Y8M_CHECK(it != by_name.end(),
                  "--ema_source: {} has no tensor '{}' (a different architecture?)", o.ema_source,
                  kv.first);
        const Tensor& t = it->second->tensor;
        Y8M_CHECK(it->second->codebook.empty() && engine::is_floating(t.dtype()),
                  "--ema_source: tensor '{}' of {} is quantized ({}); start from float weights",
                  kv.first, o.ema_source, engine::dtype_name(t.dtype()));
        Y8M_CHECK(t.shape() == kv.second.shape(),
                  "--ema_source: tensor '{}' of {} is {}, the model's {}", kv.first, o.ema_source,
                  t.str(), kv.second.str());
        check_finite_weights({{kv.first, t}}, "--ema_source " + o.ema_source);
        model->load_tensor(kv.first, t.dtype() == kv.second.dtype() ? t : t.to(kv.second.dtype()));
        ++loaded;
      }
    }
    // A checkpoint holds exactly the model's tensors; an archive may add graph constants
    // ("constants/<k>").
    Y8M_CHECK(source.kind != "checkpoint" || loaded == source.tensors.size(),
              "--ema_source: {} has {} model tensors, the model {} (a different architecture?)",
              o.ema_source, source.tensors.size(), loaded);
    std::fprintf(log, "EMA fine-tuning from %s (%s), halflife %g (decay %.9g)\n",
                 o.ema_source.c_str(), source.kind.c_str(), o.ema_halflife,
                 autograd::ExponentialMovingAverage::decay_for_halflife(o.ema_halflife));
  }
  if (use_ema) {
    autograd::NamedTensors vars = model->named_parameters();
    for (auto& kv : model->named_buffers()) vars.push_back(kv);
    // Shadows start equal to the (loaded) variables: the warm start sets both.
    s.ema = std::make_unique<autograd::ExponentialMovingAverage>(
        vars, autograd::ExponentialMovingAverage::decay_for_halflife(plan.mode.ema_halflife));
    if (plan.resumed) s.ema->load_state(resumed.ema);
  }
  resumed = CheckpointState();  // release the mappings
  source = ModelSource();

  ReaderFlags rf;
  rf.patterns = o.train_data_pattern;
  rf.pattern_flag = "--train_data_pattern";
  rf.batch_size = o.batch_size;
  rf.num_readers = o.num_readers;
  rf.corrupt_records = o.corrupt_records;
  rf.training = true;
  rf.num_epochs = o.num_epochs;
  rf.seed = o.seed;
  io::ReaderOptions ro = reader_options(config, rf);
  ro.num_shards = plan.comm->size();
  ro.shard = plan.comm->rank();
  ro.shuffle_capacity = o.shuffle_capacity;
  if (o.distill) {
    Y8M_CHECK(config.frame_features,
              "--loss_lambda: distillation records are frame-level; the model is video-level "
              "(--frame_features=false)");
    ro.decode.distill =
        true;  // teacher predictions; the id key is detected (`video_id` in y8m-distill's records)
    check_distillation_data(ro);
  }
  s.reader = std::make_unique<io::Reader>(ro);
  if (s.examples > 0) s.reader->skip_examples(s.examples);
  return s;
}

// Stage 3: the steps, with logging and events, periodic saves and the non-finite policy, then the
// final save and summary.
TrainResult train_loop(const TrainOptions& o, RunPlan& plan, TrainState& s, std::FILE* log) {
  const models::ModelConfig& config = plan.config;
  const RunMode& mode = plan.mode;
  models::VideoModel* model = s.model.get();
  autograd::Optimizer* optimizer = s.optimizer.get();
  autograd::ExponentialMovingAverage* ema = s.ema.get();
  engine::Generator& gen = s.gen;
  io::Reader& reader = *s.reader;
  const int64_t examples = s.examples;
  Communicator& comm = *plan.comm;
  const int ranks = comm.size();
  const bool root = comm.is_root();
  TrainResult result;
  result.resumed = plan.resumed;
  result.ema = ema != nullptr;

  int64_t step = optimizer->step_count();
  io::Batch batch;
  int64_t unused = 0;  // examples of a batch this rank read but the run did not train on
  auto next = [&] {
    if (o.max_steps > 0 && step >= o.max_steps) return false;
    const bool mine = next_batch(reader, &batch, o.distill);
    if (ranks == 1) return mine;
    // Every rank runs the same steps: one without a batch ends the run for all.
    double have = mine ? 1 : 0;
    comm.allreduce_sum(&have, 1);
    if (have == ranks) return true;
    if (mine) unused = batch.size;
    return false;
  };
  // Saves a checkpoint of the state with frame sampling at `g` and the reader at `position`
  // (collective: rank 0 gathers every rank's and writes).
  auto save = [&](const engine::Generator& g, int64_t position) -> std::string {
    const RankPosition mine{position, g.offset()};
    std::vector<RankPosition> all;
    for (const std::string& b :
         comm.gather(std::string(reinterpret_cast<const char*>(&mine), sizeof(mine)), 0)) {
      Y8M_CHECK(b.size() == sizeof(RankPosition), "checkpoint: a rank sent {} bytes", b.size());
      std::memcpy(&all.emplace_back(), b.data(), sizeof(RankPosition));
    }
    if (!root) return "";
    return save_checkpoint(o.train_dir, snapshot(*model, *optimizer, ema, mode, o, config, g, all),
                           o.keep_checkpoint_max, log);
  };
  check_same_on_all_ranks(comm, model->named_parameters(), "the starting weights");
  bool have_batch = next();
  // No data at all (empty files, or every record skipped as corrupt) is an error, not an untrained
  // model.ckpt-0.
  if (!have_batch && examples == 0 && (o.max_steps <= 0 || step < o.max_steps) &&
      !o.allow_no_examples) {
    const int64_t skipped = reader.skipped_records();
    Y8M_FAIL("--train_data_pattern: no training examples in the {} file(s) matching '{}'{}",
             reader.files().size(), o.train_data_pattern,
             skipped > 0 ? fmt::format(" ({} corrupt records skipped)", skipped) : "");
  }
  // The run is accepted: keep the train_dir (a refused run leaves none behind; an EMA run needs a
  // new one).
  std::unique_ptr<io::EventWriter> events_writer;
  if (root) {
    plan.train_dir->keep();
    // train.py's model_flags.json, for the original's tools and the README's `cp`
    // (informational).
    write_model_flags_json(o.train_dir, model_flags_json(config, o.label_loss, o.flags));
    events_writer = std::make_unique<io::EventWriter>(o.train_dir);
  }
  std::fprintf(
      log, "training %s: %lld parameters on %s, %zu files, batch %d%s%s\n", config.model.c_str(),
      static_cast<long long>(model->num_parameter_elements()), o.device.str().c_str(),
      reader.files().size(), o.batch_size,
      ranks > 1 ? fmt::format(" per rank x {} ranks ({})", ranks, comm.backend()).c_str() : "",
      o.distill ? fmt::format(", distillation (loss_lambda {})", o.loss_lambda).c_str() : "");

  int64_t saved_step = result.resumed ? step : -1;
  auto last_save = Clock::now(), last_log = Clock::now();
  int64_t examples_since_log = 0, last_log_step = step;
  int consecutive_nonfinite = 0;
  for (; have_batch; have_batch = next()) {
    const double lr = learning_rate(o, step, ranks);
    const engine::Generator gen_before = gen;  // the state a checkpoint of the previous step holds
    // The forward pass updates BN moving statistics in place; a non-finite step must not keep
    // them (they would poison every later step and the saved state). A few KB per step.
    autograd::NamedTensors buffers_before = model->named_buffers();
    for (auto& kv : buffers_before) kv.second = kv.second.clone();
    ModelInputs in = model_inputs(batch, config.frame_features, o.device);
    Tensor probs = model->forward(in.features, in.num_frames, gen);
    Tensor labels = batch.labels.to(o.device);
    Tensor loss;
    if (o.distill) {
      Y8M_CHECK(batch.predictions.defined(),
                "--loss_lambda: the reader returned no teacher predictions");
      loss = mixed_cross_entropy_loss(probs, batch.predictions.to(o.device), labels, o.loss_lambda);
    } else {
      loss = label_loss(o.label_loss, probs, labels);
    }
    const Tensor reg_loss = model->regularization_loss();
    Tensor total = ops::add(loss, ops::mul_scalar(reg_loss, o.regularization_penalty));
    model->zero_grad();
    autograd::backward(total);
    // Over the ranks: gradients and losses summed (SPEC §6.1), examples counted.
    double step_loss = 0;
    int64_t step_examples = batch.size;
    if (ranks > 1) {
      std::vector<Tensor> grads;
      for (const auto& kv : model->named_parameters())
        if (Tensor g = autograd::grad(kv.second); g.defined()) grads.push_back(g);
      double sums[4] = {loss.item<float>(), total.item<float>(), static_cast<double>(batch.size),
                        static_cast<double>(grads.size())};
      comm.allreduce_sum(sums, 4);
      Y8M_CHECK(sums[3] == static_cast<double>(grads.size()) * ranks,
                "step {}: the ranks have gradients for different parameters", step + 1);
      comm.allreduce_sum(grads);
      step_loss = sums[0] / ranks;  // the mean of the ranks' label losses (SPEC §6.1)
      step_examples = static_cast<int64_t>(sums[2]);
      total = Tensor::from_vector(std::vector<float>{static_cast<float>(sums[1])}, total.shape())
                  .to(o.device);
    }
    const autograd::StepResult applied = optimizer->step(lr, total);
    if (!applied.applied) {
      for (const auto& kv : buffers_before) model->load_tensor(kv.first, kv.second);
      const std::string what =
          !applied.loss_finite
              ? fmt::format("the loss is {}", total.item<float>())
              : fmt::format("the gradient of '{}' is not finite", applied.bad_gradient);
      if (o.on_nonfinite == "skip" && ++consecutive_nonfinite < kMaxConsecutiveNonfinite) {
        ++result.skipped_steps;
        std::fprintf(log, "warning: step %lld: %s; update skipped (%lld so far)\n",
                     static_cast<long long>(step + 1), what.c_str(),
                     static_cast<long long>(result.skipped_steps));
        continue;
      }
      // Stop: keep what the run learned since its last checkpoint (the state before this batch,
      // all finite), then fail naming the step.
      std::string saved = "nothing saved";
      if (step > 0 && step != saved_step) {
        saved = "saved the state before it as " + save(gen_before, reader.position() - batch.size);
        comm.barrier();  // saved before any rank fails (which ends the job)
      }
      Y8M_FAIL(
          "step {}: {} (learning rate {:g}){}; the update was not applied and training stopped, "
          "{}; {}",
          step + 1, what, lr,
          consecutive_nonfinite > 1 ? fmt::format(", {} steps in a row", consecutive_nonfinite)
                                    : "",
          saved,
          o.on_nonfinite == "skip"
              ? "the model diverged: lower --base_learning_rate"
              : "lower --base_learning_rate, or pass --on_nonfinite=skip to drop such updates");
    }
    consecutive_nonfinite = 0;
    if (ema) ema->update();  // SPEC §7.5: after the train step, as a separate update
    ++step;
    examples_since_log += step_examples;
    result.examples += step_examples;
    if (root && (step % o.log_every == 0 || step == 1)) {
      io::EventWriter& events = *events_writer;
      result.last_loss = ranks > 1 ? step_loss : loss.item<float>();
      MetricsAccumulator acc(config.num_classes, 20);
      const Tensor hp = probs.to(Device::cpu());
      acc.add(hp.data<float>(), batch.labels.data<float>(), batch.size);
      const Metrics m = acc.result();
      const double secs = std::chrono::duration<double>(Clock::now() - last_log).count();
      const double eps = secs > 0 ? static_cast<double>(examples_since_log) / secs : 0;
      std::fprintf(
          log,
          "step %lld | loss %.4f | hit@1 %.3f perr %.3f gap %.3f | lr %.3g | %.0f examples/s\n",
          static_cast<long long>(step), result.last_loss, m.hit_at_one, m.perr, m.gap, lr, eps);
      std::fflush(log);
      events.scalar("model/loss", result.last_loss, step);
      events.scalar("model/hit_at_one", m.hit_at_one, step);
      events.scalar("model/perr", m.perr, step);
      events.scalar("model/gap", m.gap, step);
      events.scalar("learning_rate", lr, step);
      events.scalar("examples_per_second", eps, step);
      // The original's tags (train.py's summaries, and its Supervisor's step rate).
      events.scalar("model/Training_Hit@1", m.hit_at_one, step);
      events.scalar("model/Training_Perr", m.perr, step);
      events.scalar("model/Training_GAP", m.gap, step);
      events.scalar("global_step/Examples/Second", eps, step);
      events.scalar("label_loss", result.last_loss, step);
      if (o.regularization_penalty != 0) events.scalar("reg_loss", reg_loss.item<float>(), step);
      events.scalar("global_step/sec", secs > 0 ? (step - last_log_step) / secs : 0, step);
      events.flush();
      last_log_step = step;
      last_log = Clock::now();
      examples_since_log = 0;
    }
    bool save_now =
        std::chrono::duration<double>(Clock::now() - last_save).count() >= o.save_model_secs;
    if (ranks > 1) save_now = comm.broadcast(uint64_t{save_now}, 0) != 0;  // rank 0's clock
    if (save_now) {
      save(gen, reader.position());
      saved_step = step;
      last_save = Clock::now();
    }
  }
  if (step != saved_step) save(gen, reader.position() - unused);
  check_same_on_all_ranks(comm, model->named_parameters(), "the trained weights");
  if (result.skipped_steps > 0)
    std::fprintf(log, "warning: %lld updates skipped for a non-finite loss or gradient\n",
                 static_cast<long long>(result.skipped_steps));
  io::SkipReport skipped = reader.skipped();
  if (ranks > 1) {  // every rank's, reported by rank 0 (the last problem of the highest rank)
    double counts[2] = {static_cast<double>(skipped.records), static_cast<double>(skipped.bytes)};
    comm.allreduce_sum(counts, 2);
    skipped.records = static_cast<int64_t>(counts[0]);
    skipped.bytes = static_cast<uint64_t>(counts[1]);
    for (const std::string& p : comm.gather(skipped.last_problem, 0))
      if (!p.empty()) skipped.last_problem = p;
  }
  io::warn_skipped(log, skipped);
  std::fprintf(log, "done at step %lld: %s%s\n", static_cast<long long>(step),
               checkpoint_path(o.train_dir, step).c_str(),
               skipped.records > 0 ? ("; skipped " + io::skip_figure(skipped)).c_str() : "");
  result.step = step;
  return result;
}

}  // namespace

TrainResult run_training(const TrainOptions& o, std::FILE* log) {
  const std::unique_ptr<Communicator> single = o.comm ? nullptr : make_single_communicator();
  Communicator& comm = o.comm ? *o.comm : *single;
  // Rank 0 alone logs.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> quiet(nullptr, &std::fclose);
  if (!comm.is_root()) {
    quiet.reset(std::fopen("/dev/null", "w"));
    Y8M_CHECK(quiet != nullptr, "/dev/null: cannot open");
    log = quiet.get();
  }
  RunPlan plan = resolve_run(o, comm, log);
  TrainState state = build_state(o, plan, log);
  return train_loop(o, plan, state, log);
}

bool records_have_teacher_predictions(const TrainOptions& o) {
  io::ReaderOptions ro = reader_options(o.model);
  ro.patterns = o.train_data_pattern;
  ro.pattern_flag = "--train_data_pattern";
  ro.decode.distill = true;
  if (!o.model.frame_features) return false;  // distillation records are frame-level
  std::string file;
  return !first_record_lacks_predictions(ro, &file);
}

}  // namespace y8m::pipeline
