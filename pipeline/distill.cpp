#include "pipeline/distill.h"

#include "autograd/variable.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "io/reader.h"
#include "io/tfrecord.h"
#include "io/yt8m_record.h"
#include "pipeline/archive.h"
#include "pipeline/metrics.h"
#include "pipeline/model_inputs.h"
#include "pipeline/output_folder.h"

#include <chrono>
#include <memory>

namespace y8m::pipeline {

DistillResult write_distill_dataset(const DistillOptions& o, std::FILE* log) {
  Y8M_CHECK(o.file_size > 0, "--file_size must be positive, got {}", o.file_size);
  Y8M_CHECK(o.batch_size > 0, "--batch_size must be positive, got {}", o.batch_size);
  Y8M_CHECK(!o.output_dir.empty(), "--output_dir: required");
  OutputFolder out(o.output_dir, "--output_dir");  // appears only with every file written
  const ArchiveModel teacher(o.model_file, o.device);
  const models::ModelConfig config = teacher.config();
  Y8M_CHECK(config.frame_features,
            "{}: the teacher reads video-level features; distillation records carry frames",
            o.model_file);
  ReaderFlags rf;
  rf.patterns = o.input_data_pattern;
  rf.pattern_flag = "--input_data_pattern";
  rf.batch_size = o.batch_size;
  rf.num_readers = o.num_readers;
  rf.corrupt_records = o.corrupt_records;
  rf.require_labels = false;
  io::ReaderOptions ro = reader_options(config, rf);
  ro.pinned = false;
  io::Reader reader(ro);
  const int64_t total = io::count_records(reader.files());  // for the ETA
  const io::FeatureSpec& fs = ro.decode.features;
  const int F = fs.total(), T = ro.decode.max_frames;
  engine::Generator gen(o.seed ^ 0x64697374ull);
  autograd::NoGradGuard ng;
  DistillResult res;
  std::unique_ptr<io::RecordWriter> writer;
  auto close_file = [&] {
    if (!writer) return;
    writer->close();
    writer.reset();
    ++res.files;
  };
  const auto t0 = std::chrono::steady_clock::now();
  io::Batch batch;
  while (reader.next(&batch)) {
    const Tensor probs = teacher.predict(batch, gen).to(Device::cpu());
    const float* p = probs.data<float>();
    check_finite_scores(p, probs.size(1), batch.ids, "--model_file teacher");
    const uint8_t* frames = batch.frames.data<uint8_t>();
    for (int64_t i = 0; i < batch.size; ++i) {
      if (!writer)
        writer = std::make_unique<io::RecordWriter>(
            fmt::format("{}/predictions-{:05d}.tfrecord", out.temp(), res.files));
      const int n = batch.num_frames.data<int32_t>()[i];
      std::vector<std::vector<std::string_view>> streams(fs.names.size());
      for (int t = 0; t < n; ++t) {
        const char* row =
            reinterpret_cast<const char*>(frames + (i * T + t) * static_cast<int64_t>(F));
        int off = 0;
        for (size_t k = 0; k < fs.names.size(); ++k) {
          streams[k].emplace_back(row + off, static_cast<size_t>(fs.sizes[k]));
          off += fs.sizes[k];
        }
      }
      const std::vector<float> predictions(p + i * config.num_classes,
                                           p + (i + 1) * config.num_classes);
      writer->write(io::encode_frame_record(batch.ids[static_cast<size_t>(i)],
                                            batch.label_lists[static_cast<size_t>(i)], streams, fs,
                                            "video_id", &predictions));
      ++res.examples;
      if (writer->records_written() == o.file_size) close_file();
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double eps = secs > 0 ? res.examples / secs : 0;
    std::fprintf(log, "y8m-distill: %lld/%lld videos, %.0f examples/s, ETA %.0f s\n",
                 static_cast<long long>(res.examples), static_cast<long long>(total), eps,
                 eps > 0 ? (total - res.examples) / eps : 0.0);
    std::fflush(log);
  }
  close_file();
  out.commit();
  const io::SkipReport skipped = reader.skipped();
  res.skipped_records = skipped.records;
  res.skipped_bytes = skipped.bytes;
  io::warn_skipped(log, skipped);
  return res;
}

}  // namespace y8m::pipeline
