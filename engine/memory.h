// Memory: aligned CPU allocations, pinned host allocations, and CUDA allocations from a
// stream-ordered pool (cudaMallocAsync on the device's compute stream, with a release threshold so
// freed blocks stay cached across steps). Counters track current and peak bytes per device.
#pragma once
#include "engine/engine_layer.h"

#include "engine/device.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace y8m::engine {

constexpr size_t kCpuAlignment = 64;  // cache line; also the archive's blob alignment

struct MemoryStats {
  int64_t current_bytes = 0;
  int64_t peak_bytes = 0;
  int64_t num_allocs = 0;  // allocations made so far
};

// Raw allocation on a device. Throws y8m::Error on failure; for CUDA the message states the bytes
// requested and the bytes free on the device.
void* allocate(size_t bytes, Device device);
void deallocate(void* ptr, size_t bytes, Device device) noexcept;
// Page-locked host memory (plain aligned memory when no CUDA device is usable).
void* allocate_pinned(size_t bytes);
void deallocate_pinned(void* ptr, size_t bytes) noexcept;

MemoryStats memory_stats(Device device);
void reset_peak_memory(Device device);
// Bytes the CUDA pool keeps cached after frees before returning memory to the driver (default:
// all).
void set_cuda_pool_release_threshold(Device device, uint64_t bytes);

// A block of device memory. Tensors share one Storage through shared_ptr; the block is freed
// (returned to the pool) when the last reference goes.
class Storage {
 public:
  enum class Kind { device, pinned, external };
  Storage(size_t bytes, Device device, Kind kind = Kind::device);
  // Wraps memory owned elsewhere (a memory-mapped archive); `release` runs at destruction.
  Storage(void* ptr, size_t bytes, Device device, std::function<void()> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }
  bool pinned() const { return kind_ == Kind::pinned; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
  Kind kind_;
  std::function<void()> release_;
};

}  // namespace y8m::engine
