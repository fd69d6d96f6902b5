// EMA fine-tuning end to end (SPEC §7), in process on a tiny synthetic dataset: the warm start sets
// every parameter, BN statistic and shadow to the source (a checkpoint or an archive) with a fresh
// Adam at step 0; one step moves each shadow by exactly (1 - d)(var - shadow) in float; resume is
// exact (with or without
// --ema_source repeated); the preconditions and mismatches are clear errors; eval --use_EMA
// evaluates the shadows (0 EMA steps reproduce the source's GAP exactly).
#include "autograd/ema.h"
#include "engine/error.h"
#include "io/container.h"
#include "io/synth.h"
#include "pipeline/archive.h"
#include "pipeline/checkpoint.h"
#include "pipeline/evaluator.h"
#include "pipeline/trainer.h"
#include "tests/common/test_util.h"
#include "tests/pipeline/pipeline_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

namespace y8m::pipeline {
namespace {

using testing::error_of;

class EmaTrain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::write_tiny_dataset(dir_->file("data"), 160, 64, 0);
    std::filesystem::create_directories(dir_->file("empty"));
    testing::write_file(dir_->file("empty/train0000.tfrecord"),
                        "");  // a file without records: 0 steps
    std::FILE* log = quiet();
    run_training(options(dir_->file("source"), 4), log);
    std::fclose(log);
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::FILE* quiet() { return std::fopen("/dev/null", "w"); }
  static std::string source() { return checkpoint_path(dir_->file("source"), 4); }

  static TrainOptions options(const std::string& train_dir, int64_t max_steps) {
    TrainOptions o;
    o.train_dir = train_dir;
    o.train_data_pattern = dir_->file("data/frame/train*.tfrecord");
    o.model =
        models::netvlad_config(8, 32);  // BN in the VLAD and hidden layers: buffers to average
    o.model.num_classes = 50;
    o.model.iterations = 10;
    o.model.batch_norm_decay = 0.9;
    o.batch_size = 32;
    o.base_learning_rate = 0.003;
    o.num_epochs = 100;
    o.max_steps = max_steps;
    o.num_readers = 2;
    o.seed = 3;
    o.device = Device::cpu();
    o.save_model_secs = 1e9;
    return o;
  }
  static TrainOptions ema_options(const std::string& train_dir, int64_t max_steps,
                                  double halflife = 10) {
    TrainOptions o = options(train_dir, max_steps);
    o.model = models::ModelConfig();  // the architecture comes from the source
    o.ema_source = source();
    o.ema_halflife = halflife;
    o.base_learning_rate = 0.001;
    o.seed = 11;
    return o;
  }
  static EvalResult evaluate(const std::string& checkpoint, bool use_ema) {
    EvalOptions e;
    e.checkpoint = checkpoint;
    e.eval_data_pattern = dir_->file("data/frame/validate*.tfrecord");
    e.batch_size = 64;
    e.num_readers = 1;
    e.device = Device::cpu();
    e.use_ema = use_ema;
    std::FILE* log = quiet();
    EvalResult r = run_eval(e, log);
    std::fclose(log);
    return r;
  }
  static testing::TempDir* dir_;
};
testing::TempDir* EmaTrain::dir_ = nullptr;

const Tensor* find(const NamedTensors& list, const std::string& name) {
  for (const auto& kv : list)
    if (kv.first == name) return &kv.second;
  return nullptr;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.nbytes() == b.nbytes() && std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()) == 0;
}

void expect_same(const NamedTensors& x, const NamedTensors& y) {
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].first, y[i].first);
    EXPECT_TRUE(same_bytes(x[i].second, y[i].second)) << x[i].first << " differs";
  }
}

// Every model tensor and its shadow equal the source's tensor; Adam is fresh.
void expect_warm_start(const CheckpointState& s, const NamedTensors& src_model) {
  EXPECT_EQ(s.step, 0);
  ASSERT_EQ(s.model.size(), src_model.size());
  ASSERT_EQ(s.ema.size(), src_model.size());
  bool has_buffer = false;
  for (const auto& [name, t] : src_model) {
    const Tensor* w = find(s.model, name);
    const Tensor* sh = find(s.ema, name + autograd::kEmaSuffix);
    ASSERT_TRUE(w != nullptr && sh != nullptr) << name;
    EXPECT_TRUE(same_bytes(*w, t)) << name;
    EXPECT_TRUE(same_bytes(*sh, t)) << name << " shadow";
    has_buffer = has_buffer || name.find("moving_mean") != std::string::npos;
  }
  EXPECT_TRUE(has_buffer) << "the model should have BN moving statistics";
  for (const auto& [name, t] : s.optimizer) {
    if (name.find("/Adam") == std::string::npos) continue;
    for (float v : t.to_vector<float>()) ASSERT_EQ(v, 0.f) << name;
  }
}

TEST_F(EmaTrain, WarmStartFromACheckpointAndEvalUsesTheShadows) {
  std::FILE* log = quiet();
  TrainOptions o = ema_options(dir_->file("warm"), 0);
  o.train_data_pattern =
      dir_->file("empty/*.tfrecord");  // no records: the warm start is all that happens
  o.allow_no_examples = true;
  const TrainResult r = run_training(o, log);
  std::fclose(log);
  EXPECT_TRUE(r.ema);
  EXPECT_FALSE(r.resumed);
  EXPECT_EQ(r.step, 0);
  const CheckpointState src = load_checkpoint(source());
  const CheckpointState s = load_checkpoint(checkpoint_path(dir_->file("warm"), 0));
  expect_warm_start(s, src.model);
  EXPECT_EQ(s.model_config, src.model_config);
  EXPECT_EQ(s.metadata.at("ema_source"), source());
  EXPECT_EQ(s.metadata.at("ema_halflife"), "10");
  EXPECT_EQ(s.metadata.at("ema_decay"), "0.9");

  // After 0 EMA steps the shadows are the source: eval --use_EMA reproduces the source's
  // evaluation.
  const EvalResult want = evaluate(source(), false);
  const EvalResult got = evaluate(checkpoint_path(dir_->file("warm"), 0), true);
  EXPECT_EQ(got.metrics.gap, want.metrics.gap);
  EXPECT_EQ(got.avg_loss, want.avg_loss);
  EXPECT_EQ(got.metrics.hit_at_one, want.metrics.hit_at_one);
  // The source has no shadows.
  EXPECT_NE(error_of([&] { evaluate(source(), true); }).find("has no EMA shadows"),
            std::string::npos);
}

TEST_F(EmaTrain, WarmStartFromAnArchive) {
  // An archive: the model tensors by name, the config, and graph constants that are not model
  // tensors.
  const CheckpointState src = load_checkpoint(source());
  io::ContainerContents c;
  c.kind = "archive";
  c.model_config = src.model_config;
  for (const auto& kv : src.model) c.tensors.push_back({kv.first, kv.second, ""});
  c.tensors.push_back({"constants/0", Tensor::zeros({3}, DType::i32), ""});
  io::write_container(dir_->file("source.y8m"), c);
  std::FILE* log = quiet();
  TrainOptions o = ema_options(dir_->file("warm-archive"), 0);
  o.ema_source = dir_->file("source.y8m");
  o.train_data_pattern = dir_->file("empty/*.tfrecord");
  o.allow_no_examples = true;
  run_training(o, log);
  std::fclose(log);
  expect_warm_start(load_checkpoint(checkpoint_path(dir_->file("warm-archive"), 0)), src.model);
}

TEST_F(EmaTrain, OneStepMovesEachShadowByTheDecay) {
  std::FILE* log = quiet();
  run_training(ema_options(dir_->file("one"), 1, 10), log);
  std::fclose(log);
  const CheckpointState src = load_checkpoint(source());
  const CheckpointState s = load_checkpoint(checkpoint_path(dir_->file("one"), 1));
  EXPECT_EQ(s.step, 1);
  const float a = 1.f - static_cast<float>(0.9);  // TF: 1 - decay in float32
  int moved = 0;
  for (const auto& [name, s0] : src.model) {
    const std::vector<float> v = find(s.model, name)->to_vector<float>();
    const std::vector<float> sh = find(s.ema, name + autograd::kEmaSuffix)->to_vector<float>();
    const std::vector<float> start = s0.to_vector<float>();
    for (size_t i = 0; i < v.size(); ++i) {
      const float want = start[i] - (start[i] - v[i]) * a;
      ASSERT_EQ(sh[i], want) << name << "[" << i << "]";
    }
    moved += v != start;
  }
  EXPECT_GT(moved, 5);  // the step changed parameters and BN statistics alike
}

TEST_F(EmaTrain, ResumeIsExact) {
  std::FILE* log = quiet();
  const std::string a = dir_->file("ema-straight"), b = dir_->file("ema-resumed"),
                    c = dir_->file("ema-plain");
  run_training(ema_options(a, 6), log);
  run_training(ema_options(b, 3), log);
  const TrainResult rb = run_training(ema_options(b, 6), log);  // the same command again resumes
  EXPECT_TRUE(rb.resumed);
  EXPECT_TRUE(rb.ema);
  run_training(ema_options(c, 3), log);
  TrainOptions plain = options(c, 6);  // without --ema_source: the checkpoint's EMA continues
  plain.model = models::ModelConfig();
  plain.base_learning_rate = 0.001;
  plain.seed = 11;
  const TrainResult rc = run_training(plain, log);
  EXPECT_TRUE(rc.resumed);
  EXPECT_TRUE(rc.ema);
  std::fclose(log);
  const CheckpointState sa = load_checkpoint(checkpoint_path(a, 6));
  for (const std::string& d : {b, c}) {
    const CheckpointState sb = load_checkpoint(checkpoint_path(d, 6));
    expect_same(sa.model, sb.model);
    expect_same(sa.optimizer, sb.optimizer);
    expect_same(sa.ema, sb.ema);
    EXPECT_EQ(sb.metadata.at("ema_source"), source());
  }
  ASSERT_FALSE(sa.ema.empty());
  // The shadows lag the weights after 6 steps.
  EXPECT_FALSE(same_bytes(sa.model[0].second, sa.ema[0].second));

  // --use_EMA evaluates exactly the shadows: the same as a checkpoint whose weights are the
  // shadows.
  CheckpointState swapped = load_checkpoint(checkpoint_path(a, 6));
  swap_in_ema(swapped);
  EXPECT_TRUE(swapped.ema.empty());
  std::filesystem::create_directories(dir_->file("swapped"));
  save_checkpoint(dir_->file("swapped"), swapped, 0);
  const EvalResult with_ema = evaluate(checkpoint_path(a, 6), true);
  const EvalResult by_hand = evaluate(checkpoint_path(dir_->file("swapped"), 6), false);
  const EvalResult raw = evaluate(checkpoint_path(a, 6), false);
  EXPECT_EQ(with_ema.avg_loss, by_hand.avg_loss);
  EXPECT_EQ(with_ema.metrics.gap, by_hand.metrics.gap);
  EXPECT_NE(with_ema.avg_loss, raw.avg_loss);
}

// SPEC §7 / the original README's EMA command: architecture flags that disagree with the source are
// ignored with a note (the run keeps the source's architecture), recorded in the checkpoint, and
// ignored again when the same command resumes the run or evaluates it; any other disagreement
// on resume or eval is still an error.
TEST_F(EmaTrain, ArchitectureFlagsThatDisagreeWithTheSourceAreIgnored) {
  const std::string dir = dir_->file("arch");
  TrainOptions o = ema_options(dir, 1);
  o.model.netvlad_cluster_size = 16;
  o.model.video_level_classifier_model = "LogisticModel";
  o.model.moe_num_mixtures = 2;  // the source's value: agrees, no note
  o.explicit_model_flags = {"netvlad_cluster_size", "video_level_classifier_model",
                            "moe_num_mixtures"};
  std::FILE* log = std::tmpfile();
  run_training(o, log);
  std::rewind(log);
  std::string text(1 << 16, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), log));
  std::fclose(log);
  EXPECT_NE(text.find("note: --netvlad_cluster_size=16 ignored: an EMA run keeps the architecture "
                      "of its --ema_source"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("note: --video_level_classifier_model=LogisticModel ignored"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("--moe_num_mixtures"), std::string::npos) << text;
  const CheckpointState s = load_checkpoint(checkpoint_path(dir, 1));
  EXPECT_EQ(s.model_config, load_checkpoint(source()).model_config);
  EXPECT_EQ(ignored_flags(s.metadata), (std::map<std::string, std::string>{
                                           {"netvlad_cluster_size", "16"},
                                           {"video_level_classifier_model", "LogisticModel"}}));
  // Resuming with the same command line works (the flags are ignored again) ...
  o.max_steps = 2;
  EXPECT_EQ(run_training(o, quiet()).step, 2);
  // ... another value is still an error.
  o.model.netvlad_cluster_size = 32;
  o.max_steps = 3;
  EXPECT_NE(error_of([&] {
              run_training(o, quiet());
            }).find("--netvlad_cluster_size=32 differs from the checkpoint being resumed"),
            std::string::npos);
  // Evaluation with the EMA command's flags: ignored with a note; others still refused.
  std::vector<std::string> notes;
  const auto cfg = eval_model_config(s.model_config, "ck", {{"netvlad_cluster_size", "16"}},
                                     ignored_flags(s.metadata), &notes);
  EXPECT_EQ(cfg.netvlad_cluster_size, 8);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("--netvlad_cluster_size=16 ignored, as the EMA run"), std::string::npos);
  EXPECT_NE(error_of([&] {
              eval_model_config(s.model_config, "ck", {{"netvlad_cluster_size", "32"}},
                                ignored_flags(s.metadata));
            }).find("does not match the checkpoint"),
            std::string::npos);
}

TEST_F(EmaTrain, Errors) {
  std::FILE* log = quiet();
  // SPEC §7.1: train_dir must not exist (here: the source run's folder).
  std::string msg = error_of([&] { run_training(ema_options(dir_->file("source"), 2), log); });
  EXPECT_NE(msg.find("--train_dir: '" + dir_->file("source") + "' already exists"),
            std::string::npos)
      << msg;
  std::filesystem::create_directories(dir_->file("made-by-hand"));
  msg = error_of([&] { run_training(ema_options(dir_->file("made-by-hand"), 2), log); });
  EXPECT_NE(msg.find("already exists"), std::string::npos) << msg;
  // Architecture flags on the command line must agree with the source.
  // The source must exist and be a checkpoint or archive; the halflife at least 1.
  TrainOptions o = ema_options(dir_->file("nosource"), 2);
  o.ema_source = dir_->file("missing.y8m");
  msg = error_of([&] { run_training(o, log); });
  EXPECT_NE(msg.find("--ema_source: no such file"), std::string::npos) << msg;
  o = ema_options(dir_->file("halflife"), 2, 0.5);
  EXPECT_NE(error_of([&] { run_training(o, log); }).find("--ema_halflife must be at least 1"),
            std::string::npos);
  // Resuming an EMA run with another halflife.
  run_training(ema_options(dir_->file("hl"), 1, 10), log);
  msg = error_of([&] { run_training(ema_options(dir_->file("hl"), 2, 20), log); });
  EXPECT_NE(msg.find("--ema_halflife=20 differs from the EMA run being resumed"), std::string::npos)
      << msg;
  std::fclose(log);
}

}  // namespace
}  // namespace y8m::pipeline
