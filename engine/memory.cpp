#include "engine/memory.h"

#include "engine/error.h"

#include <malloc.h>
#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>

#ifdef Y8M_WITH_CUDA
#include "engine/cuda_context.h"
#endif

namespace y8m::engine {

namespace {

constexpr int kMaxDevices = 16;

// Counters for one device slot (slot 0 is the CPU, slot 1+i is cuda:i). Atomics: reader threads
// allocate batches while the training thread allocates activations.
struct Counters {
  std::atomic<int64_t> current{0};
  std::atomic<int64_t> peak{0};
  std::atomic<int64_t> allocs{0};
};
std::array<Counters, kMaxDevices + 1>& counters() {
  static std::array<Counters, kMaxDevices + 1> c;
  return c;
}
Counters& slot(Device d) {
  Y8M_CHECK(d.is_cpu() || (d.index >= 0 && d.index < kMaxDevices), "memory: bad device {}",
            d.str());
  return counters()[d.is_cpu() ? 0 : 1 + d.index];
}
void count_alloc(Device d, size_t bytes) {
  Counters& c = slot(d);
  const int64_t now =
      c.current.fetch_add(static_cast<int64_t>(bytes)) + static_cast<int64_t>(bytes);
  int64_t peak = c.peak.load();
  while (now > peak && !c.peak.compare_exchange_weak(peak, now)) {
  }
  c.allocs.fetch_add(1);
}
void count_free(Device d, size_t bytes) { slot(d).current.fetch_sub(static_cast<int64_t>(bytes)); }

size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

// Keeps freed host blocks in the process heap instead of returning them to the kernel: training
// allocates and frees the same large activation and gradient buffers every step, and glibc's
// default (mmap for blocks above a few MB, unmapped at free) would page-fault and zero them again
// each time.
void tune_host_allocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  });
}

#ifdef Y8M_WITH_CUDA
void init_pool(int device) {
  static std::array<std::atomic<bool>, kMaxDevices> done{};
  if (done[device].exchange(true)) return;
  cudaMemPool_t pool;
  Y8M_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t threshold = UINT64_MAX;  // keep freed blocks cached: steps reuse the same sizes
  Y8M_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
}
#endif

}  // namespace

void* allocate(size_t bytes, Device device) {
  if (bytes == 0) bytes = 1;  // distinct non-null pointers for empty tensors
  if (device.is_cpu()) {
    tune_host_allocator();
    void* p = std::aligned_alloc(kCpuAlignment, round_up(bytes, kCpuAlignment));
    Y8M_CHECK(p != nullptr, "memory: out of host memory allocating {} bytes", bytes);
    count_alloc(device, bytes);
    return p;
  }
#ifdef Y8M_WITH_CUDA
  Y8M_CHECK(device.index < cuda_device_count(), "memory: {} does not exist ({} CUDA devices)",
            device.str(), cuda_device_count());
  cuda::set_device(device.index);
  init_pool(device.index);
  void* p = nullptr;
  cudaError_t err = cudaMallocAsync(&p, bytes, cuda::compute_stream(device.index));
  if (err != cudaSuccess) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    Y8M_FAIL(
        "CUDA out of memory on {}: requested {} bytes, {} bytes free of {} ({}; in use by y8m {})",
        device.str(), bytes, free_b, total_b, cudaGetErrorString(err), slot(device).current.load());
  }
  count_alloc(device, bytes);
  return p;
#else
  Y8M_FAIL("memory: cannot allocate on {}: {}", device.str(), cuda_unavailable_reason());
#endif
}

void deallocate(void* ptr, size_t bytes, Device device) noexcept {
  if (ptr == nullptr) return;
  if (bytes == 0) bytes = 1;
  if (device.is_cpu()) {
    std::free(ptr);
  } else {
#ifdef Y8M_WITH_CUDA
    // Stream-ordered free: safe while kernels using the block are still queued on the compute
    // stream.
    cudaSetDevice(device.index);
    cudaFreeAsync(ptr, cuda::compute_stream(device.index));
#endif
  }
  count_free(device, bytes);
}

void* allocate_pinned(size_t bytes) {
  if (bytes == 0) bytes = 1;
#ifdef Y8M_WITH_CUDA
  if (cuda_device_count() > 0) {
    void* p = nullptr;
    cudaError_t err = cudaMallocHost(&p, bytes);
    Y8M_CHECK(err == cudaSuccess, "memory: cannot allocate {} bytes of pinned host memory: {}",
              bytes, cudaGetErrorString(err));
    count_alloc(Device::cpu(), bytes);
    return p;
  }
#endif
  return allocate(bytes, Device::cpu());
}

void deallocate_pinned(void* ptr, size_t bytes) noexcept {
#ifdef Y8M_WITH_CUDA
  if (cuda_device_count() > 0) {
    cudaFreeHost(ptr);
    count_free(Device::cpu(), bytes == 0 ? 1 : bytes);
    return;
  }
#endif
  deallocate(ptr, bytes, Device::cpu());
}

MemoryStats memory_stats(Device device) {
  Counters& c = slot(device);
  return {c.current.load(), c.peak.load(), c.allocs.load()};
}

void reset_peak_memory(Device device) {
  Counters& c = slot(device);
  c.peak.store(c.current.load());
}

void set_cuda_pool_release_threshold(Device device, uint64_t bytes) {
#ifdef Y8M_WITH_CUDA
  Y8M_CHECK(device.is_cuda(), "memory: release threshold applies to CUDA devices, not {}",
            device.str());
  init_pool(device.index);
  cudaMemPool_t pool;
  Y8M_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device.index));
  Y8M_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &bytes));
#else
  Y8M_FAIL("memory: {}", cuda_unavailable_reason());
#endif
}

Storage::Storage(size_t bytes, Device device, Kind kind)
    : bytes_(bytes), device_(device), kind_(kind) {
  Y8M_ASSERT(kind != Kind::external);
  ptr_ = kind == Kind::pinned ? allocate_pinned(bytes) : allocate(bytes, device);
}

Storage::Storage(void* ptr, size_t bytes, Device device, std::function<void()> release)
    : ptr_(ptr),
      bytes_(bytes),
      device_(device),
      kind_(Kind::external),
      release_(std::move(release)) {}

Storage::~Storage() {
  switch (kind_) {
    case Kind::device:
      deallocate(ptr_, bytes_, device_);
      break;
    case Kind::pinned:
      deallocate_pinned(ptr_, bytes_);
      break;
    case Kind::external:
      if (release_) release_();
      break;
  }
}

}  // namespace y8m::engine
