#include "engine/cuda_allocator.h"

#include "engine/cuda_context.h"
#include "engine/device.h"
#include "engine/error.h"

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace y8m::engine::cuda {

namespace {

constexpr int kMaxDevices = 16;

// A freed block of the caching allocator; `freed` completes when the compute-stream work queued
// before the free has finished.
struct Block {
  void* ptr;
  size_t size;
  cudaEvent_t freed;
};

struct DeviceAllocator {
  std::once_flag once;
  std::atomic<bool> pool{false};
  std::atomic<bool> caching_used{false};  // blocks of the caching allocator may be live
  std::mutex mu;                          // guards everything below
  std::string why_caching;
  std::multimap<size_t, Block> cached;     // free blocks by size
  std::unordered_map<void*, size_t> live;  // caching allocator: block sizes of live pointers
  std::vector<cudaEvent_t> spare_events;
  size_t cached_bytes = 0;
  uint64_t release_threshold = UINT64_MAX;
};

std::array<DeviceAllocator, kMaxDevices>& allocators() {
  static std::array<DeviceAllocator, kMaxDevices> a;
  return a;
}

cudaStream_t stream_for(int device, StreamUse use) {
  return use == StreamUse::copy ? copy_stream(device) : compute_stream(device);
}

// Says once per device, on stderr, that the fallback is in use and why.
void use_caching(DeviceAllocator& a, int device, const std::string& why) {
  a.why_caching = why;
  a.pool.store(false);
  std::fprintf(stderr, "y8m: cuda:%d: %s; using the caching cudaMalloc allocator\n", device,
               why.c_str());
}

// Picks the allocator of a device: the pool where it is supported and set up, else the cache.
DeviceAllocator& allocator(int device) {
  Y8M_CHECK(device >= 0 && device < kMaxDevices, "memory: bad CUDA device {}", device);
  DeviceAllocator& a = allocators()[static_cast<size_t>(device)];
  std::call_once(a.once, [&] {
    const char* env = std::getenv("Y8M_CUDA_ALLOCATOR");
    const std::string want = env != nullptr ? env : "";
    Y8M_CHECK(want.empty() || want == "pool" || want == "caching",
              "Y8M_CUDA_ALLOCATOR: expected 'pool' or 'caching', got '{}'", want);
    std::lock_guard<std::mutex> l(a.mu);
    if (want == "caching") return use_caching(a, device, "Y8M_CUDA_ALLOCATOR=caching");
    int supported = 0;
    cudaError_t err = cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, device);
    if (err != cudaSuccess) {
      cudaGetLastError();
      supported = 0;
    }
    if (supported == 0)
      return use_caching(a, device, "memory pools are not supported by this device or driver");
    cudaMemPool_t pool;
    uint64_t threshold = UINT64_MAX;  // keep freed blocks cached: steps reuse the same sizes
    err = cudaDeviceGetDefaultMemPool(&pool, device);
    if (err == cudaSuccess)
      err = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold);
    if (err != cudaSuccess) {
      cudaGetLastError();
      return use_caching(a, device,
                         fmt::format("memory pool setup failed ({})", cudaGetErrorString(err)));
    }
    a.pool.store(true);
  });
  return a;
}

// Sizes in 8 steps per power of two (at least 512 bytes), so steps that ask for slightly
// different sizes share blocks and at most 1/8 is wasted.
size_t round_size(size_t bytes) {
  size_t step = 512;
  while (step * 16 <= bytes) step *= 2;
  return (bytes + step - 1) / step * step;
}

// Returns every cached block to the driver (caller holds a.mu). cudaFree waits for the device.
void release_cached(DeviceAllocator& a, uint64_t keep) {
  if (a.cached_bytes <= keep) return;
  for (auto it = a.cached.begin(); it != a.cached.end() && a.cached_bytes > keep;) {
    if (it->second.freed != nullptr) cudaEventSynchronize(it->second.freed);
    cudaFree(it->second.ptr);
    if (it->second.freed != nullptr) a.spare_events.push_back(it->second.freed);
    a.cached_bytes -= it->second.size;
    it = a.cached.erase(it);
  }
  cudaGetLastError();
}

[[noreturn]] void fail_oom(int device, size_t bytes, cudaError_t err, int64_t in_use,
                           const std::string& allocator) {
  size_t free_b = 0, total_b = 0;
  cudaMemGetInfo(&free_b, &total_b);
  cudaGetLastError();
  Y8M_FAIL(
      "CUDA out of memory on cuda:{}: requested {} bytes, {} bytes free of {} ({}; allocator: {}; "
      "in use by y8m {})",
      device, bytes, free_b, total_b, cudaGetErrorString(err), allocator, in_use);
}

constexpr const char* kPoolDescription = "stream-ordered pool (cudaMallocAsync)";
// The caller holds a.mu.
std::string caching_description(const DeviceAllocator& a) {
  return fmt::format("caching cudaMalloc ({})", a.why_caching);
}

void* caching_allocate(DeviceAllocator& a, int device, size_t bytes, StreamUse use,
                       int64_t in_use) {
  const size_t size = round_size(bytes);
  std::lock_guard<std::mutex> l(a.mu);
  a.caching_used.store(true);
  auto it = a.cached.lower_bound(size);
  if (it != a.cached.end() && it->first <= size + size / 4) {
    const Block b = it->second;
    a.cached.erase(it);
    a.cached_bytes -= b.size;
    a.live.emplace(b.ptr, b.size);
    if (b.freed != nullptr) {
      // The compute stream is in order with the earlier users; the copy stream must wait.
      if (use == StreamUse::copy) Y8M_CUDA_CHECK(cudaStreamWaitEvent(copy_stream(device), b.freed));
      a.spare_events.push_back(b.freed);
    }
    return b.ptr;
  }
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, size);
  if (err != cudaSuccess) {
    cudaGetLastError();
    release_cached(a, 0);  // cached blocks of other sizes may make room
    err = cudaMalloc(&p, size);
  }
  if (err != cudaSuccess) {
    cudaGetLastError();
    fail_oom(device, bytes, err, in_use, caching_description(a));
  }
  a.live.emplace(p, size);
  return p;
}

void caching_free(DeviceAllocator& a, int device, void* ptr, size_t size) {
  cudaEvent_t e = nullptr;
  if (!a.spare_events.empty()) {
    e = a.spare_events.back();
    a.spare_events.pop_back();
  } else if (cudaEventCreateWithFlags(&e, cudaEventDisableTiming) != cudaSuccess) {
    e = nullptr;
  }
  cudaStream_t s = compute_stream(device);
  if (e == nullptr || cudaEventRecord(e, s) != cudaSuccess) {
    // No event: wait here, so the block is free of queued work before anyone reuses it.
    cudaGetLastError();
    if (e != nullptr) a.spare_events.push_back(e);
    e = nullptr;
    cudaStreamSynchronize(s);
    cudaGetLastError();
  }
  a.cached.emplace(size, Block{ptr, size, e});
  a.cached_bytes += size;
  if (a.cached_bytes > a.release_threshold) release_cached(a, a.release_threshold);
}

}  // namespace

void* device_allocate(int device, size_t bytes, StreamUse use, int64_t in_use) {
  DeviceAllocator& a = allocator(device);
  if (a.pool.load()) {
    void* p = nullptr;
    const cudaError_t err = cudaMallocAsync(&p, bytes, stream_for(device, use));
    if (err == cudaSuccess) return p;
    cudaGetLastError();  // not sticky: clear it so the next kernel is not blamed
    if (err != cudaErrorNotSupported) fail_oom(device, bytes, err, in_use, kPoolDescription);
    {
      std::lock_guard<std::mutex> l(a.mu);
      if (a.pool.load()) use_caching(a, device, "cudaMallocAsync is not supported here");
    }
  }
  return caching_allocate(a, device, bytes, use, in_use);
}

void device_free(int device, void* ptr) noexcept {
  try {
    DeviceAllocator& a = allocators()[static_cast<size_t>(device)];
    if (a.caching_used.load()) {
      std::lock_guard<std::mutex> l(a.mu);
      auto it = a.live.find(ptr);
      if (it != a.live.end()) {
        const size_t size = it->second;
        a.live.erase(it);
        caching_free(a, device, ptr, size);
        return;
      }
    }
    // Stream-ordered free: safe while kernels using the block are still queued on the compute
    // stream (and uploads on the copy stream were waited for by it).
    const cudaError_t err = cudaFreeAsync(ptr, compute_stream(device));
    if (err != cudaSuccess) {
      cudaGetLastError();  // clear it here rather than let the next launch report it
      static std::atomic<bool> warned{false};
      if (!warned.exchange(true))
        std::fprintf(stderr, "y8m: cudaFreeAsync on cuda:%d failed: %s (block leaked)\n", device,
                     cudaGetErrorString(err));
    }
  } catch (...) {
    cudaGetLastError();  // destructors never throw
  }
}

void set_release_threshold(int device, uint64_t bytes) {
  DeviceAllocator& a = allocator(device);
  if (a.pool.load()) {
    cudaMemPool_t pool;
    Y8M_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
    Y8M_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &bytes));
  }
  std::lock_guard<std::mutex> l(a.mu);
  a.release_threshold = bytes;
  release_cached(a, bytes);
}

std::string allocator_description(int device) {
  DeviceAllocator& a = allocator(device);
  if (a.pool.load()) return kPoolDescription;
  std::lock_guard<std::mutex> l(a.mu);
  return caching_description(a);
}

}  // namespace y8m::engine::cuda
