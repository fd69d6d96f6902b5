// Memory: aligned CPU allocations, pinned host allocations, and CUDA allocations from a
// stream-ordered pool (cudaMallocAsync, with a release threshold so freed blocks stay cached across
// steps) or, where the device or driver has no memory pools, from a caching cudaMalloc allocator
// (engine/cuda_allocator.h). Counters track current and peak bytes per device.
#pragma once
#include "engine/engine_layer.h"

#include "engine/device.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace y8m::engine {

class Event;

constexpr size_t kCpuAlignment = 64;  // cache line; also the archive's blob alignment

struct MemoryStats {
  int64_t current_bytes = 0;
  int64_t peak_bytes = 0;
  int64_t num_allocs = 0;  // allocations made so far
};

// The stream of a CUDA device that first uses an allocation: uploads are written on the copy
// stream, everything else runs on the compute stream. Frees are ordered on the compute stream, so
// a block used on the copy stream must be waited for by the compute stream before it is freed.
enum class StreamUse : uint8_t { compute, copy };

// Raw allocation on a device. Throws y8m::Error on failure; for CUDA the message states the bytes
// requested, the bytes free on the device and the allocator.
void* allocate(size_t bytes, Device device, StreamUse use = StreamUse::compute);
void deallocate(void* ptr, size_t bytes, Device device) noexcept;
// Page-locked host memory (plain aligned memory when no CUDA device is usable).
void* allocate_pinned(size_t bytes);
void deallocate_pinned(void* ptr, size_t bytes) noexcept;

MemoryStats memory_stats(Device device);
void reset_peak_memory(Device device);
// Bytes the CUDA pool keeps cached after frees before returning memory to the driver (default:
// all).
void set_cuda_pool_release_threshold(Device device, uint64_t bytes);
// The allocator a CUDA device uses: "stream-ordered pool (cudaMallocAsync)" or "caching cudaMalloc
// (<why>)". Y8M_CUDA_ALLOCATOR=pool|caching overrides the choice (caching tests the fallback on a
// device that has pools).
std::string cuda_allocator_name(Device device);

// A block of device memory. Tensors share one Storage through shared_ptr; the block is freed
// (returned to the pool) when the last reference goes.
class Storage {
 public:
  enum class Kind { device, pinned, external };
  Storage(size_t bytes, Device device, Kind kind = Kind::device,
          StreamUse use = StreamUse::compute);
  // Wraps memory owned elsewhere (a memory-mapped archive); `release` runs at destruction.
  Storage(void* ptr, size_t bytes, Device device, std::function<void()> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }
  bool pinned() const { return kind_ == Kind::pinned; }

  // Pinned host memory that an asynchronous copy may still be reading: `done` is recorded after
  // the last such copy. A buffer pool reuses the block only when no read is pending; the
  // destructor waits for it before freeing.
  void set_pending_read(std::shared_ptr<Event> done);
  bool read_pending() const;
  void wait_reads() const;

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
  Kind kind_;
  std::function<void()> release_;
  mutable std::mutex pending_mu_;
  std::shared_ptr<Event> pending_read_;
};

}  // namespace y8m::engine
