// Per-step scratch workspace: a bump allocator over one device block. Kernels that need temporary
// memory (CUB temp storage, partial sums) take it from here instead of allocating; the training
// loop calls reset() once per step. Growing reallocates only when a step needs more than any step
// before, so a steady-state step allocates nothing.
#pragma once
#include "engine/engine_layer.h"

#include "engine/memory.h"

#include <memory>
#include <vector>

namespace y8m::engine {

class Workspace {
 public:
  explicit Workspace(Device device) : device_(device) {}
  // `bytes` of scratch at a 256-byte multiple from the block's start (the block is 256-aligned on
  // CUDA, kCpuAlignment-aligned on the CPU), valid until reset().
  void* get(size_t bytes);
  // Frees nothing; the next step reuses the space. Blocks added during growth are merged into one.
  void reset();
  size_t capacity() const { return capacity_; }
  size_t used() const { return used_; }
  Device device() const { return device_; }

 private:
  Device device_;
  std::shared_ptr<Storage> main_;                   // the block reused every step
  std::vector<std::shared_ptr<Storage>> overflow_;  // extra blocks when a step outgrew main_
  size_t capacity_ = 0;
  size_t used_ = 0;  // bytes taken from main_
  size_t overflow_bytes_ = 0;
};

// The workspace for a device on the calling thread.
Workspace& thread_workspace(Device device);

}  // namespace y8m::engine
