// What the original's tools and TensorBoard see of a run: model_flags.json as train.py wrote it
// (and its copy by the ensembler), and the TensorBoard scalars of training (train.py's tags beside
// y8m's) and of evaluation (eval.py's "GlobalStep/Eval_*" and "Epoch/Eval_*"), read back from the
// event files.
#include "io/events.h"
#include "io/proto/event.pb.h"
#include "io/tfrecord.h"
#include "pipeline/archive.h"
#include "pipeline/checkpoint.h"
#include "pipeline/ensemble.h"
#include "pipeline/evaluator.h"
#include "pipeline/model_flags_json.h"
#include "pipeline/trainer.h"
#include "tests/common/test_util.h"
#include "tests/pipeline/pipeline_test_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

namespace y8m::pipeline {
namespace {

namespace fs = std::filesystem;

// Every scalar of every event file in `dir`: tag -> (step -> value), and how often each tag came.
struct Scalars {
  std::map<std::string, std::map<int64_t, float>> values;
  std::map<std::string, int> count;
  int files = 0;
};

Scalars read_scalars(const std::string& dir, const std::set<std::string>& skip_files = {}) {
  Scalars s;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("events.out.tfevents.", 0) != 0 || skip_files.count(name)) continue;
    ++s.files;
    io::RecordReader r(entry.path().string());
    std::string_view rec;
    while (r.next(&rec)) {
      tensorflow::Event e;
      EXPECT_TRUE(e.ParseFromArray(rec.data(), static_cast<int>(rec.size())));
      for (const auto& v : e.summary().value()) {
        s.values[v.tag()][e.step()] = v.simple_value();
        ++s.count[v.tag()];
      }
    }
  }
  return s;
}

std::set<std::string> event_files(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("events.out.tfevents.", 0) == 0) out.insert(name);
  }
  return out;
}

class ModelFlagsEvents : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::write_tiny_dataset(dir_->file("data"), 160, 70);
  }
  static void TearDownTestSuite() { delete dir_; }

  static TrainOptions train_options(const std::string& train_dir) {
    TrainOptions o;
    o.train_dir = train_dir;
    o.train_data_pattern = dir_->file("data/frame/train*.tfrecord");
    o.model = models::netvlad_config(4, 16);
    o.model.num_classes = 50;
    o.model.iterations = 5;
    o.batch_size = 16;
    o.base_learning_rate = 0.003;
    o.num_epochs = 10;
    o.max_steps = 20;
    o.num_readers = 1;
    o.seed = 5;
    o.device = Device::cpu();
    o.save_model_secs = 1e9;
    return o;
  }
  static testing::TempDir* dir_;
};
testing::TempDir* ModelFlagsEvents::dir_ = nullptr;

TEST(ModelFlagsJson, TextAsTrainPyWroteIt) {
  models::ModelConfig c = models::netvlad_config(256, 1024);
  // The README's NetVLAD command; Python 2.7's json.dumps of train.py's dict, byte for byte.
  EXPECT_EQ(model_flags_json(c, "CrossEntropyLoss",
                             {{"feature_names", "rgb,audio"}, {"feature_sizes", "1024,128"}}),
            "{\"model\": \"NetVLADModelLF\", \"feature_sizes\": \"1024,128\", \"frame_features\": "
            "true, \"feature_names\": \"rgb,audio\", \"label_loss\": \"CrossEntropyLoss\"}");
  // The flags as typed (the xlsx's spaces), else the config's lists; false; escaping.
  EXPECT_EQ(model_flags_json(c, "HingeLoss", {{"feature_sizes", "1024, 128"}}),
            "{\"model\": \"NetVLADModelLF\", \"feature_sizes\": \"1024, 128\", \"frame_features\": "
            "true, \"feature_names\": \"rgb,audio\", \"label_loss\": \"HingeLoss\"}");
  models::ModelConfig v;  // the defaults: LogisticModel on mean_rgb
  v.model = "Logistic\"Model\\\xc3\xa9";
  EXPECT_EQ(model_flags_json(v, "CrossEntropyLoss", {{"feature_sizes", "2048"}}),
            "{\"model\": \"Logistic\\\"Model\\\\\\u00e9\", \"feature_sizes\": \"1024\", "
            "\"frame_features\": false, \"feature_names\": \"mean_rgb\", \"label_loss\": "
            "\"CrossEntropyLoss\"}");
}

TEST(ModelFlagsJson, WriteIsAtomicAndCopyNeedsASource) {
  testing::TempDir d;
  fs::create_directories(d.file("a"));
  fs::create_directories(d.file("b"));
  EXPECT_FALSE(copy_model_flags_json(d.file("a"), d.file("b")));
  EXPECT_FALSE(fs::exists(d.file("b/model_flags.json")));
  write_model_flags_json(d.file("a"), "{\"x\": 1}");
  write_model_flags_json(d.file("a"), "{\"x\": 2}");  // replaces
  EXPECT_TRUE(copy_model_flags_json(d.file("a"), d.file("b")));
  EXPECT_EQ(testing::read_file(d.file("b/model_flags.json")), "{\"x\": 2}");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(d.file("a"))) entries += e.is_regular_file();
  EXPECT_EQ(entries, 1);  // no temporary left
}

// Training writes model_flags.json and train.py's TensorBoard tags; evaluation writes eval.py's;
// the ensembler copies the last model's model_flags.json.
TEST_F(ModelFlagsEvents, TrainingAndEvaluationAsTheOriginal) {
  const std::string run = dir_->file("run");
  TrainOptions o = train_options(run);
  o.flags = {{"feature_sizes", "1024, 128"}, {"model", "NetVLADModelLF"}};
  std::FILE* log = std::fopen("/dev/null", "w");
  run_training(o, log);
  EXPECT_EQ(testing::read_file(run + "/model_flags.json"),
            "{\"model\": \"NetVLADModelLF\", \"feature_sizes\": \"1024, 128\", \"frame_features\": "
            "true, \"feature_names\": \"rgb,audio\", \"label_loss\": \"CrossEntropyLoss\"}");

  const std::set<std::string> train_files = event_files(run);
  const Scalars t = read_scalars(run);
  EXPECT_EQ(t.files, 1);
  for (const char* tag : {"model/Training_Hit@1", "model/Training_Perr", "model/Training_GAP",
                          "global_step/Examples/Second", "label_loss", "reg_loss", "learning_rate",
                          "global_step/sec", "model/loss"}) {
    ASSERT_TRUE(t.values.count(tag)) << tag;
    EXPECT_EQ(t.values.at(tag).size(), 3u) << tag;  // steps 1, 10 and 20 (log_every)
  }
  for (int64_t step : {1, 10}) {
    EXPECT_EQ(t.values.at("model/Training_Hit@1").at(step),
              t.values.at("model/hit_at_one").at(step));
    EXPECT_EQ(t.values.at("model/Training_Perr").at(step), t.values.at("model/perr").at(step));
    EXPECT_EQ(t.values.at("model/Training_GAP").at(step), t.values.at("model/gap").at(step));
    EXPECT_EQ(t.values.at("global_step/Examples/Second").at(step),
              t.values.at("examples_per_second").at(step));
    EXPECT_EQ(t.values.at("label_loss").at(step), t.values.at("model/loss").at(step));
    const float hit = t.values.at("model/Training_Hit@1").at(step);
    EXPECT_TRUE(hit >= 0 && hit <= 1) << hit;
    EXPECT_GT(t.values.at("reg_loss").at(step), 0.f);  // moe_l2 > 0
    EXPECT_GT(t.values.at("global_step/sec").at(step), 0.f);
  }
  EXPECT_FLOAT_EQ(t.values.at("learning_rate").at(10), 0.003f);

  // eval.py: "GlobalStep/Eval_*" per batch and "Epoch/Eval_*" once, at the checkpoint's step.
  EvalOptions e;
  e.train_dir = run;
  e.eval_data_pattern = dir_->file("data/frame/validate*.tfrecord");
  e.batch_size = 32;
  e.num_readers = 1;
  e.device = Device::cpu();
  const EvalResult r = run_eval(e, log);
  ASSERT_EQ(r.step, 20);
  const Scalars ev = read_scalars(run, train_files);
  EXPECT_EQ(ev.files, 1);
  const std::map<std::string, double> epoch = {{"Epoch/Eval_Avg_Hit@1", r.metrics.hit_at_one},
                                               {"Epoch/Eval_Avg_Perr", r.metrics.perr},
                                               {"Epoch/Eval_Avg_Loss", r.avg_loss},
                                               {"Epoch/Eval_MAP", r.metrics.map},
                                               {"Epoch/Eval_GAP", r.metrics.gap}};
  for (const auto& [tag, value] : epoch) {
    ASSERT_EQ(ev.count.count(tag), 1u) << tag;
    EXPECT_EQ(ev.count.at(tag), 1) << tag;
    EXPECT_EQ(ev.values.at(tag).at(20), static_cast<float>(value)) << tag;
  }
  EXPECT_GT(r.metrics.gap, 0);
  const int batches = static_cast<int>((r.metrics.examples + 31) / 32);
  ASSERT_GT(batches, 1);
  for (const char* tag : {"GlobalStep/Eval_Hit@1", "GlobalStep/Eval_Perr", "GlobalStep/Eval_Loss",
                          "GlobalStep/Eval_Example_Second"}) {
    ASSERT_TRUE(ev.count.count(tag)) << tag;
    EXPECT_EQ(ev.count.at(tag), batches) << tag;
    EXPECT_EQ(ev.values.at(tag).begin()->first, 20) << tag;
  }

  // y8m-eval's polling loop passes one writer to every evaluation, as eval.py kept one events
  // file: two evaluations through it add one file holding both epochs' summaries.
  const std::set<std::string> before = event_files(run);
  {
    io::EventWriter shared(run);
    e.events = &shared;
    run_eval(e, log);
    run_eval(e, log);
  }
  e.events = nullptr;
  EXPECT_EQ(event_files(run).size(), before.size() + 1);
  const Scalars loop = read_scalars(run, before);
  EXPECT_EQ(loop.files, 1);
  EXPECT_EQ(loop.count.at("Epoch/Eval_GAP"), 2);

  // The README's `cp model_flags.json`, then graph_ensemble.py's copy of the last model's file.
  fs::create_directories(dir_->file("quant"));
  export_checkpoint(checkpoint_path(run, 20), dir_->file("quant/inference_model.y8m"));
  export_checkpoint(checkpoint_path(run, 20), run + "/inference_model.y8m");
  fs::copy_file(run + "/model_flags.json", dir_->file("quant/model_flags.json"));
  const std::string flags = testing::read_file(run + "/model_flags.json");
  write_ensemble({dir_->file("quant/inference_model.y8m"), run + "/inference_model.y8m"},
                 {0.5, 0.5}, dir_->file("ens"));
  EXPECT_EQ(testing::read_file(dir_->file("ens/model_flags.json")), flags);
  // No model_flags.json beside the last model: none in the ensemble, and no error.
  fs::remove(dir_->file("quant/model_flags.json"));
  write_ensemble({run + "/inference_model.y8m", dir_->file("quant/inference_model.y8m")},
                 {0.5, 0.5}, dir_->file("ens2"));
  EXPECT_TRUE(fs::exists(dir_->file("ens2/inference_model.y8m")));
  EXPECT_FALSE(fs::exists(dir_->file("ens2/model_flags.json")));
  std::fclose(log);
}

}  // namespace
}  // namespace y8m::pipeline
