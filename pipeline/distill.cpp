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

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace y8m::pipeline {

DistillResult write_distill_dataset(const DistillOptions& o, std::FILE* log) {
  Y8M_CHECK(o.file_size > 0, "--file_size must be positive, got {}", o.file_size);
  Y8M_CHECK(o.batch_size > 0, "--batch_size must be positive, got {}", o.batch_size);
  Y8M_CHECK(!o.output_dir.empty(), "--output_dir: required");
  const std::unique_ptr<Communicator> single = o.comm ? nullptr : make_single_communicator();
  Communicator& comm = o.comm ? *o.comm : *single;
  const int ranks = comm.size();
  // Rank 0's folder appears only with every rank's files written.
  std::unique_ptr<OutputFolder> out;
  if (comm.is_root()) out = std::make_unique<OutputFolder>(o.output_dir, "--output_dir");
  const std::string temp = comm.broadcast(out ? out->temp() : std::string(), 0);
  // Rank 0 alone reports progress.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> quiet(nullptr, &std::fclose);
  if (!comm.is_root()) {
    quiet.reset(std::fopen("/dev/null", "w"));
    Y8M_CHECK(quiet != nullptr, "/dev/null: cannot open");
    log = quiet.get();
  }
  auto file_name = [&](int64_t i) {
    return ranks == 1 ? fmt::format("{}/predictions-{:05d}.tfrecord", temp, i)
                      : fmt::format("{}/rank{}-{:05d}.part", temp, comm.rank(), i);
  };
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
  ro.num_shards = ranks;
  ro.shard = comm.rank();
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
  for_each_sharded_batch(comm, reader, gen, [&](const io::Batch& batch, engine::Generator& g) {
    const Tensor probs = teacher.predict(batch, g).to(Device::cpu());
    const float* p = probs.data<float>();
    check_finite_scores(p, probs.size(1), batch.ids, "--model_file teacher");
    const uint8_t* frames = batch.frames.data<uint8_t>();
    for (int64_t i = 0; i < batch.size; ++i) {
      if (!writer) writer = std::make_unique<io::RecordWriter>(file_name(res.files));
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
    const int64_t share = shard_examples(total, ro.batch_size, ranks, comm.rank());
    std::fprintf(log, "y8m-distill: %lld/%lld videos%s, %.0f examples/s, ETA %.0f s\n",
                 static_cast<long long>(res.examples), static_cast<long long>(share),
                 ranks > 1 ? " on rank 0" : "", eps,
                 eps > 0 ? std::max<double>(share - res.examples, 0) / eps : 0.0);
    std::fflush(log);
  });
  close_file();
  if (ranks > 1) {
    // Every rank's files are closed once rank 0 has their counts: number them in rank order.
    const std::string mine = fmt::format("{} {}", res.files, res.examples);
    const std::vector<std::string> counts = comm.gather(mine, 0);
    res = DistillResult();
    for (int r = 0; r < static_cast<int>(counts.size()); ++r) {
      long long files = 0, examples = 0;
      Y8M_CHECK(
          std::sscanf(counts[static_cast<size_t>(r)].c_str(), "%lld %lld", &files, &examples) == 2,
          "y8m-distill: malformed count from rank {}", r);
      for (long long i = 0; i < files; ++i) {
        const std::string from = fmt::format("{}/rank{}-{:05d}.part", temp, r, i);
        const std::string to = fmt::format("{}/predictions-{:05d}.tfrecord", temp, res.files++);
        Y8M_CHECK(std::rename(from.c_str(), to.c_str()) == 0, "{}: cannot rename to {}: {}", from,
                  to, std::strerror(errno));
      }
      res.examples += examples;
    }
  }
  if (out) out->commit();
  const io::SkipReport skipped = reader.skipped();
  res.skipped_records = skipped.records;
  res.skipped_bytes = skipped.bytes;
  io::warn_skipped(log, skipped);
  return res;
}

}  // namespace y8m::pipeline
