// parallel_for: every index of [begin, end) is visited exactly once, by non-overlapping chunks, for
// any grain and thread count; exceptions thrown in a chunk reach the caller; nested calls run
// inline.
#include "engine/parallel.h"
#include "engine/error.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace y8m::engine {
namespace {

// Restores the thread count a test changed.
class ThreadCountGuard {
 public:
  ThreadCountGuard() : saved_(num_threads()) {}
  ~ThreadCountGuard() { set_num_threads(saved_); }

 private:
  int saved_;
};

// Runs parallel_for over [begin, end) and checks coverage and chunk sanity.
void check_cover(int64_t begin, int64_t end, int64_t grain) {
  const int64_t n = end > begin ? end - begin : 0;
  std::unique_ptr<std::atomic<int>[]> hits(new std::atomic<int>[static_cast<size_t>(n)]);
  for (int64_t i = 0; i < n; ++i) hits[static_cast<size_t>(i)] = 0;
  std::mutex mu;
  std::vector<std::pair<int64_t, int64_t>> chunks;
  parallel_for(begin, end, grain, [&](int64_t b, int64_t e) {
    {
      std::lock_guard<std::mutex> lock(mu);
      chunks.emplace_back(b, e);
    }
    for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i - begin)].fetch_add(1);
  });
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1)
        << "index " << begin + i << " of [" << begin << ", " << end << ") grain " << grain;
  for (const auto& c : chunks) {
    EXPECT_LT(c.first, c.second);  // no empty chunks
    EXPECT_GE(c.first, begin);
    EXPECT_LE(c.second, end);
  }
  if (n == 0) {
    EXPECT_TRUE(chunks.empty());
  }
  // Never more chunks than the grain allows.
  if (n > 0 && grain > 0) {
    EXPECT_LE(static_cast<int64_t>(chunks.size()), (n + grain - 1) / grain);
  }
}

TEST(ParallelFor, CoversRangeExactlyOnce) {
  ThreadCountGuard guard;
  for (int threads : {1, 2, 3, 8}) {
    set_num_threads(threads);
    for (int64_t n : {0, 1, 2, 7, 31, 32, 33, 1000, 100003}) {
      for (int64_t grain : {0, 1, 3, 64, 1 << 14, 1 << 20}) {
        check_cover(0, n, grain);
        check_cover(5, 5 + n, grain);  // a range that does not start at 0
      }
    }
  }
}

TEST(ParallelFor, ConcurrentCallersFromSeveralThreads) {
  // Reader threads and the training thread call parallel_for at the same time: whichever does not
  // get the pool runs its chunks itself, and every call still covers its range exactly once.
  ThreadCountGuard guard;
  set_num_threads(2);
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&failures, t] {
      for (int rep = 0; rep < 200; ++rep) {
        const int64_t n = 1000 + t * 17 + rep;
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        parallel_for(0, n, 16, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
        });
        for (const auto& h : hits)
          if (h.load() != 1) ++failures;
      }
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ParallelFor, EmptyAndReversedRangesDoNothing) {
  int calls = 0;
  parallel_for(10, 10, 1, [&](int64_t, int64_t) { ++calls; });
  parallel_for(10, 3, 1, [&](int64_t, int64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ParallelFor, SmallRangesRunInlineAsOneChunk) {
  ThreadCountGuard guard;
  set_num_threads(4);
  std::vector<std::pair<int64_t, int64_t>> chunks;
  parallel_for(3, 50, 100, [&](int64_t b, int64_t e) { chunks.emplace_back(b, e); });
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0], (std::pair<int64_t, int64_t>{3, 50}));
}

TEST(ParallelFor, UsesSeveralChunksWhenAllowed) {
  ThreadCountGuard guard;
  set_num_threads(4);
  EXPECT_EQ(num_threads(), 4);
  std::atomic<int> chunks{0};
  parallel_for(0, 1000, 10, [&](int64_t, int64_t) { chunks.fetch_add(1); });
  EXPECT_GE(chunks.load(), 2);  // 4 unless the environment limits OpenMP teams
  EXPECT_LE(chunks.load(), 4);
  set_num_threads(0);  // clamps to 1
  EXPECT_EQ(num_threads(), 1);
}

TEST(ParallelFor, PropagatesExceptionsFromAnyChunk) {
  ThreadCountGuard guard;
  for (int threads : {1, 4}) {
    set_num_threads(threads);
    for (int64_t bad : {0, 499, 999}) {
      std::atomic<int64_t> visited{0};
      try {
        parallel_for(0, 1000, 1, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            if (i == bad) Y8M_FAIL("kernel: bad element {}", i);
            visited.fetch_add(1);
          }
        });
        FAIL() << "no exception for bad element " << bad;
      } catch (const Error& err) {
        EXPECT_EQ(std::string(err.what()), "kernel: bad element " + std::to_string(bad));
      }
      EXPECT_LT(visited.load(), 1000);
    }
    // Exceptions of other types pass through unchanged.
    EXPECT_THROW(parallel_for(0, 100, 1, [](int64_t, int64_t) { throw std::out_of_range("x"); }),
                 std::out_of_range);
  }
}

TEST(ParallelFor, NestedCallsRunInline) {
  ThreadCountGuard guard;
  set_num_threads(2);
  std::atomic<int64_t> total{0};
  std::atomic<int> inner_chunks{0};
  parallel_for(0, 2, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      parallel_for(0, 1000, 1, [&](int64_t ib, int64_t ie) {
        inner_chunks.fetch_add(1);
        total.fetch_add(ie - ib);
      });
    }
  });
  EXPECT_EQ(total.load(), 2000);
  // Inside a parallel region each inner loop is one inline chunk.
  EXPECT_EQ(inner_chunks.load(), 2);
}

}  // namespace
}  // namespace y8m::engine
