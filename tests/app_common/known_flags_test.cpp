// The table of known flags and the model-path helpers shared by the apps (apps/common).
#include "apps/common/known_flags.h"
#include "apps/common/model_path.h"
#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace y8m::apps {
namespace {

TEST(KnownFlags, ForeignFlagsAreNamedByTheirProgram) {
  // The original README's foreign flags.
  EXPECT_EQ(foreign_flag_kind("y8m-eval", "base_learning_rate"), "a training flag");
  EXPECT_EQ(foreign_flag_kind("y8m-eval", "learning_rate_decay"), "a training flag");
  EXPECT_EQ(foreign_flag_kind("y8m-eval", "num_epochs"), "a training flag");
  EXPECT_EQ(foreign_flag_kind("y8m-quantize", "lstm_cells"), "a model flag");
  EXPECT_EQ(foreign_flag_kind("y8m-train", "run_once"), "an evaluation flag");
  EXPECT_EQ(foreign_flag_kind("y8m-train", "input_model_tgz"), "an inference flag");
  EXPECT_EQ(foreign_flag_kind("y8m-quantize", "weights"), "an ensemble flag");
  // Unknown to every program.
  EXPECT_EQ(foreign_flag_kind("y8m-eval", "base_learnin_rate"), "");
  EXPECT_EQ(foreign_flag_kind("y8m-eval", "help"), "");
}

TEST(KnownFlags, RowsOfAppsAndOriginalScripts) {
  EXPECT_TRUE(known_flags_of("eval.py").count("use_EMA"));
  EXPECT_TRUE(known_flags_of("train.py").count("loss_lambda"));
  EXPECT_TRUE(known_flags_of("y8m-eval").count("model_file"));
  EXPECT_TRUE(known_flags_of("quantize.py").count("savefile"));
  EXPECT_TRUE(known_flags_of("nonexistent.py").empty());
  EXPECT_TRUE(all_known_flags().count("prediction_feature_names"));
  EXPECT_TRUE(known_bool_flag("run_once"));
  EXPECT_TRUE(known_bool_flag("frame_features"));
  EXPECT_FALSE(known_bool_flag("num_epochs"));
}

TEST(ModelPath, ResolvesTheOriginalsPrefix) {
  testing::TempDir dir;
  const std::string base = dir.path() + "/inference_model";
  EXPECT_EQ(resolve_model_path(base), base);  // nothing there: unchanged, for the caller's error
  std::ofstream(base + ".y8m") << "x";
  EXPECT_EQ(resolve_model_path(base), base + ".y8m");
  EXPECT_EQ(resolve_model_path(base + ".meta"), base + ".y8m");
  EXPECT_EQ(resolve_model_path(base + ".y8m"), base + ".y8m");
  std::ofstream(base) << "x";  // an existing file is taken as it is
  EXPECT_EQ(resolve_model_path(base), base);
  EXPECT_EQ(resolve_model_path(""), "");
}

TEST(ModelPath, OutputPathGetsTheExtension) {
  EXPECT_EQ(output_model_path("quant/inference_model"), "quant/inference_model.y8m");
  EXPECT_EQ(output_model_path("quant/inference_model.y8m"), "quant/inference_model.y8m");
  EXPECT_EQ(output_model_path("q/model.bin"), "q/model.bin");
  EXPECT_EQ(output_model_path("inference_model"), "inference_model.y8m");
}

}  // namespace
}  // namespace y8m::apps
