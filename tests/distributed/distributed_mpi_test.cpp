// The distributed layer and data-parallel training. Run under `mpirun -np 2` (tests/run_mpi_gtest.bash,
// ctest mpi.distributed_tests); as a single process the collectives are checked with one rank and
// the two-rank tests skip.
#include "engine/error.h"
#include "io/synth.h"
#include "io/tfrecord.h"
#include "models/config.h"
#include "pipeline/checkpoint.h"
#include "pipeline/distributed.h"
#include "pipeline/trainer.h"
#include "tests/common/test_util.h"
#include "tests/distributed/data_parallel_util.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

namespace y8m::pipeline {
namespace {

// A folder rank 0 creates and every rank uses (the ranks share this machine's filesystem), removed
// once every rank is done with it.
class SharedDir {
 public:
  SharedDir() {
    if (world().is_root()) dir_ = std::make_unique<testing::TempDir>();
    path_ = world().broadcast(dir_ ? dir_->path() : std::string(), 0);
  }
  ~SharedDir() { world().barrier(); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::unique_ptr<testing::TempDir> dir_;
  std::string path_;
};

TEST(Collectives, SumBroadcastGather) {
  Communicator& c = world();
  const int P = c.size(), r = c.rank();
  const float ranks_sum = static_cast<float>(P * (P + 1) / 2);  // sum of (rank + 1)

  std::vector<float> f(1000);
  for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(r + 1) * static_cast<float>(i);
  c.allreduce_sum(f.data(), f.size());
  for (size_t i = 0; i < f.size(); ++i) ASSERT_EQ(f[i], ranks_sum * static_cast<float>(i)) << i;

  double d[2] = {0.5 * (r + 1), -1.0};
  c.allreduce_sum(d, 2);
  EXPECT_EQ(d[0], 0.5 * ranks_sum);
  EXPECT_EQ(d[1], -1.0 * P);

  // Tensors of several shapes, reduced together.
  Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector(std::vector<float>{static_cast<float>(r)}, {1});
  c.allreduce_sum(std::vector<Tensor>{a, b});
  EXPECT_EQ(a.to_vector<float>(),
            (std::vector<float>{1.f * P, 2.f * P, 3.f * P, 4.f * P, 5.f * P, 6.f * P}));
  EXPECT_EQ(b.to_vector<float>()[0], static_cast<float>(P * (P - 1) / 2));

  EXPECT_EQ(c.broadcast(r == 0 ? std::string("from rank 0") : std::string("other"), 0),
            "from rank 0");
  EXPECT_EQ(c.broadcast(uint64_t{r == 0 ? 42u : 7u}, 0), 42u);
  const std::vector<std::string> all = c.gather(std::string(static_cast<size_t>(r) + 1, 'x'), 0);
  if (r == 0) {
    ASSERT_EQ(all.size(), static_cast<size_t>(P));
    for (int k = 0; k < P; ++k) EXPECT_EQ(all[static_cast<size_t>(k)].size(), size_t(k) + 1);
  } else {
    EXPECT_TRUE(all.empty());
  }
  c.barrier();
}

// CUDA tensors: staged through the host by MPI, or reduced on the devices by NCCL (one GPU per
// rank).
TEST(Collectives, SumsCudaTensors) {
  Communicator& c = world();
  if (engine::cuda_device_count() == 0) GTEST_SKIP() << engine::cuda_unavailable_reason();
  const Device dev = rank_default_device(c);
  const int P = c.size();
  auto check = [&](Communicator& comm, const char* what) {
    Tensor t =
        Tensor::from_vector(std::vector<float>{1, static_cast<float>(c.rank())}, {2}).to(dev);
    comm.allreduce_sum(std::vector<Tensor>{t});
    EXPECT_EQ(t.to_vector<float>(),
              (std::vector<float>{static_cast<float>(P), static_cast<float>(P * (P - 1) / 2)}))
        << what;
  };
  check(c, c.backend().c_str());
  if (!have_nccl() || c.size() < 2 || engine::cuda_device_count() < c.size())
    GTEST_SKIP() << "NCCL needs a build with NCCL and one GPU per rank";
  const std::unique_ptr<Communicator> nccl = make_nccl_communicator(c, dev);
  check(*nccl, "nccl");
}

TEST(Collectives, WeightCheckFindsADifferentRank) {
  Communicator& c = world();
  if (c.size() < 2) GTEST_SKIP() << "needs mpirun -np 2";
  const Tensor same = Tensor::from_vector(std::vector<float>{1, 2}, {2});
  check_same_on_all_ranks(c, {{"w", same}}, "weights");  // no error
  const Tensor differs =
      Tensor::from_vector(std::vector<float>{1, static_cast<float>(c.rank())}, {2});
  const std::string msg = testing::error_of([&] {
    check_same_on_all_ranks(c, {{"w", differs}}, "weights");
  });
  if (c.rank() == 0)
    EXPECT_EQ(msg, "<no exception>");
  else
    EXPECT_NE(msg.find("weights differ from rank 0's"), std::string::npos) << msg;
}

using dp_testing::kBatch;
using dp_testing::options;

// Two ranks of batch B against one process of batch 2B (tests/distributed/data_parallel_util.h).
TEST(DataParallel, TwoRanksTrainLikeOneProcessWithTheDoubledBatch) {
  Communicator& c = world();
  if (c.size() != 2) GTEST_SKIP() << "needs mpirun -np 2";
  SharedDir dir;
  if (c.is_root()) dp_testing::write_four_files(dir.file("data"));
  c.barrier();

  TrainOptions two = options(dir.file("data"), dir.file("two"), kBatch);
  two.comm = &c;
  std::FILE* log = std::fopen(dir.file("two.log").c_str(), "w");
  const TrainResult r2 = run_training(two, log);
  std::fclose(log);
  EXPECT_EQ(r2.step, 6);  // 2 steps per epoch, 3 epochs
  EXPECT_EQ(r2.examples, 6 * 2 * kBatch);
  c.barrier();
  if (!c.is_root()) return;
  dp_testing::expect_like_one_process(dir.file("data"), dir.file("two"), dir.file("two.log"),
                                      dir.file("one"), dir.file("one.log"));
}

// A two-rank run stopped at step 4 and resumed continues exactly as the run that went straight
// through: every rank's reader position is in the checkpoint.
TEST(DataParallel, ResumeIsExact) {
  Communicator& c = world();
  if (c.size() != 2) GTEST_SKIP() << "needs mpirun -np 2";
  SharedDir dir;
  if (c.is_root()) {
    io::SynthOptions so;
    io::apply_synth_preset("tiny", &so);
    so.output_dir = dir.file("data");
    so.train_videos = 60;  // 15 per file: batches cross files, through the shuffle buffer
    so.validate_videos = so.test_videos = 0;
    so.shards = 4;
    so.video_level = true;
    so.threads = 1;
    io::write_synth_dataset(so);
  }
  c.barrier();
  std::FILE* log = std::fopen("/dev/null", "w");
  TrainOptions o = options(dir.file("data"), dir.file("straight"), 8);
  o.shuffle_capacity = 0;
  // Frame-level NetVLAD: per-rank frame sampling and batch-norm statistics resume too.
  o.train_data_pattern = dir.file("data/frame/train*.tfrecord");
  o.model = models::netvlad_config(4, 16);
  o.model.num_classes = 50;
  o.model.iterations = 5;
  o.optimizer = "AdamOptimizer";
  o.base_learning_rate = 0.01;
  o.comm = &c;
  const TrainResult straight = run_training(o, log);
  o.train_dir = dir.file("split");
  o.max_steps = 4;
  EXPECT_EQ(run_training(o, log).step, 4);
  o.max_steps = 0;
  const TrainResult resumed = run_training(o, log);
  std::fclose(log);
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.step, straight.step);
  c.barrier();
  if (!c.is_root()) return;
  const CheckpointState a = load_checkpoint(checkpoint_path(dir.file("straight"), straight.step));
  const CheckpointState b = load_checkpoint(checkpoint_path(dir.file("split"), resumed.step));
  ASSERT_EQ(a.model.size(), b.model.size());
  for (size_t k = 0; k < a.model.size(); ++k)
    EXPECT_EQ(a.model[k].second.to_vector<float>(), b.model[k].second.to_vector<float>())
        << a.model[k].first;
  for (const char* key : {"examples_consumed.rank1", "sampling_offset.rank1", "sampling_seed"})
    EXPECT_EQ(a.metadata.at(key), b.metadata.at(key)) << key;
}

}  // namespace
}  // namespace y8m::pipeline
