// The training loop of train.py (SPEC §6): reader -> frame preparation -> model -> label loss +
// regularization -> backward -> per-tensor clipping + the tf.train optimizer of --optimizer (TF
// 1.x's form, autograd/optim.h) with a staircase learning rate, with progress lines every 10 steps,
// TensorBoard scalars, periodic and final checkpoints, and exact resume (the checkpoint records the
// optimizer; a resume with another --optimizer is refused).
//
// EMA fine-tuning (SPEC §7, --ema_source): the run must start in a new train_dir; the model is
// built from the source's model config (explicit architecture flags must agree) and every parameter
// and BN statistic, and its EMA shadow, is set from the source tensor of the same name; the
// optimizer starts fresh at step 0.
// Each step runs the train step, then shadow <- shadow - (1 - d)(shadow - var), d
// = 1 - 1/ema_halflife. Shadows are checkpointed as "<name>/ExponentialMovingAverage" and restored
// on resume. A train_dir holding a checkpoint of the same EMA run (same --ema_source) resumes it;
// one of any other run is refused (the train_dir is created only once flags, source and data are
// accepted, so a refused run leaves none). Resuming a checkpoint that has shadows continues the EMA
// (halflife from the checkpoint) with or without
// --ema_source repeated.
//
// Distilled training (SPEC §6.2, §8.2, train_distill.py): with `distill` the data are read as
// distillation records (teacher `predictions`, id `video_id` or `id`) and the loss is
// MixedCrossEntropyLoss with weight loss_lambda on the teacher. Data without predictions are
// refused with one line saying so. Checkpoints record loss_lambda; a run resumes only with the same
// setting (distilled or not, same lambda).
#pragma once

#include "engine/device.h"
#include "models/zoo.h"
#include "pipeline/distributed.h"

#include <cstdio>
#include <map>
#include <set>
#include <string>

namespace y8m::pipeline {

struct TrainOptions {
  std::string train_dir = "/tmp/yt8m_model/";
  std::string train_data_pattern;
  models::ModelConfig model;                   // frame_features, features and classes included
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
  std::string optimizer = "AdamOptimizer";  // a tf.train class name (autograd::optimizer_names())
  double momentum = 0.9;                    // MomentumOptimizer's (the original could not set it)
  uint64_t seed = 0;
  Device device;
  double save_model_secs = 900;
  int keep_checkpoint_max = 0;  // 0 keeps every checkpoint (as the original)
  int log_every = 10;
  std::string corrupt_records = "fail";
  // A step whose loss or gradient norm is Inf/NaN (autograd/optim.h) is never applied. "stop":
  // save the last finite state as a checkpoint and fail with a message naming the step; "skip":
  // drop that batch's update, count it, and go on (failing after kMaxConsecutiveNonfinite in a
  // row).
  std::string on_nonfinite = "stop";
  // No training example at all is an error (an untrained model.ckpt-0 would look like a result).
  // Library callers may allow it to get the starting state as a checkpoint (tests of the EMA warm
  // start do); no flag sets it.
  bool allow_no_examples = false;
  std::map<std::string, std::string> flags;  // the command line, recorded in checkpoints
  // EMA fine-tuning: a checkpoint (model.ckpt-<step>.y8m) or model archive to start from; "" = no
  // EMA.
  std::string ema_source;
  double ema_halflife = 3000;  // decay 1 - 1/ema_halflife (README: 2000)
  // Distillation: read distillation records and train on lambda BCE(teacher) + (1 - lambda)
  // BCE(labels).
  bool distill = false;
  double loss_lambda = 0.5;
  // Data parallelism (SPEC §6.1 towers as processes; null: one process). Every rank reads its
  // share of each epoch's files (io/reader.h), runs batch_size examples per step, and the
  // gradients are summed over the ranks (the original summed its towers'); every rank then applies
  // the same update. The learning-rate schedule counts step x batch_size x ranks examples. BN
  // statistics stay per rank (rank 0's are saved). Rank 0 alone writes the train_dir, events and
  // log lines; checkpoints record every rank's reader position, and a run resumes only with the
  // same number of ranks. A rank out of data ends the run for all (every rank runs the same
  // steps).
  Communicator* comm = nullptr;
  int shuffle_capacity = 0;  // the reader's (io/reader.h); 0: 5 x batch_size. No flag sets it.
};

struct TrainResult {
  int64_t step = 0;
  double last_loss = 0;
  int64_t examples = 0;
  bool resumed = false;
  bool ema = false;           // EMA shadows were maintained (and checkpointed)
  int64_t skipped_steps = 0;  // updates dropped for a non-finite loss or gradient (--on_nonfinite)
};

constexpr int kMaxConsecutiveNonfinite = 20;

// Checks every option a user sets (numbers finite and in range, names known) before anything is
// read or written; throws naming the flag.
void validate_train_options(const TrainOptions& o);

// lr = base * decay ^ floor(step * batch_size * ranks / decay_examples)   (staircase, SPEC §6.1)
double learning_rate(const TrainOptions& o, int64_t step, int ranks = 1);

TrainResult run_training(const TrainOptions& opts, std::FILE* log);

// Whether the first record of o.train_data_pattern carries teacher predictions (a distillation
// record written by y8m-distill). y8m-train trains on distillation records when --loss_lambda is
// given and they are; on ordinary records the flag is ignored with a note (train.py ignored it).
bool records_have_teacher_predictions(const TrainOptions& o);

}  // namespace y8m::pipeline
