// One y8m-train per train_dir. Two trainers on one folder would each delete the other's
// checkpoints (retention) and interleave their steps; the second one is refused instead.
//
//   <train_dir>/y8m-train.lock     flock(LOCK_EX) held for the whole run; holds the holder's pid
//
// The lock is advisory and released by the kernel when the holder exits, however it exits
// (kill -9 included), so a stale lock file never blocks a later run. Evaluation (y8m-eval polling
// the folder) does not take it: reading checkpoints while a run writes them is by design.
#pragma once

#include <cstdio>
#include <string>

namespace y8m::pipeline {

class TrainDirLock {
 public:
  static constexpr const char* kFileName = "y8m-train.lock";

  // Creates the folder if needed and takes the lock; throws naming the folder and the holder's
  // pid when another process holds it.
  explicit TrainDirLock(const std::string& dir);
  // Releases the lock. A folder this object created is removed again unless keep() was called
  // (a run refused for its flags or data leaves no train_dir behind).
  ~TrainDirLock();
  TrainDirLock(const TrainDirLock&) = delete;
  TrainDirLock& operator=(const TrainDirLock&) = delete;

  void keep() { keep_ = true; }
  // True when the folder holds nothing but the lock file (or did not exist before).
  bool fresh() const { return fresh_; }
  // Deletes everything in the folder except the lock file (--start_new_model).
  void clear();
  // Removes checkpoint and archive temporary files whose writer is gone (io/atomic_file.h) and
  // reports them on `log`. Checkpoint temporaries without a pid (older y8m) or with this process's
  // (recycled) pid count as stale too: only the lock holder writes checkpoints, and it calls this
  // with none in flight.
  void remove_stale_temps(std::FILE* log) const;

 private:
  std::string dir_;
  int fd_ = -1;
  bool created_ = false;
  bool fresh_ = false;
  bool keep_ = false;
};

// True for the files a training run and its evaluation write into a train_dir
// (model.ckpt-<step>.y8m, inference_model.y8m): what stale-temporary cleaning may touch.
bool is_train_dir_output(const std::string& file_name);

}  // namespace y8m::pipeline
