// y8m-train: train.py's command line (SPEC §5–6). The original README's NetVLAD command runs
// unchanged but for the executable name (README.md shows it; tests/apps run it).
// y8m-train-distill (built from this file with Y8M_TRAIN_DISTILL): train_distill.py, the same
// flags, always on distillation records with MixedCrossEntropyLoss (SPEC §8.2). y8m-train does the
// same when --loss_lambda is given explicitly and the records are distillation records; on ordinary
// records it is ignored with a note (the original's train.py ignored it silently, SPEC §16.13).
//   y8m-train --ema_source=run1/model.ckpt-30000.y8m --ema_halflife=2000 --train_dir=run1_ema ...   (SPEC §7)
// Data parallelism (SPEC §6.1's towers as processes): `mpirun -np P y8m-train ...` trains on P
// ranks, rank r on cuda:<local rank> unless --device says otherwise (pipeline/trainer.h).
#include "apps/common/app_flags.h"
#include "apps/common/model_path.h"
#include "engine/device.h"
#include "pipeline/distributed.h"
#include "pipeline/trainer.h"

#include <absl/flags/flag.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

ABSL_FLAG(std::string, train_dir, "/tmp/yt8m_model/", "folder for checkpoints and event files");
ABSL_FLAG(std::string, train_data_pattern, "",
          "comma-separated glob patterns of training TFRecords");
ABSL_FLAG(bool, start_new_model, false, "delete train_dir first instead of resuming");
ABSL_FLAG(int, batch_size, 1024, "examples per step");
ABSL_FLAG(std::string, label_loss, "CrossEntropyLoss",
          "CrossEntropyLoss, HingeLoss or SoftmaxLoss");
ABSL_FLAG(double, regularization_penalty, 1.0, "multiplier on the L2 regularization terms");
ABSL_FLAG(double, base_learning_rate, 0.01, "initial learning rate");
ABSL_FLAG(double, learning_rate_decay, 0.95, "staircase decay factor");
ABSL_FLAG(double, learning_rate_decay_examples, 4000000, "examples between decays");
ABSL_FLAG(int, num_epochs, 5, "passes over the training data");
ABSL_FLAG(int64_t, max_steps, 0, "stop after this many steps (0: no limit)");
ABSL_FLAG(int, num_readers, 8, "reader threads");
ABSL_FLAG(std::string, optimizer, "AdamOptimizer",
          "tf.train optimizer in TF 1.x's form and defaults: GradientDescentOptimizer, "
          "MomentumOptimizer, RMSPropOptimizer, AdagradOptimizer or AdamOptimizer");
ABSL_FLAG(double, momentum, 0.9,
          "MomentumOptimizer's momentum (y8m's flag: the original passed only the learning rate, "
          "which MomentumOptimizer refuses); other optimizers ignore it");
ABSL_FLAG(double, clip_gradient_norm, 1.0, "per-tensor gradient clipping norm (0: off)");
ABSL_FLAG(int, export_model_steps, 1000, "unused (the original's export is disabled)");
ABSL_FLAG(bool, incl_val, false,
          "also train on the files matching the pattern with 'train' replaced by 'validate'");
ABSL_FLAG(double, save_model_secs, 900, "seconds between checkpoints");
ABSL_FLAG(int, keep_checkpoint_max, 0, "checkpoints kept (0: all, as the original)");
ABSL_FLAG(
    std::string, ema_source, "",
    "EMA fine-tuning: start from this checkpoint or model archive (train_dir must not exist)");
ABSL_FLAG(double, ema_halflife, 3000.0, "EMA decay = 1 - 1/ema_halflife (the README uses 2000)");
ABSL_FLAG(double, loss_lambda, 0.5,
          "distillation: weight of the teacher in lambda*BCE(teacher) + (1-lambda)*BCE(labels); "
          "given to y8m-train on distillation records, it trains on them (on ordinary records it "
          "is ignored with a note)");
ABSL_FLAG(std::string, corrupt_records, "fail",
          "fail: stop at a corrupt record; skip: skip and count it");
ABSL_FLAG(
    std::string, on_nonfinite, "stop",
    "a step whose loss or gradient is Inf/NaN is never applied; stop: save the state before "
    "it and fail naming the step; skip: drop that update and go on (fails after 20 in a row)");

namespace {

#ifdef Y8M_TRAIN_DISTILL
constexpr bool kDistillApp = true;
constexpr const char* kApp = "y8m-train-distill";
#else
constexpr bool kDistillApp = false;
constexpr const char* kApp = "y8m-train";
#endif

// Under mpirun the ranks are the towers; --num_gpu then says nothing more.
void note_num_gpu_under_mpi(const y8m::pipeline::Communicator& comm) {
  const int64_t n = y8m::apps::num_gpu_flag();
  if (n > 1 && comm.size() > 1 && comm.is_root())
    std::fprintf(stderr, "%s: note: --num_gpu=%lld ignored: the %d ranks are the towers\n", kApp,
                 static_cast<long long>(n), comm.size());
}

// Y8M_NCCL=1: gradients of CUDA devices summed by NCCL where they are, instead of through the host.
std::unique_ptr<y8m::pipeline::Communicator> maybe_nccl(y8m::pipeline::Communicator& comm,
                                                        y8m::Device device) {
  const char* v = std::getenv("Y8M_NCCL");
  if (comm.size() > 1 && device.is_cuda() && v != nullptr && std::string(v) == "1")
    return y8m::pipeline::make_nccl_communicator(comm, device);
  return nullptr;
}

// The devices of --num_gpu=N towers, as train.py: towers = min(N, GPUs), on cuda:0 .. (SPEC §5);
// none (one ordinary process) when that is 1, e.g. without GPUs or with --device=cpu.
// Y8M_CPU_TOWERS=1 with --device=cpu runs N towers on the CPU instead: the same threads, sums and
// schedule without GPUs (tests).
std::vector<y8m::Device> tower_devices(int64_t n) {
  using y8m::Device;
  const bool given = y8m::apps::explicit_flags().count("device") > 0;
  const Device flag = y8m::apps::device_from_flag();
  const char* env = std::getenv("Y8M_CPU_TOWERS");
  if (given && flag.is_cpu() && env != nullptr && std::string(env) == "1")
    return std::vector<Device>(static_cast<size_t>(n), Device::cpu());
  Y8M_CHECK(!given || flag.is_cpu(),
            "--num_gpu={} places the towers on cuda:0, cuda:1, ...: drop --device={}", n,
            flag.str());
  const int64_t gpus = given ? 0 : y8m::engine::cuda_device_count();
  const int64_t towers = std::max<int64_t>(1, std::min(n, gpus));
  if (towers < n)
    std::fprintf(stderr, "%s: note: --num_gpu=%lld: %s, so %lld tower%s (as train.py)\n", kApp,
                 static_cast<long long>(n),
                 given ? "training on the CPU (--device=cpu)"
                       : fmt::format("{} CUDA device(s) visible", gpus).c_str(),
                 static_cast<long long>(towers), towers == 1 ? "" : "s");
  std::vector<Device> d;
  if (towers > 1)
    for (int64_t i = 0; i < towers; ++i) d.push_back(Device::cuda(static_cast<int>(i)));
  return d;
}

// --num_gpu=N in one process, as the original's towers: N threads, tower i on device i with
// batch_size examples, gradients summed over a thread group (pipeline/distributed.h), rank 0
// writing. A tower that fails ends the process naming it.
void train_towers(const y8m::pipeline::TrainOptions& base,
                  const std::vector<y8m::Device>& devices) {
  using namespace y8m;
  const int64_t n = static_cast<int64_t>(devices.size());
  std::printf("%s: %lld towers in this process (%s, ...), %d examples each per step\n", kApp,
              static_cast<long long>(n), devices[0].str().c_str(), base.batch_size);
  std::fflush(stdout);
  std::vector<std::unique_ptr<pipeline::Communicator>> group =
      pipeline::make_thread_group(static_cast<int>(n));
  std::vector<std::thread> towers;
  for (int64_t i = 0; i < n; ++i) {
    towers.emplace_back([&, i] {
      pipeline::Communicator& comm = *group[static_cast<size_t>(i)];
      pipeline::ScopedWorld scope(comm);
      pipeline::run_on_ranks(kApp, [&] {
        pipeline::TrainOptions o = base;
        o.device = devices[static_cast<size_t>(i)];
        const std::unique_ptr<pipeline::Communicator> nccl = maybe_nccl(comm, o.device);
        o.comm = nccl ? nccl.get() : &comm;
        pipeline::run_training(o, stdout);
        return 0;
      });
    });
  }
  for (std::thread& t : towers) t.join();
}

int train() {
  using namespace y8m;
  Y8M_CHECK(!absl::GetFlag(FLAGS_train_data_pattern).empty(), "--train_data_pattern: required");
  pipeline::TrainOptions o;
  o.train_dir = absl::GetFlag(FLAGS_train_dir);
  o.train_data_pattern = absl::GetFlag(FLAGS_train_data_pattern);
  if (absl::GetFlag(FLAGS_incl_val)) {
    std::string val = o.train_data_pattern;
    for (size_t p; (p = val.find("train")) != std::string::npos;) val.replace(p, 5, "validate");
    o.train_data_pattern += "," + val;
  }
  o.model = apps::model_config_from_flags();
  for (const auto& kv : apps::explicit_model_flags()) o.explicit_model_flags.insert(kv.first);
  o.batch_size = absl::GetFlag(FLAGS_batch_size);
  o.label_loss = absl::GetFlag(FLAGS_label_loss);
  o.regularization_penalty = absl::GetFlag(FLAGS_regularization_penalty);
  o.base_learning_rate = absl::GetFlag(FLAGS_base_learning_rate);
  o.learning_rate_decay = absl::GetFlag(FLAGS_learning_rate_decay);
  o.learning_rate_decay_examples = absl::GetFlag(FLAGS_learning_rate_decay_examples);
  o.num_epochs = absl::GetFlag(FLAGS_num_epochs);
  o.max_steps = absl::GetFlag(FLAGS_max_steps);
  o.num_readers = absl::GetFlag(FLAGS_num_readers);
  o.start_new_model = absl::GetFlag(FLAGS_start_new_model);
  o.clip_gradient_norm = absl::GetFlag(FLAGS_clip_gradient_norm);
  o.optimizer = absl::GetFlag(FLAGS_optimizer);
  o.momentum = absl::GetFlag(FLAGS_momentum);
  o.seed = apps::seed_flag();
  pipeline::Communicator& comm = pipeline::world();
  note_num_gpu_under_mpi(comm);
  o.save_model_secs = absl::GetFlag(FLAGS_save_model_secs);
  o.keep_checkpoint_max = absl::GetFlag(FLAGS_keep_checkpoint_max);
  o.corrupt_records = absl::GetFlag(FLAGS_corrupt_records);
  o.on_nonfinite = absl::GetFlag(FLAGS_on_nonfinite);
  o.ema_source = apps::resolve_model_path(absl::GetFlag(FLAGS_ema_source));
  o.ema_halflife = absl::GetFlag(FLAGS_ema_halflife);
  o.distill = kDistillApp;
  if (!kDistillApp && apps::explicit_flags().count("loss_lambda")) {
    o.distill = pipeline::records_have_teacher_predictions(o);
    if (!o.distill)
      std::fprintf(stderr,
                   "%s: note: --loss_lambda ignored: the records have no teacher predictions; "
                   "y8m-train-distill trains on distillation records\n",
                   kApp);
  }
  o.loss_lambda = absl::GetFlag(FLAGS_loss_lambda);
  o.flags = apps::command_line_flags();
  if (apps::num_gpu_flag() > 1 && comm.size() == 1) {
    const std::vector<Device> devices = tower_devices(apps::num_gpu_flag());
    if (devices.size() > 1) {
      train_towers(o, devices);
      return 0;
    }
  }
  o.device = comm.size() > 1 && !apps::explicit_flags().count("device")
                 ? pipeline::rank_default_device(comm)
                 : apps::device_from_flag();
  const std::unique_ptr<pipeline::Communicator> nccl = maybe_nccl(comm, o.device);
  o.comm = nccl ? nccl.get() : &comm;
  pipeline::run_training(o, stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto rest = y8m::apps::parse_flags(
      argc, argv,
      kDistillApp ? "Trains a YouTube-8M model on distillation records (train_distill.py's flags)."
                  : "Trains a YouTube-8M model (train.py's flags).");
  if (!rest.empty()) {
    std::fprintf(stderr, "%s: unexpected argument '%s' (flags are --name=value)\n", kApp,
                 rest[0].c_str());
    return 1;
  }
  return y8m::apps::run_app(kApp, [] { return y8m::pipeline::run_on_ranks(kApp, train); });
}
