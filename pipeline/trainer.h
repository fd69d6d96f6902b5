// The training loop of train.py (SPEC §6): reader -> frame preparation -> model -> label loss +
// regularization -> backward -> per-tensor clipping + TF-form Adam with a staircase learning rate, with
// progress lines every 10 steps, TensorBoard scalars, periodic and final checkpoints, and exact resume.
#pragma once

#include "engine/device.h"
#include "models/zoo.h"

#include <cstdio>
#include <map>
#include <set>
#include <string>

namespace y8m::pipeline {

struct TrainOptions {
  std::string train_dir = "/tmp/yt8m_model/";
  std::string train_data_pattern;
  models::ModelConfig model;  // frame_features, features and classes included
  std::set<std::string> explicit_model_flags;  // architecture flags given on the command line
  int batch_size = 1024;
  std::string label_loss = "CrossEntropyLoss";
  double regularization_penalty = 1.0;
  double base_learning_rate = 0.01;
  double learning_rate_decay = 0.95;
  double learning_rate_decay_examples = 4000000;
  int num_epochs = 5;
  int64_t max_steps = 0;  // 0: no limit
  int num_readers = 8;
  bool start_new_model = false;
  double clip_gradient_norm = 1.0;
  uint64_t seed = 0;
  Device device;
  double save_model_secs = 900;
  int keep_checkpoint_max = 0;  // 0 keeps every checkpoint (as the original)
  int log_every = 10;
  std::string corrupt_records = "fail";
  std::map<std::string, std::string> flags;  // the command line, recorded in checkpoints
};

struct TrainResult {
  int64_t step = 0;
  double last_loss = 0;
  int64_t examples = 0;
  bool resumed = false;
};

// lr = base * decay ^ floor(step * batch_size / decay_examples)   (staircase, SPEC §6.1)
double learning_rate(const TrainOptions& o, int64_t step);

TrainResult run_training(const TrainOptions& opts, std::FILE* log);

}  // namespace y8m::pipeline
