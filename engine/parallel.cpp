#include "engine/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace y8m::engine {

namespace {

// True on a pool worker and on a caller while it runs chunks: nested parallel_for runs inline.
thread_local bool tl_in_parallel = false;

// One parallel_for call: chunks handed out by an atomic counter. Each call has its own Job, so a
// worker that wakes late can never run chunks of a later call with an earlier call's function.
struct Job {
  const std::function<void(int)>* task = nullptr;
  int chunks = 0;
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  std::mutex mu;
  std::condition_variable finished;
  std::exception_ptr error;

  void work() {
    for (int c; (c = next.fetch_add(1)) < chunks;) {
      try {
        (*task)(c);
      } catch (...) {
        std::lock_guard<std::mutex> l(mu);
        if (!error) error = std::current_exception();
      }
      if (done.fetch_add(1) + 1 == chunks) {
        std::lock_guard<std::mutex> l(mu);
        finished.notify_all();
      }
    }
  }
};

// A fixed set of worker threads that sleep on a condition variable between calls. (OpenMP teams
// spin after each region, which starved the reader threads and OpenBLAS on small machines.)
class Pool {
 public:
  explicit Pool(int threads) : threads_(std::max(1, threads)) {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { loop(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int threads() const { return threads_; }

  void run(int chunks, const std::function<void(int)>& task) {
    // One call at a time; a second thread calling meanwhile runs its chunks itself.
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || workers_.empty()) {
      for (int c = 0; c < chunks; ++c) task(c);
      return;
    }
    auto job = std::make_shared<Job>();
    job->task = &task;
    job->chunks = chunks;
    {
      std::lock_guard<std::mutex> l(mu_);
      job_ = job;
      ++generation_;
    }
    wake_.notify_all();
    tl_in_parallel = true;
    job->work();
    tl_in_parallel = false;
    {
      std::unique_lock<std::mutex> l(job->mu);
      job->finished.wait(l, [&] { return job->done.load() == chunks; });
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      job_.reset();
    }
    if (job->error) std::rethrow_exception(job->error);
  }

 private:
  void loop() {
    tl_in_parallel = true;
    uint64_t seen = 0;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> l(mu_);
        wake_.wait(l, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = job_;
      }
      if (job) job->work();
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex busy_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::shared_ptr<Job> job_;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

std::mutex g_pool_mu;
std::unique_ptr<Pool>& pool_slot() {
  static std::unique_ptr<Pool> p;
  return p;
}

Pool& pool() {
  std::lock_guard<std::mutex> l(g_pool_mu);
  auto& p = pool_slot();
  if (!p)
    p = std::make_unique<Pool>(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  return *p;
}

}  // namespace

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  const int64_t n = end - begin;
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks = (n + grain - 1) / grain;
  Pool& p = pool();
  const int chunks = static_cast<int>(std::min<int64_t>(p.threads(), max_chunks));
  if (chunks <= 1 || tl_in_parallel) {
    fn(begin, end);
    return;
  }
  // Fixed, contiguous chunks: the split depends only on (n, grain, thread count), never on timing.
  const int64_t size = (n + chunks - 1) / chunks;
  const std::function<void(int)> task = [&](int c) {
    const int64_t b = begin + c * size;
    const int64_t e = std::min(end, b + size);
    if (b < e) fn(b, e);
  };
  p.run(chunks, task);
}

int num_threads() { return pool().threads(); }

void set_num_threads(int n) {
  std::lock_guard<std::mutex> l(g_pool_mu);
  auto& p = pool_slot();
  if (p && p->threads() == std::max(1, n)) return;
  p.reset();
  p = std::make_unique<Pool>(n);
}

}  // namespace y8m::engine
