// Reader pipeline throughput (issue target: >= 20,000 examples/s with 2 threads on a 2-core
// machine): examples/s of io::Reader producing uint8 batches of 300-frame examples read from the
// page cache. The dataset (2,000 videos x 300 frames, ~700 MB) is generated once under
// $TMPDIR/y8m-bench-io and reused.
#include "bench/bench_util.h"
#include "io/reader.h"
#include "io/synth.h"

#include <filesystem>

namespace {

const std::string& dataset() {
  static const std::string dir = [] {
    const std::string d = (std::filesystem::temp_directory_path() / "y8m-bench-io-300").string();
    if (!std::filesystem::exists(d)) {
      y8m::io::SynthOptions o;
      o.output_dir = d;
      o.train_videos = 2000;
      o.validate_videos = 0;
      o.test_videos = 0;
      o.shards = 8;
      o.min_frames = o.max_frames = 300;
      y8m::io::write_synth_dataset(o);
    }
    return d;
  }();
  return dir;
}

// args: reader threads, assembly threads (0 = one per core), training (shuffle) 0/1, CRC check 0/1.
// "1 thread" is readers:1/assembly:1; "all cores" is readers:2/assembly:0 on the 2-core target.
void BM_ReaderPipeline(benchmark::State& state) {
  y8m::io::ReaderOptions o;
  o.patterns = dataset() + "/frame/train*.tfrecord";
  o.batch_size = 160;
  o.num_readers = static_cast<int>(state.range(0));
  o.assembly_threads = static_cast<int>(state.range(1));
  o.training = true;  // endless epochs; shuffle off = a 1-example buffer (pass-through)
  o.shuffle_capacity = state.range(2) != 0 ? 0 : 1;
  o.num_epochs = 1000000;
  o.records.verify_crc = state.range(3) != 0;
  // Warm the page cache once per process.
  static bool warm = false;
  if (!warm) {
    warm = true;
    y8m::io::ReaderOptions w = o;
    w.training = false;
    y8m::io::Reader r(w);
    y8m::io::Batch b;
    while (r.next(&b)) {
    }
  }
  y8m::io::Reader r(o);
  y8m::io::Batch b;
  int64_t examples = 0;
  for (auto _ : state) {
    if (!r.next(&b)) break;
    examples += b.size;
    benchmark::DoNotOptimize(b.frames.data_ptr());
  }
  state.counters["examples/s"] =
      benchmark::Counter(static_cast<double>(examples), benchmark::Counter::kIsRate);
  y8m::bench::report_bandwidth(
      state, static_cast<double>(examples) / static_cast<double>(state.iterations()) * 300 * 1152,
      y8m::bench::cpu_copy_gbps());
}
BENCHMARK(BM_ReaderPipeline)
    ->ArgNames({"readers", "assembly", "shuffle", "crc"})
    ->Args({1, 1, 0, 1})
    ->Args({1, 1, 1, 1})
    ->Args({2, 0, 0, 1})
    ->Args({2, 0, 1, 1})
    ->Args({2, 0, 1, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

}  // namespace
