// y8m_gpu_probe: the first step of the GPU check (scripts/gpu-check.sh run), a few seconds long. It
// prints what the machine offers (driver and runtime versions, each device's name, SMs, memory and
// memory-pool support), which allocator y8m picked, then runs one fill kernel, a pinned upload on
// the copy stream and a download, checking the values. Exit status: 0 when all of it worked, 1 when
// no CUDA device is usable (the reason is printed), 2 when a step failed.
#include "engine/device.h"
#include "engine/memory.h"
#include "engine/stream.h"
#include "engine/tensor.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <vector>

#ifdef Y8M_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace {

using y8m::Device;
using y8m::DType;
using y8m::Tensor;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

#ifdef Y8M_WITH_CUDA
void print_devices() {
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  std::printf("driver supports CUDA %d.%d, runtime CUDA %d.%d\n", driver / 1000, driver % 1000 / 10,
              runtime / 1000, runtime % 1000 / 10);
  for (int d = 0; d < y8m::engine::cuda_device_count(); ++d) {
    cudaDeviceProp p{};
    int pools = 0;
    cudaGetDeviceProperties(&p, d);
    cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, d);
    std::printf("cuda:%d %s, sm_%d%d, %d SMs, %.1f GiB, %.0f MB L2, memory pools %s\n", d, p.name,
                p.major, p.minor, p.multiProcessorCount,
                static_cast<double>(p.totalGlobalMem) / (1 << 30),
                static_cast<double>(p.l2CacheSize) / 1e6, pools ? "supported" : "NOT supported");
  }
}
#endif

// One kernel, one upload from pinned memory (copy stream) and one download, checked.
int smoke(Device gpu) {
  std::printf("allocator on %s: %s\n", gpu.str().c_str(),
              y8m::engine::cuda_allocator_name(gpu).c_str());
  auto t0 = Clock::now();
  const Tensor filled = Tensor::full({1 << 20}, 3.0, DType::f32, gpu);
  const std::vector<float> back = filled.to_vector<float>();
  for (float v : back)
    if (v != 3.f) {
      std::printf("FAIL: fill kernel wrote %g, expected 3\n", static_cast<double>(v));
      return 2;
    }
  std::printf("fill kernel + download of 4 MB: %.1f ms (first launch included)\n", ms_since(t0));
  const int64_t n = int64_t{64} << 20;  // 64 MiB of u8
  Tensor pinned = Tensor::empty({n}, DType::u8, Device::cpu(), /*pinned=*/true);
  for (int64_t i = 0; i < n; ++i) pinned.data<uint8_t>()[i] = static_cast<uint8_t>(i * 7);
  t0 = Clock::now();
  const Tensor up = pinned.to(gpu);
  const bool pending = pinned.host_read_pending();
  pinned.wait_host_reads();
  const double up_ms = ms_since(t0);
  const std::vector<uint8_t> down = up.to_vector<uint8_t>();
  for (int64_t i = 0; i < n; ++i)
    if (down[static_cast<size_t>(i)] != static_cast<uint8_t>(i * 7)) {
      std::printf("FAIL: upload byte %lld differs\n", static_cast<long long>(i));
      return 2;
    }
  std::printf(
      "pinned upload of 64 MiB on the copy stream: %.2f ms (%.1f GB/s), pending after "
      "to(): %s\n",
      up_ms, static_cast<double>(n) / up_ms / 1e6, pending ? "yes" : "no (already done)");
  const y8m::engine::MemoryStats s = y8m::engine::memory_stats(gpu);
  std::printf("device memory held by y8m: %lld bytes (peak %lld)\n",
              static_cast<long long>(s.current_bytes), static_cast<long long>(s.peak_bytes));
  return 0;
}

}  // namespace

int main() {
  const auto t0 = Clock::now();
  const int n = y8m::engine::cuda_device_count();
  if (n == 0) {
    std::printf("no usable CUDA device: %s\n", y8m::engine::cuda_unavailable_reason().c_str());
    return 1;
  }
  int rc = 0;
  try {
#ifdef Y8M_WITH_CUDA
    print_devices();
#endif
    rc = smoke(Device::cuda(0));
  } catch (const std::exception& e) {
    std::printf("FAIL: %s\n", e.what());
    rc = 2;
  }
  std::printf("probe %s in %.0f ms\n", rc == 0 ? "ok" : "FAILED", ms_since(t0));
  return rc;
}
