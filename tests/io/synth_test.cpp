// y8m-synth: counts, label statistics against the generative model, determinism, test split without
// labels, and refusal to overwrite.
#include "io/synth.h"
#include "io/reader.h"
#include "tests/common/test_util.h"

#include "engine/error.h"

#include <gtest/gtest.h>

#include <functional>

#include <cmath>
#include <filesystem>

namespace y8m::io {
namespace {

SynthOptions tiny(const std::string& dir, uint64_t seed = 3) {
  SynthOptions o;
  apply_synth_preset("tiny", &o);
  o.output_dir = dir;
  o.seed = seed;
  o.threads = 2;
  o.video_level = true;
  return o;
}

TEST(Synth, CountsAndLabelStatistics) {
  testing::TempDir d;
  SynthOptions o = tiny(d.file("ds"));
  o.train_videos = 2000;
  o.mean_labels = 3.0;
  const SynthSummary s = write_synth_dataset(o);
  EXPECT_EQ(s.videos, 2150);
  EXPECT_EQ(s.files, 12);  // 2 shards x 3 splits x (frame + video)
  ReaderOptions ro;
  ro.patterns = d.file("ds/frame/train*.tfrecord");
  ro.batch_size = 500;
  ro.decode.num_classes = 50;
  Reader r(ro);
  Batch b;
  int64_t videos = 0, labels = 0, frames = 0, class0 = 0, class40 = 0;
  while (r.next(&b)) {
    for (int64_t i = 0; i < b.size; ++i) {
      labels += static_cast<int64_t>(b.label_lists[static_cast<size_t>(i)].size());
      frames += b.num_frames.data<int32_t>()[i];
      for (int64_t l : b.label_lists[static_cast<size_t>(i)]) {
        class0 += l == 0;
        class40 += l == 40;
      }
    }
    videos += b.size;
  }
  EXPECT_EQ(videos, 2000);
  // 1 + Poisson(2) capped at 8: mean ~3 labels per video.
  EXPECT_NEAR(static_cast<double>(labels) / videos, 3.0, 0.15);
  // Frames uniform in [5, 20]: mean 12.5.
  EXPECT_NEAR(static_cast<double>(frames) / videos, 12.5, 0.5);
  // Long tail: class 0 is much more frequent than class 40, as the model says.
  EXPECT_GT(class0, 2 * class40);
  EXPECT_GT(synth_class_probability(o, 0), 2 * synth_class_probability(o, 40));
}

TEST(Synth, DeterministicForASeed) {
  testing::TempDir d;
  write_synth_dataset(tiny(d.file("a"), 11));
  write_synth_dataset(tiny(d.file("b"), 11));
  write_synth_dataset(tiny(d.file("c"), 12));
  const std::string f = "/frame/train0001.tfrecord";
  EXPECT_EQ(testing::read_file(d.file("a") + f), testing::read_file(d.file("b") + f));
  EXPECT_NE(testing::read_file(d.file("a") + f), testing::read_file(d.file("c") + f));
  EXPECT_EQ(testing::read_file(d.file("a") + "/video/test0000.tfrecord"),
            testing::read_file(d.file("b") + "/video/test0000.tfrecord"));
}

TEST(Synth, TestSplitHasNoLabelsAndVideoLevelReads) {
  testing::TempDir d;
  write_synth_dataset(tiny(d.file("ds")));
  ReaderOptions ro;
  ro.patterns = d.file("ds/video/test*.tfrecord");
  ro.batch_size = 1000;
  ro.video_level = true;
  ro.decode.features = FeatureSpec::video_default();
  ro.decode.num_classes = 50;
  Reader r(ro);
  Batch b;
  ASSERT_TRUE(r.next(&b));
  EXPECT_EQ(b.size, 50);
  EXPECT_EQ(b.frames.shape(), (Shape{50, 1152}));
  for (const auto& l : b.label_lists) EXPECT_TRUE(l.empty());
  // Means of dequantized frames lie inside the quantizer's range.
  for (float v : b.frames.to_vector<float>()) ASSERT_TRUE(v >= -2.0f && v <= 2.01f) << v;
}

TEST(Synth, RefusesExistingFolderAndUnknownPreset) {
  testing::TempDir d;
  SynthOptions o = tiny(d.path());
  EXPECT_THROW(write_synth_dataset(o), Error);
  EXPECT_THROW(apply_synth_preset("huge", &o), Error);
}

}  // namespace
}  // namespace y8m::io
