// Weight averaging: the mean of two checkpoints, identity for copies, and refusals.
#include "pipeline/average.h"
#include "engine/error.h"
#include "io/synth.h"
#include "pipeline/checkpoint.h"
#include "pipeline/trainer.h"
#include "tests/common/test_util.h"
#include "tests/pipeline/pipeline_test_util.h"

#include <gtest/gtest.h>

#include <cmath>

namespace y8m::pipeline {
namespace {

class Average : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::write_tiny_dataset(dir_->file("data"));
    a_ = train("a", 3, 8);
    b_ = train("b", 4, 8);
    c_ = train("c", 3, 16);  // another architecture (K = 16)
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string train(const std::string& name, uint64_t seed, int64_t clusters) {
    TrainOptions t;
    t.train_dir = dir_->file(name);
    t.train_data_pattern = dir_->file("data/frame/train*.tfrecord");
    t.model = models::netvlad_config(clusters, 16);
    t.model.num_classes = 50;
    t.model.iterations = 5;
    t.batch_size = 16;
    t.max_steps = 2;
    t.num_readers = 1;
    t.seed = seed;
    t.device = Device::cpu();
    std::FILE* log = std::fopen("/dev/null", "w");
    run_training(t, log);
    std::fclose(log);
    return checkpoint_path(t.train_dir, 2);
  }
  static testing::TempDir* dir_;
  static std::string a_, b_, c_;
};
testing::TempDir* Average::dir_ = nullptr;
std::string Average::a_, Average::b_, Average::c_;

TEST_F(Average, MeanOfTwoCheckpoints) {
  const Averaged avg = average_models({a_, b_});
  const CheckpointState sa = load_checkpoint(a_), sb = load_checkpoint(b_);
  EXPECT_EQ(avg.contents.kind, "checkpoint");
  EXPECT_EQ(avg.step, 2);
  ASSERT_EQ(avg.contents.tensors.size(), sa.model.size());  // optimizer state dropped
  for (size_t i = 0; i < sa.model.size(); ++i) {
    const auto& t = avg.contents.tensors[i];
    EXPECT_EQ(t.name, sa.model[i].first);
    const auto x = sa.model[i].second.to_vector<double>(),
               y = sb.model[i].second.to_vector<double>();
    const auto m = t.tensor.to_vector<double>();
    for (size_t k = 0; k < m.size(); ++k)
      ASSERT_NEAR(m[k], (x[k] + y[k]) / 2, 1e-7 * (1 + std::fabs(x[k]) + std::fabs(y[k])))
          << t.name << " " << k;
  }
}

TEST_F(Average, CopiesAverageToThemselves) {
  const Averaged avg = average_models({a_, a_, a_});
  const CheckpointState sa = load_checkpoint(a_);
  for (size_t i = 0; i < sa.model.size(); ++i)
    EXPECT_EQ(avg.contents.tensors[i].tensor.to_vector<float>(),
              sa.model[i].second.to_vector<float>())
        << sa.model[i].first;
}

TEST_F(Average, RefusesDifferentArchitectures) {
  const std::string msg = testing::error_of([&] { average_models({a_, c_}); });
  EXPECT_NE(msg.find("different architectures"), std::string::npos) << msg;
  EXPECT_NE(msg.find("netvlad_cluster_size"), std::string::npos) << msg;
  EXPECT_NE(testing::error_of([] { average_models({}); }).find("--models"), std::string::npos);
}

}  // namespace
}  // namespace y8m::pipeline
