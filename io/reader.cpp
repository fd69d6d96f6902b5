#include "io/reader.h"

#include "engine/device.h"
#include "engine/philox.h"
#include "io/crc32c.h"

#include <glob.h>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

namespace y8m::io {

std::vector<std::string> expand_patterns(const std::string& patterns, const char* flag_name) {
  std::vector<std::string> files;
  std::stringstream ss(patterns);
  std::string pat;
  while (std::getline(ss, pat, ',')) {
    if (pat.empty()) continue;
    glob_t g;
    std::memset(&g, 0, sizeof(g));
    const int rc = ::glob(pat.c_str(), 0, nullptr, &g);
    std::vector<std::string> found;
    if (rc == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) found.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    Y8M_CHECK(!found.empty(), "{}: no file matches '{}'", flag_name, pat);
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  Y8M_CHECK(!files.empty(), "{}: no pattern given", flag_name);
  return files;
}

namespace {

// A record with the mapping it points into, decoded by the reader thread or, under the fail policy,
// at assembly time (see read_loop).
struct Example {
  std::shared_ptr<RecordReader> file;
  FrameRecord frame;
  VideoRecord video;
  std::string_view record;  // the whole record
  uint32_t expected_crc = 0;
  bool deferred = false;  // decode (and the CRC check, with check_crc) left to the assembly threads
  bool check_crc = false;
  int64_t index = 0;    // record index in the file, for messages
  uint64_t offset = 0;  // byte offset in the file

  std::string where() const {
    return fmt::format("{}: record {} at byte offset {}", file->path(), index, offset);
  }
};

// The deferred half of reading a frame-level record, done by the thread that copies it into the
// batch: the CRC pass streams the record into this core's cache, so the decoder's walk over 600
// frame headers and the frame copy that follow read cache instead of memory.
void finish_deferred(Example& ex, const DecodeOptions& d) {
  if (!ex.deferred) return;
  if (ex.check_crc)
    Y8M_CHECK(crc32c(ex.record.data(), ex.record.size()) == ex.expected_crc,
              "{}: data CRC mismatch (corrupt record)", ex.where());
  try {
    decode_frame_record(ex.record, d, &ex.frame);
  } catch (const MissingFeatureError& e) {
    throw e.located(ex.where());
  } catch (const Error& e) {
    Y8M_FAIL("{}: {}", ex.where(), e.what());
  }
  ex.deferred = false;
}

// Copies n bytes to dst with non-temporal stores where dst and n allow (x86-64: every frame of the
// default 1024 + 128 layout): the 55 MB batch is not read back by this core, and streaming stores
// skip the read-for-ownership of each destination line, doubling the copy rate (31.8 -> 15.5 us
// per 300-frame example on a Zen 4 core). Callers end with stream_fence() before publishing.
inline void stream_copy(uint8_t* dst, const char* src, size_t n) {
#if defined(__x86_64__)
  if ((reinterpret_cast<uintptr_t>(dst) | n) % 16 == 0) {
    for (size_t i = 0; i < n; i += 16)
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i),
                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    return;
  }
#endif
  std::memcpy(dst, src, n);
}
inline void stream_fence() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

// Copies the frames of `fr` into the batch row `dst` ([T, F] bytes), row by row so the batch is
// written in order.
void copy_frames(const FrameRecord& fr, const FeatureSpec& fs, uint8_t* dst) {
  const int F = fs.total();
  const size_t nf = fr.frames.size();
  for (int t = 0; t < fr.num_frames; ++t, dst += F)
    for (size_t k = 0, offset = 0; k < nf; offset += static_cast<size_t>(fs.sizes[k]), ++k) {
      const std::string_view v = fr.frames[k][static_cast<size_t>(t)];
      stream_copy(dst + offset, v.data(), v.size());
    }
}
using ExamplePtr = std::unique_ptr<Example>;

// Bounded single-producer, single-consumer queue of one reader thread. A full queue puts the reader
// to sleep until it has drained to half, and each side wakes the other only when it sleeps: waking
// the reader for every example taken cost thousands of context switches per second, each one
// preempting the batch assembly on a 2-core machine.
struct ReaderQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<ExamplePtr> items;
  bool done = false;
  size_t capacity = 64;
  bool producer_waiting = false, consumer_waiting = false;

  // false when stopped.
  bool push(ExamplePtr ex, const std::atomic<bool>& stop) {
    std::unique_lock<std::mutex> l(mu);
    if (items.size() >= capacity) {
      producer_waiting = true;
      cv.wait(l, [&] { return stop || items.size() <= capacity / 2; });
      producer_waiting = false;
    }
    if (stop) return false;
    items.push_back(std::move(ex));
    if (consumer_waiting) cv.notify_all();
    return true;
  }
  // The next example; null when the reader is done and the queue drained, or when stopped.
  ExamplePtr pop(const std::atomic<bool>& stop) {
    std::unique_lock<std::mutex> l(mu);
    if (items.empty() && !done) {
      consumer_waiting = true;
      cv.wait(l, [&] { return stop || done || !items.empty(); });
      consumer_waiting = false;
    }
    if (stop || items.empty()) return nullptr;
    ExamplePtr ex = std::move(items.front());
    items.pop_front();
    if (producer_waiting && items.size() <= capacity / 2) cv.notify_all();
    return ex;
  }
  void finish() {
    std::lock_guard<std::mutex> l(mu);
    done = true;
    cv.notify_all();
  }
  void wake() {
    std::lock_guard<std::mutex> l(mu);
    cv.notify_all();
  }
};

// Seeds of the independent random streams (files per epoch, shuffle buffer).
constexpr uint64_t kFileStream = 0x66696c65ull, kShuffleStream = 0x73687566ull;

}  // namespace

struct Reader::Impl {
  const ReaderOptions& opts;
  const std::vector<std::string>& files;
  std::vector<std::unique_ptr<ReaderQueue>> queues;
  std::vector<std::thread> threads;
  std::thread batcher;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> skipped{0};
  std::mutex skip_mu;
  uint64_t skipped_bytes = 0;
  std::string last_skip;
  std::mutex err_mu;
  std::exception_ptr error;

  // Finished batches, handed to the consumer.
  std::mutex out_mu;
  std::condition_variable out_cv;
  std::deque<Batch> out;
  bool out_done = false;
  std::atomic<int64_t> to_skip{0};
  bool started = false;
  std::chrono::steady_clock::time_point t0;

  Impl(const ReaderOptions& o, const std::vector<std::string>& f) : opts(o), files(f) {}

  // Files this reader opens in the run: all of them per epoch, or a training shard's share.
  int64_t files_per_epoch() const {
    const int64_t n = static_cast<int64_t>(files.size());
    if (!opts.training || opts.num_shards <= 1) return n;
    return (n - opts.shard + opts.num_shards - 1) / opts.num_shards;
  }
  int64_t total_files() const {
    const int64_t epochs = opts.training ? opts.num_epochs : 1;
    return epochs <= 0 ? INT64_MAX : epochs * files_per_epoch();
  }
  // The run's global file position of this reader's l-th file (a training shard takes positions
  // shard, shard + num_shards, ... of every epoch).
  int64_t global_file(int64_t l) const {
    if (!opts.training || opts.num_shards <= 1) return l;
    const int64_t per = files_per_epoch(), epoch = l / per;
    return epoch * static_cast<int64_t>(files.size()) + opts.shard + (l % per) * opts.num_shards;
  }

  // The file at global position g of the run: epoch g / F, shuffled per epoch in training.
  const std::string& file_at(int64_t g) const {
    const int64_t n = static_cast<int64_t>(files.size());
    const int64_t epoch = g / n, pos = g % n;
    if (!opts.training) return files[static_cast<size_t>(pos)];
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
    for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates with Philox(seed, epoch * n + i)
      const auto b =
          engine::philox::block(opts.seed ^ kFileStream, static_cast<uint64_t>(epoch * n + i));
      const int64_t j = static_cast<int64_t>(b.v[0] % static_cast<uint64_t>(i + 1));
      std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
    }
    return files[static_cast<size_t>(order[static_cast<size_t>(pos)])];
  }

  void fail(std::exception_ptr e) {
    {
      std::lock_guard<std::mutex> l(err_mu);
      if (!error) error = e;
    }
    stop = true;
    for (auto& q : queues) q->wake();
    out_cv.notify_all();
  }

  // Counts `records` lost records of `bytes` bytes against the skip budget.
  void count_skip(const std::string& problem, int64_t records, uint64_t bytes) {
    {
      std::lock_guard<std::mutex> l(skip_mu);
      skipped_bytes += bytes;
      last_skip = problem;
    }
    const int64_t n = skipped += records;
    Y8M_CHECK(n <= opts.skip_budget, "too many corrupt records: {} skipped, budget {} (last: {})",
              n, opts.skip_budget, problem);
  }

  void read_loop(int r) {
    ReaderQueue& q = *queues[static_cast<size_t>(r)];
    try {
      const int R = static_cast<int>(queues.size());
      for (int64_t g = r; g < total_files() && !stop; g += R) {
        // Under the fail policy a frame-level record's data CRC check and decode wait for the
        // assembly threads (see finish_deferred): this thread only frames records. Skipping needs
        // the verdict here, before the example is queued.
        RecordReaderOptions rro = opts.records;
        const bool defer = rro.on_corrupt == CorruptPolicy::fail && !opts.video_level;
        rro.defer_data_crc = defer && rro.verify_crc;
        auto file = std::make_shared<RecordReader>(file_at(global_file(g)), rro);
        std::string_view rec;
        while (!stop && file->next(&rec)) {
          auto ex = std::make_unique<Example>();
          ex->file = file;
          ex->record = rec;
          ex->expected_crc = file->expected_data_crc();
          ex->deferred = defer;
          ex->check_crc = rro.defer_data_crc;
          ex->index = file->records_read() - 1;
          ex->offset = file->record_offset();
          if (!defer) {
            try {
              if (opts.video_level) {
                decode_video_record(rec, opts.decode, &ex->video);
              } else {
                decode_frame_record(rec, opts.decode, &ex->frame);
              }
            } catch (const Error& e) {
              const std::string msg = fmt::format("{}: {}", ex->where(), e.what());
              if (opts.records.on_corrupt != CorruptPolicy::skip) {
                // A missing feature keeps its type (the trainer tells non-distillation data by it).
                if (const auto* m = dynamic_cast<const MissingFeatureError*>(&e))
                  throw m->located(ex->where());
                Y8M_FAIL("{}", msg);
              }
              count_skip(msg, 1, rec.size() + 16);  // with its framing
              continue;
            }
          }
          if (!q.push(std::move(ex), stop)) break;
        }
        if (file->lost_records() > 0)
          count_skip(file->last_problem(), file->lost_records(), file->lost_bytes());
      }
    } catch (...) {
      fail(std::current_exception());
    }
    q.finish();
  }

  // Round-robin merge over the readers still running: a fixed interleave.
  std::vector<int> active;
  size_t turn = 0;
  ExamplePtr merged_next() {
    while (!active.empty() && !stop) {
      turn %= active.size();
      ExamplePtr ex = queues[static_cast<size_t>(active[turn])]->pop(stop);
      if (stop) return nullptr;
      if (!ex) {  // done and drained
        active.erase(active.begin() + static_cast<long>(turn));
        continue;
      }
      ++turn;
      return ex;
    }
    return nullptr;
  }

  // Training: a shuffle buffer sampled with Philox; evaluation: pass-through.
  std::vector<ExamplePtr> buffer;
  uint64_t draws = 0;
  ExamplePtr next_example() {
    if (!opts.training) return merged_next();
    const size_t cap = static_cast<size_t>(opts.shuffle_capacity > 0 ? opts.shuffle_capacity
                                                                     : 5 * opts.batch_size);
    while (buffer.size() < cap) {
      ExamplePtr ex = merged_next();
      if (!ex) break;
      buffer.push_back(std::move(ex));
    }
    if (buffer.empty()) return nullptr;
    const auto b = engine::philox::block(opts.seed ^ kShuffleStream, draws++);
    const size_t j = static_cast<size_t>(b.v[0] % buffer.size());
    ExamplePtr ex = std::move(buffer[j]);
    buffer[j] = std::move(buffer.back());
    buffer.pop_back();
    return ex;
  }

  // Batch tensors are recycled once the consumer has dropped every reference to them: a fresh
  // 55 MB frame buffer (or 2.5 MB of labels) per batch would cost page faults and kernel zeroing on
  // every batch (and a pinned one a cudaHostAlloc). A pinned buffer is reused only once the
  // asynchronous upload that reads it has completed (Tensor::host_read_pending); when all are
  // still being read and the pool is full, one of them is waited for.
  std::vector<Tensor> pool;
  Tensor pooled(const Shape& shape, DType dtype, bool pin) {
    Tensor* in_flight = nullptr;
    for (Tensor& t : pool)
      if (t.storage_use_count() == 1 && t.use_count() == 1 && t.shape() == shape &&
          t.dtype() == dtype && t.is_pinned() == pin) {
        if (!t.host_read_pending()) return t.reshape(shape);
        if (in_flight == nullptr) in_flight = &t;
      }
    if (in_flight != nullptr && pool.size() >= kPoolSize) {
      in_flight->wait_host_reads();
      return in_flight->reshape(shape);
    }
    Tensor t = Tensor::empty(shape, dtype, Device::cpu(), pin);
    if (pool.size() < kPoolSize) pool.push_back(t);
    return t.reshape(shape);
  }
  static constexpr size_t kPoolSize = 32;  // 8 batches of frames, num_frames, labels, predictions

  // Runs fn(i) for i in [0, n) on up to `assembly_threads` threads (this one included) that take
  // the next index from a shared counter, so a thread slowed by the reader threads sharing its
  // core does not hold the batch back. If several fail, the error of the lowest index is thrown,
  // as a sequential loop would.
  int assembly_threads = 1;
  void run_parallel(int64_t n, const std::function<void(int64_t)>& fn) {
    const int parts =
        static_cast<int>(std::min<int64_t>(assembly_threads, std::max<int64_t>(1, n / 8)));
    std::atomic<int64_t> next{0};
    std::mutex err_mu;
    int64_t err_index = INT64_MAX;
    std::exception_ptr err;
    auto work = [&] {
      for (int64_t i; (i = next.fetch_add(1)) < n;) {
        try {
          fn(i);
        } catch (...) {
          std::lock_guard<std::mutex> l(err_mu);
          if (i < err_index) {
            err_index = i;
            err = std::current_exception();
          }
          next = n;  // stop handing out work
        }
      }
    };
    std::vector<std::thread> helpers;
    for (int p = 1; p < parts; ++p) helpers.emplace_back(work);
    work();
    for (auto& t : helpers) t.join();
    if (err) std::rethrow_exception(err);
  }

  Batch assemble(std::vector<ExamplePtr>& exs) {
    const DecodeOptions& d = opts.decode;
    const int64_t B = static_cast<int64_t>(exs.size()), V = d.num_classes;
    const int T = d.max_frames, F = d.features.total();
    const bool pin = opts.pinned && engine::cuda_device_count() > 0;
    Batch b;
    b.size = B;
    b.frames =
        opts.video_level ? pooled({B, F}, DType::f32, pin) : pooled({B, T, F}, DType::u8, pin);
    b.num_frames = pooled({B}, DType::i32, pin);
    b.labels = pooled({B, V}, DType::f32, false);
    std::memset(b.labels.data_ptr(), 0, b.labels.nbytes());
    if (d.distill) b.predictions = pooled({B, V}, DType::f32, false);
    b.ids.resize(static_cast<size_t>(B));
    b.label_lists.resize(static_cast<size_t>(B));
    // Examples are independent: assemble them on several threads (the copy is the pipeline's main
    // cost). Plain threads, not OpenMP: idle OpenMP workers spin and would take the cores the
    // reader threads need.
    run_parallel(B, [&](int64_t i) {
      fill_row(&b, exs[static_cast<size_t>(i)].get(), i);
      // Released here, in parallel: dropping the last example of a file unmaps it (~5 us per
      // example of page-table teardown), which would otherwise stall the batcher thread.
      exs[static_cast<size_t>(i)].reset();
    });
    return b;
  }

  // Row i of the batch from one example.
  void fill_row(Batch* b, Example* ex, int64_t i) {
    const DecodeOptions& d = opts.decode;
    const int64_t V = d.num_classes;
    const int T = d.max_frames, F = d.features.total();
    finish_deferred(*ex, d);  // only frame-level examples are deferred
    const std::vector<int64_t>& labels = opts.video_level ? ex->video.labels : ex->frame.labels;
    b->ids[static_cast<size_t>(i)] = std::string(opts.video_level ? ex->video.id : ex->frame.id);
    auto& ll = b->label_lists[static_cast<size_t>(i)];
    ll = labels;
    std::sort(ll.begin(), ll.end());
    ll.erase(std::unique(ll.begin(), ll.end()), ll.end());
    float* lab = b->labels.data<float>() + i * V;
    for (int64_t l : ll) lab[l] = 1.f;
    if (opts.video_level) {
      std::memcpy(b->frames.data<float>() + i * F, ex->video.features.data(),
                  static_cast<size_t>(F) * 4);
      b->num_frames.data<int32_t>()[i] = 1;
      return;
    }
    const FrameRecord& fr = ex->frame;
    b->num_frames.data<int32_t>()[i] = fr.num_frames;
    uint8_t* dst = b->frames.data<uint8_t>() + i * static_cast<int64_t>(T) * F;
    copy_frames(fr, d.features, dst);
    stream_fence();  // the streamed frames are visible before the batch is handed over
    std::memset(dst + static_cast<int64_t>(fr.num_frames) * F, 0,
                static_cast<size_t>(T - fr.num_frames) * static_cast<size_t>(F));
    if (d.distill)
      std::memcpy(b->predictions.data<float>() + i * V, fr.predictions.data(),
                  static_cast<size_t>(V) * 4);
  }

  void batch_loop() {
    try {
      for (size_t r = 0; r < queues.size(); ++r) active.push_back(static_cast<int>(r));
      for (int64_t n = to_skip.load(); n > 0; --n)
        if (!next_example()) break;
      const bool batch_shards = !opts.training && opts.num_shards > 1;
      for (int64_t k = 0;; ++k) {
        std::vector<ExamplePtr> exs;
        while (static_cast<int>(exs.size()) < opts.batch_size) {
          ExamplePtr ex = next_example();
          if (!ex) break;
          exs.push_back(std::move(ex));
        }
        if (exs.empty() || stop) break;
        if (batch_shards && k % opts.num_shards != opts.shard) continue;  // another shard's
        Batch b = assemble(exs);
        b.index = k;
        std::unique_lock<std::mutex> l(out_mu);
        out_cv.wait(l, [&] { return stop || out.size() < 2; });
        if (stop) break;
        out.push_back(std::move(b));
        out_cv.notify_all();
      }
    } catch (...) {
      fail(std::current_exception());
    }
    std::lock_guard<std::mutex> l(out_mu);
    out_done = true;
    out_cv.notify_all();
  }

  void start() {
    started = true;
    t0 = std::chrono::steady_clock::now();
    const int R = std::max(1, opts.num_readers);
    for (int r = 0; r < R; ++r) {
      queues.push_back(std::make_unique<ReaderQueue>());
      queues.back()->capacity = static_cast<size_t>(std::max(16, 2 * opts.batch_size / R));
    }
    assembly_threads =
        opts.assembly_threads > 0
            ? opts.assembly_threads
            : static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
    for (int r = 0; r < R; ++r) threads.emplace_back([this, r] { read_loop(r); });
    batcher = std::thread([this] { batch_loop(); });
  }

  ~Impl() {
    stop = true;
    for (auto& q : queues) q->wake();
    {
      std::lock_guard<std::mutex> l(out_mu);
      out_cv.notify_all();
    }
    if (batcher.joinable()) batcher.join();
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
};

Reader::Reader(ReaderOptions opts) : opts_(std::move(opts)) {
  Y8M_CHECK(opts_.batch_size > 0, "reader: batch_size must be positive, got {}", opts_.batch_size);
  Y8M_CHECK(opts_.num_readers > 0, "reader: num_readers must be positive, got {}",
            opts_.num_readers);
  Y8M_CHECK(opts_.decode.max_frames > 0 && opts_.decode.num_classes > 0,
            "reader: bad max_frames {} or num_classes {}", opts_.decode.max_frames,
            opts_.decode.num_classes);
  Y8M_CHECK(opts_.num_shards > 0 && opts_.shard >= 0 && opts_.shard < opts_.num_shards,
            "reader: shard {} of {}", opts_.shard, opts_.num_shards);
  files_ = expand_patterns(opts_.patterns, opts_.pattern_flag.c_str());
  Y8M_CHECK(!opts_.training || files_.size() >= static_cast<size_t>(opts_.num_shards),
            "{}: {} file(s) for {} ranks; each rank reads whole files, so give at least as many "
            "files as ranks",
            opts_.pattern_flag, files_.size(), opts_.num_shards);
  impl_ = std::make_unique<Impl>(opts_, files_);
}

Reader::~Reader() = default;

void Reader::skip_examples(int64_t n) {
  Y8M_CHECK(!impl_->started, "reader: skip_examples must come before the first batch");
  impl_->to_skip = n;
  delivered_ = n;
}

bool Reader::next(Batch* batch) {
  if (!impl_->started) impl_->start();
  std::unique_lock<std::mutex> l(impl_->out_mu);
  impl_->out_cv.wait(l, [&] { return impl_->out_done || !impl_->out.empty() || impl_->error; });
  {
    std::lock_guard<std::mutex> el(impl_->err_mu);
    if (impl_->error) std::rethrow_exception(impl_->error);
  }
  if (impl_->out.empty()) return false;
  *batch = std::move(impl_->out.front());
  impl_->out.pop_front();
  impl_->out_cv.notify_all();
  delivered_ += batch->size;
  return true;
}

int64_t Reader::skipped_records() const { return impl_->skipped.load(); }

SkipReport Reader::skipped() const {
  std::lock_guard<std::mutex> l(impl_->skip_mu);
  return {impl_->skipped.load(), impl_->skipped_bytes, impl_->last_skip};
}

std::string skip_figure(const SkipReport& s) {
  return fmt::format("{} records ({} bytes)", s.records, s.bytes);
}

void warn_skipped(std::FILE* log, const SkipReport& s) {
  if (s.records > 0)
    std::fprintf(log, "warning: skipped %s of corrupt data (last: %s)\n", skip_figure(s).c_str(),
                 s.last_problem.c_str());
}

double Reader::examples_per_second() const {
  if (!impl_->started) return 0;
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - impl_->t0).count();
  return s > 0 ? static_cast<double>(delivered_) / s : 0;
}

}  // namespace y8m::io
