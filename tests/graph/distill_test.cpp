// Teacher datasets: teacher archive -> distillation records -> the reader gives back the teacher's
// probability vectors bit for bit, the original frames and sorted labels; any file size; refusals.
#include "pipeline/distill.h"
#include "io/reader.h"
#include "io/synth.h"
#include "pipeline/archive.h"
#include "tests/common/test_util.h"
#include "tests/graph/graph_test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>

namespace y8m::pipeline {
namespace {

using namespace graph_testing;

io::ReaderOptions reader_for(const std::string& pattern, bool distill) {
  io::ReaderOptions ro;
  ro.patterns = pattern;
  ro.batch_size = 1000;
  ro.decode.num_classes = 50;
  ro.decode.distill = distill;
  ro.decode.require_labels = false;
  return ro;
}

TEST(Distill, RoundTripGivesTheTeachersVectorsBack) {
  testing::TempDir dir;
  io::SynthOptions so;
  io::apply_synth_preset("tiny", &so);
  so.output_dir = dir.file("data");
  so.threads = 2;
  io::write_synth_dataset(so);
  // A teacher that does not sample frames, so its predictions can be recomputed here exactly.
  models::ModelConfig c;
  c.model = "FrameLevelLogisticModel";
  c.feature_names = {"rgb", "audio"};
  c.feature_sizes = {1024, 128};
  c.frame_features = true;
  c.num_classes = 50;
  export_model(*make_model(c, 3), dir.file("teacher.y8m"));

  DistillOptions o;
  o.model_file = dir.file("teacher.y8m");
  o.input_data_pattern = dir.file("data/frame/validate*.tfrecord");
  o.output_dir = dir.file("distill");
  o.batch_size = 32;
  o.file_size = 30;  // not a multiple of the batch size
  std::FILE* log = std::fopen("/dev/null", "w");
  const DistillResult r = write_distill_dataset(o, log);
  std::fclose(log);
  EXPECT_EQ(r.examples, 100);
  EXPECT_EQ(r.files, 4);
  for (int f = 0; f < 4; ++f)
    EXPECT_TRUE(std::filesystem::exists(dir.file("distill") +
                                        fmt::format("/predictions-{:05d}.tfrecord", f)));

  // What the teacher says about the source videos, batched as y8m-distill batched them (a GEMM's
  // rounding may depend on the batch size), in the same order.
  const ArchiveModel teacher(o.model_file);
  io::ReaderOptions sro = reader_for(o.input_data_pattern, false);
  sro.batch_size = o.batch_size;
  io::Reader src(sro);
  io::Batch part;
  std::vector<io::Batch> parts;
  std::vector<Tensor> preds;
  engine::Generator gen(0);
  while (src.next(&part)) {
    preds.push_back(teacher.predict(part, gen));
    parts.push_back(part);
  }
  io::Reader back(reader_for(dir.file("distill/*.tfrecord"), true));
  io::Batch db;
  ASSERT_TRUE(back.next(&db));
  ASSERT_EQ(db.size, 100);
  for (int64_t i = 0; i < db.size; ++i) {
    const io::Batch& sb = parts[static_cast<size_t>(i / o.batch_size)];
    const Tensor& want = preds[static_cast<size_t>(i / o.batch_size)];
    const int64_t j = i % o.batch_size;
    ASSERT_EQ(db.ids[static_cast<size_t>(i)], sb.ids[static_cast<size_t>(j)]);
    EXPECT_EQ(std::memcmp(db.predictions.data<float>() + i * 50, want.data<float>() + j * 50,
                          50 * sizeof(float)),
              0)
        << db.ids[static_cast<size_t>(i)];
    EXPECT_EQ(db.label_lists[static_cast<size_t>(i)], sb.label_lists[static_cast<size_t>(j)]);
    EXPECT_EQ(db.num_frames.data<int32_t>()[i], sb.num_frames.data<int32_t>()[j]);
    EXPECT_EQ(std::memcmp(db.frames.data<uint8_t>() + i * 300 * 1152,
                          sb.frames.data<uint8_t>() + j * 300 * 1152, 300 * 1152),
              0);
  }
}

TEST(Distill, Refusals) {
  testing::TempDir dir;
  DistillOptions o;
  o.model_file = dir.file("missing.y8m");
  o.input_data_pattern = dir.file("*.tfrecord");
  o.output_dir = dir.path();  // exists
  EXPECT_NE(testing::error_of([&] { write_distill_dataset(o, stderr); }).find("already exists"),
            std::string::npos);
  o.output_dir = dir.file("out");
  o.file_size = 0;
  EXPECT_NE(testing::error_of([&] { write_distill_dataset(o, stderr); }).find("--file_size"),
            std::string::npos);
  o.file_size = 10;
  EXPECT_NE(testing::error_of([&] { write_distill_dataset(o, stderr); }).find("missing.y8m"),
            std::string::npos);
}

}  // namespace
}  // namespace y8m::pipeline
