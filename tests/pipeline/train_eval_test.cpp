// Training and evaluation end to end, in process, on a tiny synthetic dataset: exact resume (N
// steps straight equal N/2 + restart + N/2, bit for bit), learning (GAP far above chance on
// held-out data), checkpoint retention, and the errors a user can cause.
#include "engine/error.h"
#include "io/reader.h"
#include "io/synth.h"
#include "pipeline/checkpoint.h"
#include "pipeline/evaluator.h"
#include "pipeline/metrics.h"
#include "pipeline/trainer.h"
#include "tests/common/test_util.h"
#include "tests/pipeline/pipeline_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

namespace y8m::pipeline {
namespace {

class TrainEval : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::write_tiny_dataset(dir_->file("data"), 600, 200);
  }
  static void TearDownTestSuite() { delete dir_; }

  static models::ModelConfig small_netvlad() {
    models::ModelConfig c = models::netvlad_config(8, 32);
    c.num_classes = 50;
    c.iterations = 10;
    c.batch_norm_decay = 0.9;  // converge the moving statistics within a short test run
    return c;
  }
  static TrainOptions train_options(const std::string& train_dir, int64_t max_steps) {
    TrainOptions o;
    o.train_dir = train_dir;
    o.train_data_pattern = dir_->file("data/frame/train*.tfrecord");
    o.model = small_netvlad();
    o.batch_size = 32;
    o.base_learning_rate = 0.003;
    o.num_epochs = 100;
    o.max_steps = max_steps;
    o.num_readers = 2;
    o.seed = 3;
    o.device = Device::cpu();
    o.save_model_secs = 1e9;  // only the final checkpoint
    return o;
  }
  static testing::TempDir* dir_;
};
testing::TempDir* TrainEval::dir_ = nullptr;

std::string quiet_log() { return "/dev/null"; }

TEST_F(TrainEval, ResumeIsExact) {
  std::FILE* log = std::fopen(quiet_log().c_str(), "w");
  const std::string a = dir_->file("straight"), b = dir_->file("resumed");
  run_training(train_options(a, 12), log);
  const TrainResult first = run_training(train_options(b, 6), log);
  EXPECT_FALSE(first.resumed);
  const TrainResult second = run_training(train_options(b, 12), log);
  EXPECT_TRUE(second.resumed);
  EXPECT_EQ(second.step, 12);
  std::fclose(log);
  const CheckpointState sa = load_checkpoint(checkpoint_path(a, 12)),
                        sb = load_checkpoint(checkpoint_path(b, 12));
  ASSERT_EQ(sa.model.size(), sb.model.size());
  ASSERT_EQ(sa.optimizer.size(), sb.optimizer.size());
  auto same = [](const NamedTensors& x, const NamedTensors& y) {
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(x[i].first, y[i].first);
      ASSERT_EQ(x[i].second.nbytes(), y[i].second.nbytes());
      EXPECT_EQ(std::memcmp(x[i].second.data_ptr(), y[i].second.data_ptr(), x[i].second.nbytes()),
                0)
          << x[i].first << " differs after resume";
    }
  };
  same(sa.model, sb.model);
  same(sa.optimizer, sb.optimizer);
  EXPECT_EQ(sa.metadata.at("sampling_offset"), sb.metadata.at("sampling_offset"));
  EXPECT_EQ(sa.metadata.at("examples_consumed"), sb.metadata.at("examples_consumed"));
}

TEST_F(TrainEval, LearnsFarAboveChance) {
  std::FILE* log = std::fopen(quiet_log().c_str(), "w");
  const std::string d = dir_->file("learn");
  TrainOptions t = train_options(d, 250);
  run_training(t, log);
  EvalOptions e;
  e.train_dir = d;
  e.eval_data_pattern = dir_->file("data/frame/validate*.tfrecord");
  e.batch_size = 100;
  e.num_readers = 1;
  e.device = Device::cpu();
  const EvalResult r = run_eval(e, log);
  std::fclose(log);
  EXPECT_EQ(r.step, 250);
  EXPECT_EQ(r.metrics.examples, 200);
  // Chance: random scores against the same labels.
  io::ReaderOptions ro;
  ro.patterns = e.eval_data_pattern;
  ro.batch_size = 1000;
  ro.decode.num_classes = 50;
  io::Reader reader(ro);
  io::Batch batch;
  ASSERT_TRUE(reader.next(&batch));
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> random(static_cast<size_t>(batch.size * 50));
  for (float& x : random) x = u(rng);
  MetricsAccumulator chance(50, 20);
  chance.add(random.data(), batch.labels.data<float>(), batch.size);
  const double chance_gap = chance.result().gap;
  EXPECT_GT(r.metrics.gap, 0.6) << "chance is " << chance_gap;
  EXPECT_GT(r.metrics.gap, 3 * chance_gap);
  EXPECT_GT(r.metrics.hit_at_one, 0.7);
  // The eval line went to evallog.txt.
  EXPECT_NE(testing::read_file(d + "/evallog.txt").find("GAP"), std::string::npos);
}

TEST_F(TrainEval, ResumeRefusesADifferentArchitecture) {
  std::FILE* log = std::fopen(quiet_log().c_str(), "w");
  const std::string d = dir_->file("arch");
  run_training(train_options(d, 2), log);
  TrainOptions t = train_options(d, 4);
  t.model.netvlad_cluster_size = 16;
  t.explicit_model_flags = {"netvlad_cluster_size"};
  try {
    run_training(t, log);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--netvlad_cluster_size=16 differs from the checkpoint"),
              std::string::npos)
        << e.what();
  }
  t.start_new_model = true;  // starting over is allowed
  EXPECT_EQ(run_training(t, log).step, 4);
  std::fclose(log);
}

TEST_F(TrainEval, RetentionAndBrokenCheckpoints) {
  std::FILE* log = std::fopen(quiet_log().c_str(), "w");
  const std::string d = dir_->file("keep");
  TrainOptions t = train_options(d, 3);
  t.save_model_secs = 0;  // a checkpoint every step
  t.keep_checkpoint_max = 2;
  run_training(t, log);
  const auto all = list_checkpoints(d);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, 3);
  EXPECT_EQ(all[1].first, 2);
  // Corrupt the newest: resume falls back to the previous one and says so.
  std::string bytes = testing::read_file(all[0].second);
  bytes[bytes.size() / 2] =
      static_cast<char>(bytes[bytes.size() / 2] ^ 0xff);  // inside a weight blob
  testing::write_file(all[0].second, bytes);
  std::vector<std::string> skipped;
  EXPECT_EQ(latest_valid_checkpoint(d, &skipped), all[1].second);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("CRC"), std::string::npos) << skipped[0];
  std::fclose(log);
}

TEST_F(TrainEval, EvalErrors) {
  EvalOptions e;
  e.train_dir = dir_->file("nothing-here");
  e.eval_data_pattern = dir_->file("data/frame/validate*.tfrecord");
  e.device = Device::cpu();
  try {
    run_eval(e, stderr);
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("no valid checkpoint"), std::string::npos) << err.what();
  }
}

}  // namespace
}  // namespace y8m::pipeline
