#include "engine/memory.h"

#include "engine/error.h"
#include "engine/stream.h"

#include <malloc.h>
#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>

#ifdef Y8M_WITH_CUDA
#include "engine/cuda_allocator.h"
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
// A usable CUDA device index, or an error naming why there is none.
void check_cuda_device(Device device) {
  const int n = cuda_device_count();
  if (device.index < n) return;
  if (n == 0)
    Y8M_FAIL("memory: cannot allocate on {}: {}", device.str(), cuda_unavailable_reason());
  Y8M_FAIL("memory: {} does not exist ({} CUDA devices)", device.str(), n);
}
#endif

}  // namespace

void* allocate(size_t bytes, Device device, StreamUse use) {
  if (bytes == 0) bytes = 1;  // distinct non-null pointers for empty tensors
  if (device.is_cpu()) {
    tune_host_allocator();
    void* p = std::aligned_alloc(kCpuAlignment, round_up(bytes, kCpuAlignment));
    Y8M_CHECK(p != nullptr, "memory: out of host memory allocating {} bytes", bytes);
    count_alloc(device, bytes);
    return p;
  }
#ifdef Y8M_WITH_CUDA
  check_cuda_device(device);
  cuda::set_device(device.index);
  void* p = cuda::device_allocate(device.index, bytes, use, slot(device).current.load());
  count_alloc(device, bytes);
  return p;
#else
  (void)use;
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
    cudaSetDevice(device.index);
    cuda::device_free(device.index, ptr);
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
  check_cuda_device(device);
  cuda::set_device(device.index);
  cuda::set_release_threshold(device.index, bytes);
#else
  (void)device;
  (void)bytes;
  Y8M_FAIL("memory: {}", cuda_unavailable_reason());
#endif
}

std::string cuda_allocator_name(Device device) {
  Y8M_CHECK(device.is_cuda(), "memory: {} is not a CUDA device", device.str());
#ifdef Y8M_WITH_CUDA
  check_cuda_device(device);
  cuda::set_device(device.index);
  return cuda::allocator_description(device.index);
#else
  Y8M_FAIL("memory: {}", cuda_unavailable_reason());
#endif
}

Storage::Storage(size_t bytes, Device device, Kind kind, StreamUse use)
    : bytes_(bytes), device_(device), kind_(kind) {
  Y8M_ASSERT(kind != Kind::external);
  ptr_ = kind == Kind::pinned ? allocate_pinned(bytes) : allocate(bytes, device, use);
}

Storage::Storage(void* ptr, size_t bytes, Device device, std::function<void()> release)
    : ptr_(ptr),
      bytes_(bytes),
      device_(device),
      kind_(Kind::external),
      release_(std::move(release)) {}

void Storage::set_pending_read(std::shared_ptr<Event> done) {
  std::lock_guard<std::mutex> l(pending_mu_);
  // Copies from one buffer are queued on one device's copy stream, so the newest event completes
  // after the older ones; a copy to another device first waits for the older copy.
  if (pending_read_ != nullptr && pending_read_->device_index() != done->device_index())
    pending_read_->synchronize();
  pending_read_ = std::move(done);
}

bool Storage::read_pending() const {
  std::lock_guard<std::mutex> l(pending_mu_);
  return pending_read_ != nullptr && !pending_read_->done();
}

void Storage::wait_reads() const {
  std::shared_ptr<Event> e;
  {
    std::lock_guard<std::mutex> l(pending_mu_);
    e = pending_read_;
  }
  if (e != nullptr) e->synchronize();
}

Storage::~Storage() {
  if (pending_read_ != nullptr) {
    try {
      pending_read_->synchronize();  // the copy still reads this block
    } catch (...) {
    }
  }
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
