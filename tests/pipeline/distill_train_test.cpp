// Distilled training (SPEC §6.2, §8.2), in process: distillation records (context `video_id` and
// teacher `predictions`, as y8m-distill writes them) made here from a tiny synthetic dataset,
// teacher = smoothed labels. The step-1 loss equals lambda BCE(t) + (1 - lambda) BCE(y) computed by
// hand from the model's predictions; lambda = 0 is plain training; loss_lambda is recorded;
// ordinary records, a mixed data set, a changed setting on resume and bad flags are clear errors.
#include "autograd/variable.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "io/reader.h"
#include "io/synth.h"
#include "io/tfrecord.h"
#include "io/yt8m_record.h"
#include "ops/ops.h"
#include "pipeline/checkpoint.h"
#include "pipeline/losses.h"
#include "pipeline/model_inputs.h"
#include "pipeline/trainer.h"
#include "tests/common/test_util.h"
#include "tests/pipeline/pipeline_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

namespace y8m::pipeline {
namespace {

using testing::error_of;

constexpr int kClasses = 50;

// The teacher: labels smoothed towards a class-dependent floor.
std::vector<float> teacher(const std::vector<int64_t>& labels) {
  std::vector<float> t(kClasses);
  for (int c = 0; c < kClasses; ++c)
    t[static_cast<size_t>(c)] = 0.02f + 0.01f * static_cast<float>(c % 5);
  for (int64_t l : labels) t[static_cast<size_t>(l)] = 0.85f;
  return t;
}

// Copies `in` (ordinary frame records) into distillation records, as y8m-distill does.
void write_distill_file(const std::string& in, const std::string& out) {
  io::DecodeOptions d;
  d.num_classes = kClasses;
  io::RecordReader r(in);
  io::RecordWriter w(out);
  std::string_view rec;
  while (r.next(&rec)) {
    io::FrameRecord fr;
    io::decode_frame_record(rec, d, &fr);
    const std::vector<float> t = teacher(fr.labels);
    w.write(io::encode_frame_record(fr.id, fr.labels, fr.frames, d.features, "video_id", &t));
  }
  w.close();
}

class DistillTrain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::write_tiny_dataset(dir_->file("data"), 40, 0, 0);
    namespace fs = std::filesystem;
    fs::create_directories(dir_->file("distill"));
    fs::create_directories(dir_->file("mixed"));
    write_distill_file(dir_->file("data/frame/train0000.tfrecord"),
                       dir_->file("distill/predictions-00000.tfrecord"));
    write_distill_file(dir_->file("data/frame/train0001.tfrecord"),
                       dir_->file("distill/predictions-00001.tfrecord"));
    // A data set whose second file is ordinary: the error comes from the reader, mid-run.
    fs::copy_file(dir_->file("distill/predictions-00000.tfrecord"), dir_->file("mixed/a.tfrecord"));
    fs::copy_file(dir_->file("data/frame/train0001.tfrecord"), dir_->file("mixed/b.tfrecord"));
  }
  static void TearDownTestSuite() { delete dir_; }

  static models::ModelConfig config() {
    models::ModelConfig c;
    c.model = "FrameLevelLogisticModel";  // no frame sampling and no BN: the step-1 forward is
                                          // reproducible
    c.frame_features = true;
    c.feature_names = {"rgb", "audio"};
    c.feature_sizes = {1024, 128};
    c.num_classes = kClasses;
    return c;
  }
  static TrainOptions options(const std::string& train_dir, double lambda) {
    TrainOptions o;
    o.train_dir = train_dir;
    o.train_data_pattern = dir_->file("distill/*.tfrecord");
    o.model = config();
    o.batch_size = 40;  // the whole data set in the first batch
    o.base_learning_rate = 0.01;
    o.num_epochs = 1;
    o.max_steps = 1;
    o.num_readers = 1;
    o.seed = 5;
    o.device = Device::cpu();
    o.save_model_secs = 1e9;
    o.distill = true;
    o.loss_lambda = lambda;
    return o;
  }
  static testing::TempDir* dir_;
};
testing::TempDir* DistillTrain::dir_ = nullptr;

std::FILE* quiet() { return std::fopen("/dev/null", "w"); }

// mean_b sum_c lambda BCE(t, p) + (1 - lambda) BCE(y, p), eps 1e-5, in double from the initial
// model.
double manual_step1_loss(const TrainOptions& o, const std::string& pattern) {
  io::ReaderOptions ro = reader_options(o.model);
  ro.patterns = pattern;
  ro.batch_size = 1000;
  ro.decode.distill = true;
  io::Reader reader(ro);
  io::Batch b;
  EXPECT_TRUE(reader.next(&b));
  EXPECT_EQ(b.size, 40);
  auto model = models::create_model(o.model, o.seed, Device::cpu());
  model->train();
  autograd::NoGradGuard ng;
  engine::Generator gen(1);
  const ModelInputs in = model_inputs(b, true, Device::cpu());
  const std::vector<float> p = model->forward(in.features, in.num_frames, gen).to_vector<float>();
  const float* y = b.labels.data<float>();
  const float* t = b.predictions.data<float>();
  const double eps = 1e-5, lambda = o.loss_lambda;
  double total = 0;
  for (int64_t i = 0; i < b.size * kClasses; ++i) {
    const double lp = std::log(p[static_cast<size_t>(i)] + eps),
                 lq = std::log(1 - p[static_cast<size_t>(i)] + eps);
    const double bce_t = -(t[i] * lp + (1 - t[i]) * lq), bce_y = -(y[i] * lp + (1 - y[i]) * lq);
    total += lambda * bce_t + (1 - lambda) * bce_y;
  }
  return total / static_cast<double>(b.size);
}

TEST(MixedCrossEntropyLoss, EqualsTheWeightedSumOfTwoCrossEntropies) {
  const int64_t b = 3, c = 7;
  Tensor p = Tensor::empty({b, c}, DType::f64), t = Tensor::empty({b, c}, DType::f64);
  engine::fill_uniform(p, 1, 0, 0.01, 0.99);
  engine::fill_uniform(t, 2, 0, 0.0, 1.0);
  std::vector<double> yv(static_cast<size_t>(b * c), 0.0);
  for (size_t i = 0; i < yv.size(); i += 3) yv[i] = 1.0;
  const Tensor y = Tensor::from_vector(yv, {b, c});
  for (double lambda : {0.0, 0.3, 0.5, 1.0}) {
    autograd::set_requires_grad(p, true);
    const Tensor mixed = mixed_cross_entropy_loss(p, t, y, lambda);
    autograd::backward(mixed);
    const std::vector<double> g_mixed = autograd::grad(p).to_vector<double>();
    Tensor q = p.clone();
    autograd::set_requires_grad(q, true);
    const Tensor sum =
        ops::add(ops::mul_scalar(ops::sigmoid_cross_entropy(q, t, 1e-5), lambda),
                 ops::mul_scalar(ops::sigmoid_cross_entropy(q, y, 1e-5), 1 - lambda));
    autograd::backward(sum);
    const std::vector<double> g_sum = autograd::grad(q).to_vector<double>();
    EXPECT_NEAR(mixed.item<double>(), sum.item<double>(), 1e-12) << "lambda " << lambda;
    for (size_t i = 0; i < g_sum.size(); ++i) EXPECT_NEAR(g_mixed[i], g_sum[i], 1e-12) << i;
    p = p.clone();  // a fresh leaf (no accumulated gradient)
  }
  EXPECT_NE(error_of([&] {
              mixed_cross_entropy_loss(p, t, y, 1.5);
            }).find("--loss_lambda must be in [0, 1]"),
            std::string::npos);
}

TEST_F(DistillTrain, StepOneLossIsTheMixedFormula) {
  std::FILE* log = quiet();
  const TrainOptions o = options(dir_->file("run-0.3"), 0.3);
  const TrainResult r = run_training(o, log);
  std::fclose(log);
  EXPECT_EQ(r.step, 1);
  EXPECT_EQ(r.examples, 40);
  const double want = manual_step1_loss(o, dir_->file("distill/*.tfrecord"));
  EXPECT_NEAR(r.last_loss, want, 2e-6 * want);
  const CheckpointState s = load_checkpoint(checkpoint_path(o.train_dir, 1));
  EXPECT_EQ(s.metadata.at("loss_lambda"), "0.3");
  EXPECT_EQ(s.metadata.at("label_loss"),
            "CrossEntropyLoss");  // what evaluation uses, as train_distill.py
}

TEST_F(DistillTrain, TheTeacherMattersAndLambdaZeroIsPlainTraining) {
  std::FILE* log = quiet();
  const double l0 = run_training(options(dir_->file("run-0"), 0.0), log).last_loss;
  const double l1 = run_training(options(dir_->file("run-1"), 1.0), log).last_loss;
  TrainOptions plain = options(dir_->file("run-plain"), 0.5);
  plain.distill =
      false;  // the ordinary reader reads distillation records too (id key `video_id` detected)
  const double lp = run_training(plain, log).last_loss;
  std::fclose(log);
  EXPECT_EQ(l0, lp);
  // At initialization p is close to 1/2, where BCE hardly depends on the target: the two losses
  // differ by about 5e-3 (of 34.6), still far beyond the 7e-5 tolerance of the comparisons with the
  // formula.
  EXPECT_GT(std::fabs(l1 - l0), 1e-3);
  EXPECT_NEAR(l1, manual_step1_loss(options("", 1.0), dir_->file("distill/*.tfrecord")), 2e-6 * l1);
}

TEST_F(DistillTrain, OrdinaryRecordsAreAClearError) {
  std::FILE* log = quiet();
  TrainOptions o = options(dir_->file("not-distill"), 0.5);
  o.train_data_pattern = dir_->file("data/frame/train*.tfrecord");
  std::string msg = error_of([&] { run_training(o, log); });
  EXPECT_NE(msg.find("--loss_lambda: the training data are not distillation records"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("train0000.tfrecord has no teacher 'predictions'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("records written by y8m-distill"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  // The first file is fine, the second is not: the reader's error becomes the same message.
  o = options(dir_->file("mixed-run"), 0.5);
  o.train_data_pattern = dir_->file("mixed/*.tfrecord");
  o.batch_size = 4;
  o.max_steps = 0;
  msg = error_of([&] { run_training(o, log); });
  EXPECT_NE(msg.find("--loss_lambda: the training data are not distillation records"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("b.tfrecord: record"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  std::fclose(log);
}

TEST_F(DistillTrain, FlagErrorsAndResume) {
  std::FILE* log = quiet();
  TrainOptions o = options(dir_->file("bad"), 1.5);
  EXPECT_NE(
      error_of([&] { run_training(o, log); }).find("--loss_lambda must be in [0, 1], got 1.5"),
      std::string::npos);
  o = options(dir_->file("bad"), 0.5);
  o.label_loss = "HingeLoss";
  EXPECT_NE(error_of([&] {
              run_training(o, log);
            }).find("--label_loss=HingeLoss: distilled training always uses"),
            std::string::npos);
  o = options(dir_->file("bad-video"), 0.5);
  o.model.frame_features = false;
  o.model.model = "LogisticModel";
  o.model.feature_names = {"mean_rgb", "mean_audio"};
  EXPECT_NE(error_of([&] { run_training(o, log); }).find("distillation records are frame-level"),
            std::string::npos);
  // A distilled run resumes only as one, with the same lambda.
  const std::string d = dir_->file("resume");
  run_training(options(d, 0.5), log);
  TrainOptions again = options(d, 0.5);
  again.max_steps = 2;
  again.num_epochs = 2;
  EXPECT_EQ(run_training(again, log).step, 2);
  again.max_steps = 3;
  again.distill = false;
  std::string msg = error_of([&] { run_training(again, log); });
  EXPECT_NE(msg.find("was trained on distillation records with --loss_lambda=0.5"),
            std::string::npos)
      << msg;
  again.distill = true;
  again.loss_lambda = 0.25;
  EXPECT_NE(error_of([&] { run_training(again, log); }).find("--loss_lambda=0.5"),
            std::string::npos);
  std::fclose(log);
}

}  // namespace
}  // namespace y8m::pipeline
