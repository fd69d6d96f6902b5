// --num_gpu towers in one process (pipeline/distributed.h make_thread_group): the thread group's
// collectives, and two towers (threads) training like one process with the doubled batch, the
// same check as the two MPI ranks of distributed_mpi_test.cpp. Runs in every build (no MPI, no GPU).
#include "pipeline/distributed.h"
#include "tests/common/test_util.h"
#include "tests/distributed/data_parallel_util.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>
#include <vector>

namespace y8m::pipeline {
namespace {

// Runs fn(rank) on n threads, each inside a ScopedWorld of its rank in one thread group.
void on_towers(int n, const std::function<void(Communicator&)>& fn) {
  std::vector<std::unique_ptr<Communicator>> group = make_thread_group(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      ScopedWorld scope(*group[static_cast<size_t>(r)]);
      EXPECT_EQ(&world(), group[static_cast<size_t>(r)].get());
      fn(world());
    });
  for (std::thread& t : threads) t.join();
}

TEST(Towers, CollectivesAreExactAndTheSameOnEveryRank) {
  constexpr int P = 3;
  std::vector<std::vector<float>> sums(P);
  std::vector<std::vector<std::string>> gathered(P);
  on_towers(P, [&](Communicator& c) {
    const int r = c.rank();
    EXPECT_EQ(c.size(), P);
    EXPECT_EQ(c.backend(), "threads");
    // Values whose float sum depends on the order: every rank must still get the same bits.
    std::vector<float> f = {1e8f * (r == 0 ? 1 : -0.5f), 0.1f * static_cast<float>(r + 1), 3.f};
    for (int repeat = 0; repeat < 50; ++repeat) {  // the barrier is reused many times
      std::vector<float> g = f;
      c.allreduce_sum(g.data(), g.size());
      if (repeat == 0) sums[static_cast<size_t>(r)] = g;
      EXPECT_EQ(g, sums[static_cast<size_t>(r)]);
    }
    double d = 0.25 * (r + 1);
    c.allreduce_sum(&d, 1);
    EXPECT_EQ(d, 0.25 * 6);
    Tensor t = Tensor::from_vector(std::vector<float>{1, static_cast<float>(r)}, {2});
    c.allreduce_sum(std::vector<Tensor>{t});
    EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{3.f, 3.f}));
    EXPECT_EQ(c.broadcast(r == 1 ? std::string("from rank 1") : std::string("x"), 1),
              "from rank 1");
    gathered[static_cast<size_t>(r)] = c.gather(std::string(static_cast<size_t>(r) + 1, 'g'), 0);
    c.barrier();
  });
  EXPECT_EQ(sums[0], sums[1]);
  EXPECT_EQ(sums[0], sums[2]);
  EXPECT_EQ(sums[0][2], 9.f);
  EXPECT_EQ(gathered[0], (std::vector<std::string>{"g", "gg", "ggg"}));
  EXPECT_TRUE(gathered[1].empty() && gathered[2].empty());
}

// Two towers of batch B against one process of batch 2B (tests/distributed/data_parallel_util.h).
TEST(Towers, TwoTowersTrainLikeOneProcessWithTheDoubledBatch) {
  testing::TempDir dir;
  dp_testing::write_four_files(dir.file("data"));
  std::vector<TrainResult> results(2);
  on_towers(2, [&](Communicator& c) {
    TrainOptions o = dp_testing::options(dir.file("data"), dir.file("two"), dp_testing::kBatch);
    o.comm = &c;
    std::FILE* log = std::fopen(c.is_root() ? dir.file("two.log").c_str() : "/dev/null", "w");
    results[static_cast<size_t>(c.rank())] = run_training(o, log);
    std::fclose(log);
  });
  for (const TrainResult& r : results) {
    EXPECT_EQ(r.step, 6);  // 2 steps per epoch, 3 epochs
    EXPECT_EQ(r.examples, 6 * 2 * dp_testing::kBatch);
  }
  dp_testing::expect_like_one_process(dir.file("data"), dir.file("two"), dir.file("two.log"),
                                      dir.file("one"), dir.file("one.log"));
}

}  // namespace
}  // namespace y8m::pipeline
