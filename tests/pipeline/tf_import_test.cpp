// Importing TensorFlow checkpoints of the original (pipeline/tf_import.h): the fixtures of
// tools/make_tf_checkpoint_fixtures.py, imported and run as y8m archives and checkpoints, must
// predict what TensorFlow predicted on the same batch.
#include "pipeline/tf_import.h"

#include "io/reader.h"
#include "pipeline/archive.h"
#include "pipeline/model_flags_json.h"
#include "pipeline/model_inputs.h"
#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace y8m::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::TempDir;

const std::string kFixtures = Y8M_TF_CHECKPOINT_FIXTURES;
// Max |y8m - TF| allowed (measured: at most 9e-8, float rounding); the variants' predictions
// differ by more than 10 times this (FixtureVariantsAreToldApart).
constexpr double kTolerance = 1e-6;

// The config of fixture folder `name`: its model_flags.json, then its line of flags.txt
// ("--flag=value", "--boolflag"), then `extra` (config keys and values).
models::ModelConfig fixture_config(const std::string& name,
                                   const std::map<std::string, std::string>& extra = {}) {
  std::map<std::string, std::string> m =
      read_model_flags_json(kFixtures + "/" + name + "/model_flags.json");
  m.erase("label_loss");
  std::ifstream in(kFixtures + "/flags.txt");
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first != name) continue;
    for (std::string w; words >> w;) {
      const size_t eq = w.find('=');
      std::string value = eq == std::string::npos ? "true" : w.substr(eq + 1);
      if (value == "True" || value == "False") value = value == "True" ? "true" : "false";
      m[w.substr(2, eq == std::string::npos ? std::string::npos : eq - 2)] = value;
    }
  }
  for (const auto& kv : extra) m[kv.first] = kv.second;
  return models::config_from_map(m);
}

// TensorFlow's predictions: "<id> p_0 ... p_9" per line.
std::vector<std::vector<float>> tf_predictions(const std::string& name) {
  std::vector<std::vector<float>> out;
  std::ifstream in(kFixtures + "/" + name + ".predictions.txt");
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string id;
    words >> id;
    out.emplace_back();
    for (float p; words >> p;) out.back().push_back(p);
  }
  return out;
}

io::Batch fixture_batch(const models::ModelConfig& config) {
  io::ReaderOptions o = reader_options(config);
  o.patterns = kFixtures + "/batch.tfrecord";
  o.batch_size = 16;
  io::Reader reader(o);
  io::Batch batch;
  EXPECT_TRUE(reader.next(&batch));
  EXPECT_EQ(batch.ids, (std::vector<std::string>{"vid0", "vid1", "vid2"}));
  return batch;
}

// Max |y8m - TF| over the batch for the archive at `path`.
double archive_error(const std::string& path, const std::string& predictions) {
  const ArchiveModel m(path);
  engine::Generator gen(1);
  const io::Batch batch = fixture_batch(m.config());
  const Tensor p = m.predict(batch, gen);
  const auto want = tf_predictions(predictions);
  EXPECT_EQ(p.shape(), (Shape{3, 10}));
  const auto got = p.to_vector<float>();
  double err = 0;
  for (size_t b = 0; b < want.size(); ++b)
    for (size_t c = 0; c < want[b].size(); ++c)
      err = std::max(err, std::abs(static_cast<double>(got[b * 10 + c]) - want[b][c]));
  return err;
}

struct Case {
  const char* folder;
  const char* predictions;
  bool use_ema;
  int64_t step;
  size_t ignored;
  size_t dequantized;
};

TEST(TfImport, PredictsWhatTensorFlowPredicted) {
  const Case cases[] = {
      {"netvlad", "netvlad", false, 7, 76, 0},
      {"netvlad", "netvlad_ema", true, 7, 76, 0},
      {"netvlad_quant", "netvlad_quant", false, 0, 0, 1},
      {"netvlad_fp16", "netvlad_fp16", false, 0, 0, 1},
      {"netfv", "netfv", false, 0, 0, 0},
      {"dbof", "dbof", false, 3, 1, 0},
      {"softdbof", "softdbof", false, 5, 0, 0},
  };
  TempDir dir;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.predictions);
    const std::string prefix = resolve_tf_checkpoint(kFixtures + "/" + c.folder);
    TfImportOptions o;
    o.use_ema = c.use_ema;
    const TfImported r = import_tf_checkpoint(prefix, fixture_config(c.folder), o);
    EXPECT_EQ(r.step, c.step);
    EXPECT_EQ(r.ignored.size(), c.ignored);
    EXPECT_EQ(r.dequantized, c.dequantized);
    EXPECT_EQ(r.imported, r.model->named_parameters().size() + r.model->named_buffers().size());
    const std::string archive = dir.file(std::string(c.predictions) + ".y8m");
    export_model(*r.model, archive);
    EXPECT_LT(archive_error(archive, c.predictions), kTolerance);
    // The same weights through a y8m checkpoint and y8m-eval's export.
    const std::string ckdir = dir.file(std::string(c.predictions) + "_ckpt");
    fs::create_directories(ckdir);
    const std::string ckpt = save_checkpoint(ckdir, tf_import_checkpoint_state(r), 0);
    EXPECT_EQ(ckpt, checkpoint_path(ckdir, c.step));
    ExportOptions eo;
    eo.model_flags = {{"sample_all", "true"}, {"iterations", "5"}};
    const std::string exported = dir.file(std::string(c.predictions) + "_from_ckpt.y8m");
    export_checkpoint(ckpt, exported, eo);
    EXPECT_LT(archive_error(exported, c.predictions), kTolerance);
  }
}

TEST(TfImport, FixtureVariantsAreToldApart) {
  // The EMA, quantized and float16 weights change TF's predictions by more than 10 times the
  // tolerance, so reading the wrong variables could not pass.
  const auto raw = tf_predictions("netvlad");
  for (const char* other : {"netvlad_ema", "netvlad_quant", "netvlad_fp16"}) {
    const auto p = tf_predictions(other);
    double diff = 0;
    for (size_t b = 0; b < raw.size(); ++b)
      for (size_t c = 0; c < raw[b].size(); ++c)
        diff = std::max(diff, static_cast<double>(std::abs(raw[b][c] - p[b][c])));
    EXPECT_GT(diff, 10 * kTolerance) << other;
  }
}

TEST(TfImport, ErrorsNameTheVariable) {
  const std::string netvlad = kFixtures + "/netvlad/model.ckpt-7";
  // Another model: its variables are missing; the hint lists the checkpoint's scopes.
  expect_error(
      [&] {
        import_tf_checkpoint(netvlad, fixture_config("netfv", {{"model", "NetFVModelLF"}}));
      },
      {netvlad + ".index", "no variable 'tower/video_FV/cluster_weights' (and 13 more missing)",
       "NetFVModelLF", "video_VLAD", "wrong --model"});
  expect_error(
      [&] {
        import_tf_checkpoint(netvlad, fixture_config("netvlad", {{"model", "GatedDbofModelLF"},
                                                                 {"dbof_cluster_size", "16"}}));
      },
      {"no variable 'tower/video_DBOF/cluster_weights'", "more missing"});
  // A wrong size.
  expect_error(
      [&] {
        import_tf_checkpoint(netvlad, fixture_config("netvlad", {{"netvlad_cluster_size", "8"}}));
      },
      {"variable 'tower/hidden1_weights' is [4352, 4]", "NetVLADModelLF needs [8704, 4]"});
  // A variable the model does not have (built without --gating).
  expect_error(
      [&] {
        import_tf_checkpoint(netvlad, fixture_config("netvlad", {{"gating", "false"}}));
      },
      {"variable 'tower/gating_bn/beta' [4] has no place in NetVLADModelLF"});
  // EMA shadows asked of a checkpoint without them.
  TfImportOptions ema;
  ema.use_ema = true;
  expect_error(
      [&] {
        import_tf_checkpoint(kFixtures + "/netfv/inference_model", fixture_config("netfv"), ema);
      },
      {"no variable 'tower/hidden1_weights/ExponentialMovingAverage' (and 32 more missing)",
       "import without --use_ema"});
  // Another scope.
  TfImportOptions scope;
  scope.scope = "model_0/tower";
  expect_error(
      [&] { import_tf_checkpoint(netvlad, fixture_config("netvlad"), scope); },
      {"no variable 'model_0/tower/hidden1_weights'", "no variables under 'model_0/tower/'"});
}

TEST(TfImport, ResolvesPrefixesAndFolders) {
  const std::string netvlad = kFixtures + "/netvlad";
  EXPECT_EQ(resolve_tf_checkpoint(netvlad), netvlad + "/model.ckpt-7");  // its checkpoint file
  EXPECT_EQ(resolve_tf_checkpoint(netvlad + "/model.ckpt-7"), netvlad + "/model.ckpt-7");
  EXPECT_EQ(resolve_tf_checkpoint(netvlad + "/model.ckpt-7.index"), netvlad + "/model.ckpt-7");
  EXPECT_EQ(resolve_tf_checkpoint(netvlad + "/model.ckpt-7.meta"), netvlad + "/model.ckpt-7");
  TempDir dir;
  // No checkpoint file: the only prefix; two prefixes are ambiguous.
  for (const char* f : {"inference_model.index", "inference_model.data-00000-of-00001"})
    fs::copy_file(kFixtures + "/netfv/" + f, dir.file(f));
  EXPECT_EQ(resolve_tf_checkpoint(dir.path()), dir.file("inference_model"));
  fs::copy_file(kFixtures + "/netfv/inference_model.index", dir.file("other.index"));
  expect_error([&] { resolve_tf_checkpoint(dir.path()); },
               {dir.path(), "2 checkpoints and no 'checkpoint' file"});
  testing::write_file(dir.file("checkpoint"), "model_checkpoint_path: \"/elsewhere/other\"\n");
  EXPECT_EQ(resolve_tf_checkpoint(dir.path()), dir.file("other"));  // a moved folder
  testing::write_file(dir.file("checkpoint"), "model_checkpoint_path: \"gone\"\n");
  expect_error([&] { resolve_tf_checkpoint(dir.path()); },
               {dir.path() + "/checkpoint names 'gone'", "does not exist"});
  expect_error([&] { resolve_tf_checkpoint(dir.file("nothing")); },
               {dir.file("nothing"), "not a TensorFlow checkpoint"});
}

TEST(TfImport, ReadsModelFlagsJson) {
  const auto m = read_model_flags_json(kFixtures + "/netvlad/model_flags.json");
  EXPECT_EQ(m, (std::map<std::string, std::string>{{"model", "NetVLADModelLF"},
                                                   {"feature_sizes", "1024,128"},
                                                   {"frame_features", "true"},
                                                   {"feature_names", "rgb,audio"},
                                                   {"label_loss", "CrossEntropyLoss"}}));
  // What y8m writes reads back.
  TempDir dir;
  models::ModelConfig c = fixture_config("netvlad");
  write_model_flags_json(dir.path(), model_flags_json(c, "CrossEntropyLoss"));
  EXPECT_EQ(read_model_flags_json(dir.file("model_flags.json")).at("model"), "NetVLADModelLF");
  testing::write_file(dir.file("bad.json"), "{\"model\": \"NetVLADModelLF\"");
  expect_error([&] { read_model_flags_json(dir.file("bad.json")); },
               {dir.file("bad.json"), "malformed JSON"});
  testing::write_file(dir.file("list.json"), "{\"model\": [1]}");
  expect_error([&] { read_model_flags_json(dir.file("list.json")); },
               {"'model' is not a string, boolean or number"});
}

}  // namespace
}  // namespace y8m::pipeline
