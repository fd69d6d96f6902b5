// What the data-parallel tests share (MPI ranks in distributed_mpi_test.cpp, thread towers in
// towers_test.cpp): the "two workers of batch B = one process of batch 2B" setup and comparison.
//
// Two workers of batch B against one process of batch 2B on the same examples per step: 4 files
// of B examples, read in file order. Each epoch's shuffled file order o is dealt o[0], o[2] to
// worker 0 and o[1], o[3] to worker 1, so step k trains worker 0 on file o[2k] and worker 1 on
// o[2k+1]; the single process's step k is those two files. The workers' summed gradient is twice
// the single process's mean gradient (SPEC §6.1 sums towers, regularization included), so plain
// gradient descent at learning rate lr on two workers is the single process at 2 lr: losses and
// weights agree within float rounding. (Adam is invariant to the scale only up to its epsilon,
// which moves weights whose gradients are near 1e-8.)
#pragma once

#include "io/synth.h"
#include "io/tfrecord.h"
#include "pipeline/checkpoint.h"
#include "pipeline/trainer.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace y8m::pipeline::dp_testing {

constexpr int kBatch = 8;  // B

// "step N | loss X" of a training log.
inline std::vector<double> losses(const std::string& log_path) {
  std::ifstream in(log_path);
  std::vector<double> out;
  const std::regex re("^step ([0-9]+) \\| loss ([0-9.eE+-]+)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, re)) out.push_back(std::stod(m[2]));
  }
  return out;
}

inline TrainOptions options(const std::string& data, const std::string& train_dir, int batch) {
  TrainOptions o;
  o.train_dir = train_dir;
  o.train_data_pattern = data + "/video/train*.tfrecord";
  o.model.num_classes = 50;  // LogisticModel on mean_rgb: no BN, no frame sampling
  o.batch_size = batch;
  o.optimizer = "GradientDescentOptimizer";
  o.base_learning_rate = 0.5;
  o.learning_rate_decay = 0.5;
  o.learning_rate_decay_examples = 40;  // the staircase moves within the run
  o.clip_gradient_norm = 0;             // clipping is not scale-invariant
  o.num_epochs = 3;
  o.num_readers = 1;
  o.shuffle_capacity = 1;  // examples in file order: the batches are whole files
  o.seed = 7;
  o.device = Device::cpu();
  o.save_model_secs = 1e9;
  o.log_every = 1;
  return o;
}

// 4 video-level files of B examples each in <data>/video.
inline void write_four_files(const std::string& data) {
  io::SynthOptions so;
  io::apply_synth_preset("tiny", &so);
  so.output_dir = data;
  so.train_videos = 4 * kBatch;
  so.validate_videos = so.test_videos = 0;
  so.shards = 4;
  so.video_level = true;
  so.threads = 1;
  io::write_synth_dataset(so);
  for (int s = 0; s < 4; ++s)
    ASSERT_EQ(io::count_records({fmt::format("{}/video/train{:04d}.tfrecord", data, s)}), kBatch);
}

// Trains one process at batch 2B and 2 lr into `one` and compares it with the two workers' run in
// `two` (log `two_log`): the losses and the final weights.
inline void expect_like_one_process(const std::string& data, const std::string& two,
                                    const std::string& two_log, const std::string& one,
                                    const std::string& one_log) {
  TrainOptions o = options(data, one, 2 * kBatch);
  o.base_learning_rate *= 2;
  std::FILE* log = std::fopen(one_log.c_str(), "w");
  const TrainResult r1 = run_training(o, log);
  std::fclose(log);
  EXPECT_EQ(r1.step, 6);

  const std::vector<double> l2 = losses(two_log), l1 = losses(one_log);
  ASSERT_EQ(l1.size(), 6u);
  ASSERT_EQ(l2.size(), 6u);
  for (size_t i = 0; i < l1.size(); ++i) EXPECT_NEAR(l2[i], l1[i], 1e-5 * std::abs(l1[i])) << i;
  // Not trivially equal: the loss moves over the run.
  EXPECT_GT(std::abs(l1.front() - l1.back()), 1e-3);

  const CheckpointState a = load_checkpoint(checkpoint_path(two, 6));
  const CheckpointState b = load_checkpoint(checkpoint_path(one, 6));
  EXPECT_EQ(a.metadata.at("num_ranks"), "2");
  EXPECT_EQ(a.metadata.at("examples_consumed.rank0"), std::to_string(3 * 2 * kBatch));
  EXPECT_EQ(a.metadata.at("examples_consumed.rank1"), std::to_string(3 * 2 * kBatch));
  ASSERT_EQ(a.model.size(), b.model.size());
  double max_diff = 0, max_weight = 0;
  for (size_t k = 0; k < a.model.size(); ++k) {
    ASSERT_EQ(a.model[k].first, b.model[k].first);
    const std::vector<float> x = a.model[k].second.to_vector<float>();
    const std::vector<float> y = b.model[k].second.to_vector<float>();
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i) {
      max_diff = std::max(max_diff, static_cast<double>(std::abs(x[i] - y[i])));
      max_weight = std::max(max_weight, static_cast<double>(std::abs(y[i])));
    }
  }
  std::printf("two workers vs one process: max |weight difference| %.3g (max |weight| %.3g)\n",
              max_diff, max_weight);
  EXPECT_LT(max_diff, 1e-5);
  EXPECT_GT(max_weight, 1e-3);
}

}  // namespace y8m::pipeline::dp_testing
