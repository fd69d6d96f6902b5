// What a training run does when things go wrong (issue 13): retention never deletes the checkpoint
// it just wrote nor the newest one that verifies, and names corrupt ones; stale temporaries of
// killed writers are removed, live ones kept; one trainer per train_dir; a diverging run stops
// (or skips) before a non-finite update and keeps its last finite state; Inf/NaN weights and scores
// are refused by export and evaluation; flags out of range and empty data are errors.
#include "engine/error.h"
#include "engine/rng.h"
#include "io/atomic_file.h"
#include "io/tfrecord.h"
#include "io/yt8m_record.h"
#include "pipeline/archive.h"
#include "pipeline/checkpoint.h"
#include "pipeline/evaluator.h"
#include "pipeline/metrics.h"
#include "pipeline/train_dir.h"
#include "pipeline/trainer.h"
#include "tests/common/test_util.h"
#include "tests/pipeline/pipeline_test_util.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

namespace y8m::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

// Everything a FILE* received, for checking log lines.
class CapturedLog {
 public:
  CapturedLog() : f_(std::tmpfile()) {}
  ~CapturedLog() { std::fclose(f_); }
  std::FILE* get() { return f_; }
  std::string text() {
    std::fflush(f_);
    std::rewind(f_);
    std::string s;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f_)) > 0;) s.append(buf, n);
    return s;
  }

 private:
  std::FILE* f_;
};

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::FILE* devnull() {
  static std::FILE* f = std::fopen("/dev/null", "w");
  return f;
}

// A pid that belonged to a process which has exited (and been reaped).
int64_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

CheckpointState tiny_state(int64_t step, float value = 1.f) {
  CheckpointState s;
  s.step = step;
  s.model.emplace_back("w", Tensor::full({4}, value));
  return s;
}

class Reliability : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::write_tiny_dataset(dir_->file("data"), 160, 64, 0);
  }
  static void TearDownTestSuite() { delete dir_; }

  static TrainOptions options(const std::string& train_dir, int64_t max_steps) {
    TrainOptions o;
    o.train_dir = train_dir;
    o.train_data_pattern = dir_->file("data/frame/train*.tfrecord");
    o.model = models::netvlad_config(4, 16);
    o.model.num_classes = 50;
    o.model.iterations = 5;
    o.batch_size = 32;
    o.base_learning_rate = 0.003;
    o.num_epochs = 100;
    o.max_steps = max_steps;
    o.num_readers = 1;
    o.seed = 3;
    o.device = Device::cpu();
    o.save_model_secs = 1e9;
    return o;
  }
  static testing::TempDir* dir_;
};
testing::TempDir* Reliability::dir_ = nullptr;

TEST(Retention, KeepsTheCheckpointJustWrittenWhenANewerOneIsCorrupt) {
  testing::TempDir d;
  CapturedLog log;
  save_checkpoint(d.path(), tiny_state(40), 0);
  // A newer checkpoint that does not verify (a partial copy, a disk error): with keep 1, the old
  // retention counted it, deleted the checkpoint just written and left only the corrupt one.
  testing::write_file(checkpoint_path(d.path(), 100), "not a container at all");
  const std::string written = save_checkpoint(d.path(), tiny_state(50), 1, log.get());
  EXPECT_EQ(written, checkpoint_path(d.path(), 50));
  EXPECT_TRUE(fs::exists(written));
  EXPECT_TRUE(fs::exists(checkpoint_path(d.path(), 100)));  // never deleted: named instead
  EXPECT_FALSE(fs::exists(checkpoint_path(d.path(), 40)));  // an older verified one beyond keep
  EXPECT_EQ(latest_valid_checkpoint(d.path()), written);
  // Named once, not at every save.
  save_checkpoint(d.path(), tiny_state(60), 1, log.get());
  const std::string text = log.text();
  EXPECT_EQ(count_of(text, "warning: keeping corrupt checkpoint out of retention"), 1u) << text;
  EXPECT_NE(text.find("model.ckpt-100.y8m"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(written));  // 50 is older than 60 and verified: retention applies
  EXPECT_TRUE(fs::exists(checkpoint_path(d.path(), 60)));
}

TEST(Retention, NeverDeletesTheNewestVerifiedCheckpoint) {
  testing::TempDir d;
  // A valid checkpoint newer than the one being written (another run's, y8m-average's):
  // keep 1 keeps both the one written and the newest verified.
  save_checkpoint(d.path(), tiny_state(100), 0);
  save_checkpoint(d.path(), tiny_state(30), 0);
  save_checkpoint(d.path(), tiny_state(50), 1);
  const auto all = list_checkpoints(d.path());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, 100);
  EXPECT_EQ(all[1].first, 50);
  // A checkpoint whose data CRC fails (header intact) counts as corrupt too.
  std::string bytes = testing::read_file(checkpoint_path(d.path(), 100));
  bytes[bytes.size() - 2] = static_cast<char>(bytes[bytes.size() - 2] ^ 0x5a);
  testing::write_file(checkpoint_path(d.path(), 100), bytes);
  save_checkpoint(d.path(), tiny_state(60), 1);
  EXPECT_TRUE(fs::exists(checkpoint_path(d.path(), 100)));
  EXPECT_TRUE(fs::exists(checkpoint_path(d.path(), 60)));
  EXPECT_FALSE(fs::exists(checkpoint_path(d.path(), 50)));
}

TEST(Retention, RemovesTemporariesOfDeadWritersOnly) {
  testing::TempDir d;
  const std::string dead = d.file(fmt::format("model.ckpt-7.y8m.tmp-{}-0badf00d", dead_pid()));
  const std::string live = d.file(fmt::format("model.ckpt-8.y8m.tmp-{}-0badf00d", ::getppid()));
  const std::string other = d.file(fmt::format("notes.txt.tmp-{}-0badf00d", dead_pid()));
  testing::write_file(dead, std::string(1000, 'x'));
  testing::write_file(live, "x");
  testing::write_file(other, "x");
  CapturedLog log;
  save_checkpoint(d.path(), tiny_state(9), 3, log.get());
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));   // its writer may still be writing
  EXPECT_TRUE(fs::exists(other));  // not a checkpoint's
  EXPECT_NE(log.text().find("left by a writer that was killed"), std::string::npos) << log.text();
}

TEST(AtomicFile, TemporaryNamesCarryThePid) {
  const std::string t = io::temp_path_for("/x/model.ckpt-5.y8m");
  std::string target;
  int64_t pid = 0;
  ASSERT_TRUE(io::parse_temp_name(fs::path(t).filename().string(), &target, &pid)) << t;
  EXPECT_EQ(target, "model.ckpt-5.y8m");
  EXPECT_EQ(pid, ::getpid());
  ASSERT_TRUE(io::parse_temp_name("a.y8m.tmp-0badf00d", &target, &pid));  // older form
  EXPECT_EQ(pid, 0);
  EXPECT_FALSE(io::parse_temp_name("a.y8m.tmp-12-xyz", &target, &pid));
  EXPECT_FALSE(io::parse_temp_name("a.y8m", &target, &pid));
  EXPECT_FALSE(io::parse_temp_name(".tmp-0badf00d", &target, &pid));
  EXPECT_TRUE(io::process_alive(::getpid()));
  EXPECT_FALSE(io::process_alive(dead_pid()));
}

TEST(TrainDir, SecondHolderIsRefusedWithThePid) {
  testing::TempDir d;
  const std::string dir = d.file("run");
  {
    TrainDirLock first(dir);
    first.keep();
    EXPECT_TRUE(first.fresh());
    // flock locks belong to the open file: a second open, even in this process, is refused.
    const std::string msg = error_of([&] { TrainDirLock second(dir); });
    EXPECT_NE(msg.find(fmt::format("is in use by another y8m-train (pid {}", ::getpid())),
              std::string::npos)
        << msg;
  }
  TrainDirLock again(dir);  // released with the first
  EXPECT_TRUE(again.fresh());
}

TEST(TrainDir, ARefusedRunLeavesNoFolderAndStartNewModelKeepsTheLock) {
  testing::TempDir d;
  { TrainDirLock l(d.file("gone")); }
  EXPECT_FALSE(fs::exists(d.file("gone")));
  TrainDirLock l(d.file("kept"));
  l.keep();
  testing::write_file(d.file("kept/model.ckpt-1.y8m"), "x");
  fs::create_directories(d.file("kept/sub"));
  l.clear();
  EXPECT_TRUE(fs::exists(d.file(std::string("kept/") + TrainDirLock::kFileName)));
  EXPECT_FALSE(fs::exists(d.file("kept/model.ckpt-1.y8m")));
  EXPECT_FALSE(fs::exists(d.file("kept/sub")));
}

TEST_F(Reliability, TrainingRefusesAHeldTrainDir) {
  const std::string dir = dir_->file("held");
  TrainDirLock holder(dir);
  holder.keep();
  CapturedLog log;
  const std::string msg = error_of([&] { run_training(options(dir, 2), log.get()); });
  EXPECT_NE(msg.find("is in use by another y8m-train"), std::string::npos) << msg;
  EXPECT_TRUE(list_checkpoints(dir).empty());
}

TEST_F(Reliability, StaleCheckpointTemporariesAreRemovedAtStart) {
  const std::string dir = dir_->file("stale");
  fs::create_directories(dir);
  const std::string pidless = dir + "/model.ckpt-4.y8m.tmp-0badf00d";
  const std::string dead = fmt::format("{}/model.ckpt-5.y8m.tmp-{}-0badf00d", dir, dead_pid());
  const std::string own = fmt::format("{}/model.ckpt-6.y8m.tmp-{}-0badf00d", dir, ::getpid());
  const std::string eval_live =
      fmt::format("{}/inference_model.y8m.tmp-{}-0badf00d", dir, ::getppid());
  for (const auto& f : {pidless, dead, own, eval_live}) testing::write_file(f, "partial");
  CapturedLog log;
  run_training(options(dir, 1), log.get());
  EXPECT_FALSE(fs::exists(pidless));
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(own));       // a recycled pid (same pid after a container restart)
  EXPECT_TRUE(fs::exists(eval_live));  // y8m-eval may be exporting right now
  EXPECT_EQ(count_of(log.text(), "left by a writer that was killed"), 3u) << log.text();
}

TEST_F(Reliability, DivergingRunStopsAndKeepsTheLastFiniteState) {
  const std::string dir = dir_->file("diverge");
  TrainOptions o = options(dir, 8);
  o.base_learning_rate = 1e38;
  CapturedLog log;
  const std::string msg = error_of([&] { run_training(o, log.get()); });
  EXPECT_NE(msg.find("step 2: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("the update was not applied and training stopped"), std::string::npos) << msg;
  EXPECT_NE(msg.find("saved the state before it as " + checkpoint_path(dir, 1)), std::string::npos)
      << msg;
  const auto all = list_checkpoints(dir);
  ASSERT_EQ(all.size(), 1u);
  const CheckpointState s = load_checkpoint(all[0].second);
  EXPECT_EQ(s.step, 1);
  EXPECT_NO_THROW(check_finite_weights(s.model, "saved"));
  EXPECT_NO_THROW(check_finite_weights(s.optimizer, "saved"));
  EXPECT_EQ(s.metadata.at("examples_consumed"), "32");  // the bad batch is not counted as consumed
}

TEST_F(Reliability, SkipPolicyDropsUpdatesAndGivesUpAfterARun) {
  TrainOptions o = options(dir_->file("skip"), 40);
  o.base_learning_rate = 1e38;
  o.on_nonfinite = "skip";
  CapturedLog log;
  const std::string msg = error_of([&] { run_training(o, log.get()); });
  EXPECT_NE(msg.find(fmt::format("{} steps in a row", kMaxConsecutiveNonfinite)), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("the model diverged"), std::string::npos) << msg;
  EXPECT_EQ(count_of(log.text(), "update skipped"),
            static_cast<size_t>(kMaxConsecutiveNonfinite - 1));
}

TEST_F(Reliability, SkipPolicyDropsOnlyTheBadBatchAndTheRunEndsFinite) {
  // Video-level records carry float features: one video with a NaN feature makes exactly one
  // batch's loss NaN. Its update (and its BN statistics) are dropped; every other batch trains.
  const std::string data = dir_->file("nan-feature/train0000.tfrecord");
  fs::create_directories(dir_->file("nan-feature"));
  {
    io::RecordWriter w(data);
    const io::FeatureSpec spec = io::FeatureSpec::parse("mean_rgb", "16");
    for (int v = 0; v < 64; ++v) {
      Tensor f = Tensor::empty({16});
      engine::fill_normal(f, static_cast<uint64_t>(v), 0);
      std::vector<float> feat = f.to_vector<float>();
      if (v == 37) feat[3] = NAN;
      w.write(io::encode_video_record(fmt::format("v{}", v), {v % 5}, {feat}, spec));
    }
    w.close();
  }
  auto video_options = [&](const std::string& dir, const std::string& policy) {
    TrainOptions o = options(dir, 0);
    o.train_data_pattern = data;
    o.model = models::ModelConfig();  // LogisticModel, video level
    o.model.model = "MoeModel";       // BN-free; the gating adds a second weight matrix
    o.model.feature_names = {"mean_rgb"};
    o.model.feature_sizes = {16};
    o.model.num_classes = 5;
    o.batch_size = 8;
    o.num_epochs = 1;
    o.on_nonfinite = policy;
    return o;
  };
  CapturedLog log;
  const TrainResult r = run_training(video_options(dir_->file("skip-one"), "skip"), log.get());
  EXPECT_EQ(r.skipped_steps, 1);
  EXPECT_EQ(r.step, 7);  // 64 videos / 8 per batch, one batch dropped
  EXPECT_EQ(count_of(log.text(), "update skipped (1 so far)"), 1u) << log.text();
  EXPECT_NE(log.text().find("warning: 1 updates skipped for a non-finite loss or gradient"),
            std::string::npos)
      << log.text();
  const CheckpointState s = load_checkpoint(checkpoint_path(dir_->file("skip-one"), 7));
  EXPECT_NO_THROW(check_finite_weights(s.model, "skip-one"));
  EXPECT_NO_THROW(check_finite_weights(s.optimizer, "skip-one"));
  // The default policy stops at that batch instead, naming the step.
  const std::string msg =
      error_of([&] { run_training(video_options(dir_->file("stop-one"), "stop"), devnull()); });
  EXPECT_NE(msg.find(": the loss is nan"), std::string::npos) << msg;
}

TEST_F(Reliability, ExportAndEvalRefuseNonFiniteWeights) {
  // A checkpoint of a real model with one NaN weight (as an older y8m, or a run without the check,
  // could write).
  const std::string dir = dir_->file("nan-weights");
  run_training(options(dir, 1), devnull());
  CheckpointState s = load_checkpoint(checkpoint_path(dir, 1));
  CheckpointState bad = s;
  for (auto& [name, t] : bad.model) t = t.clone();
  Tensor& w = bad.model.front().second;
  w.data<float>()[1] = NAN;
  bad.step = 2;
  save_checkpoint(dir, bad, 0);
  std::string msg = error_of([&] {
    export_checkpoint(checkpoint_path(dir, 2), dir_->file("nan.y8m"), {}, Device::cpu());
  });
  EXPECT_NE(msg.find("tensor '" + bad.model.front().first + "' has 1 non-finite values"),
            std::string::npos)
      << msg;
  EXPECT_FALSE(fs::exists(dir_->file("nan.y8m")));
  EvalOptions e;
  e.checkpoint = checkpoint_path(dir, 2);
  e.eval_data_pattern = dir_->file("data/frame/validate*.tfrecord");
  e.num_readers = 1;
  e.device = Device::cpu();
  msg = error_of([&] { run_eval(e, devnull()); });
  EXPECT_NE(msg.find("non-finite"), std::string::npos) << msg;
}

TEST(Scores, NonFiniteScoresAreRefusedNamingTheVideo) {
  const std::vector<float> probs = {0.1f, 0.2f, 0.3f, INFINITY};
  const std::string msg = error_of([&] {
    check_finite_scores(probs.data(), 2, {"vid0", "vid1"}, "evaluation");
  });
  EXPECT_NE(msg.find("evaluation: video 'vid1' has a non-finite score (inf) for class 1"),
            std::string::npos)
      << msg;
  EXPECT_NO_THROW(check_finite_scores(probs.data(), 2, {"vid0"}, "evaluation"));
}

TEST_F(Reliability, FlagsOutOfRangeAreRefusedBeforeAnythingIsWritten) {
  const std::string dir = dir_->file("flags");
  auto refused = [&](const char* part, const std::function<void(TrainOptions&)>& set) {
    TrainOptions o = options(dir, 1);
    set(o);
    const std::string msg = error_of([&] { run_training(o, devnull()); });
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(dir)) << part;
  };
  refused("--base_learning_rate must be a finite number, got nan",
          [](TrainOptions& o) { o.base_learning_rate = NAN; });
  refused("--base_learning_rate must be positive, got 0",
          [](TrainOptions& o) { o.base_learning_rate = 0; });
  refused("--base_learning_rate must be a finite number, got inf",
          [](TrainOptions& o) { o.base_learning_rate = INFINITY; });
  refused("--learning_rate_decay must be positive",
          [](TrainOptions& o) { o.learning_rate_decay = -1; });
  refused("--regularization_penalty must be >= 0",
          [](TrainOptions& o) { o.regularization_penalty = -1; });
  refused("--clip_gradient_norm must be a finite number",
          [](TrainOptions& o) { o.clip_gradient_norm = NAN; });
  refused("--num_epochs must be > 0, got 0", [](TrainOptions& o) { o.num_epochs = 0; });
  refused("--num_epochs must be > 0, got -3", [](TrainOptions& o) { o.num_epochs = -3; });
  refused("--max_steps must be >= 0", [](TrainOptions& o) { o.max_steps = -1; });
  refused("--keep_checkpoint_max must be >= 0",
          [](TrainOptions& o) { o.keep_checkpoint_max = -1; });
  refused("--save_model_secs must be >= 0", [](TrainOptions& o) { o.save_model_secs = -5; });
  refused("--on_nonfinite must be stop or skip",
          [](TrainOptions& o) { o.on_nonfinite = "ignore"; });
}

TEST_F(Reliability, NoExamplesIsAnErrorAndLeavesNoTrainDir) {
  fs::create_directories(dir_->file("empty"));
  testing::write_file(dir_->file("empty/train0000.tfrecord"), "");
  TrainOptions o = options(dir_->file("no-examples"), 0);
  o.train_data_pattern = dir_->file("empty/*.tfrecord");
  const std::string msg = error_of([&] { run_training(o, devnull()); });
  EXPECT_NE(msg.find("--train_data_pattern: no training examples in the 1 file(s)"),
            std::string::npos)
      << msg;
  EXPECT_FALSE(fs::exists(dir_->file("no-examples")));
}

}  // namespace
}  // namespace y8m::pipeline
