// Reader pipeline throughput (issue target: >= 20,000 examples/s with 2 threads on a 2-core
// machine): examples/s of io::Reader producing uint8 batches of 300-frame examples read from the
// page cache. The dataset (2,000 videos x 300 frames, ~700 MB) is generated once under
// $TMPDIR/y8m-bench-io and reused. BM_ReaderCold reads it once after evicting it from the page
// cache (posix_fadvise DONTNEED, no root needed): disk throughput and time to the first batch.
#include "bench/bench_util.h"
#include "io/reader.h"
#include "io/synth.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
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

// One evaluation pass over the dataset, evicted from the page cache before each iteration (where
// the kernel honours the advice; a file system that ignores it measures the warm case).
void BM_ReaderCold(benchmark::State& state) {
  y8m::io::ReaderOptions o;
  o.patterns = dataset() + "/frame/train*.tfrecord";
  o.batch_size = 160;
  o.num_readers = static_cast<int>(state.range(0));
  int64_t examples = 0;
  double first_batch_s = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (const std::string& f : y8m::io::expand_patterns(o.patterns)) {
      const int fd = ::open(f.c_str(), O_RDONLY);
      if (fd < 0) continue;
      ::fdatasync(fd);
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      ::close(fd);
    }
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    y8m::io::Reader r(o);
    y8m::io::Batch b;
    bool first = true;
    while (r.next(&b)) {
      if (first) {
        first_batch_s +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        first = false;
      }
      examples += b.size;
    }
  }
  state.counters["examples/s"] =
      benchmark::Counter(static_cast<double>(examples), benchmark::Counter::kIsRate);
  state.counters["first_batch_ms"] =
      1e3 * first_batch_s / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}
BENCHMARK(BM_ReaderCold)
    ->ArgNames({"readers"})
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace
