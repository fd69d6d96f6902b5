#include "engine/device.h"

#include "engine/error.h"

#include <cstdlib>

#ifdef Y8M_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace y8m::engine {

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : fmt::format("cuda:{}", index);
}

Device device_from_name(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  if (name == "cuda" || name == "gpu") return Device::cuda(0);
  for (const char* prefix : {"cuda:", "gpu:"}) {
    const std::string p(prefix);
    if (name.rfind(p, 0) == 0 && name.size() > p.size()) {
      const std::string num = name.substr(p.size());
      size_t used = 0;
      int idx = -1;
      // Digits only: std::stoi alone would also accept " 1" and "+1".
      if (num.find_first_not_of("0123456789") == std::string::npos) {
        try {
          idx = std::stoi(num, &used);
        } catch (const std::exception&) {
          used = 0;
        }
      }
      Y8M_CHECK(used == num.size() && idx >= 0, "device: bad device name '{}'", name);
      return Device::cuda(idx);
    }
  }
  Y8M_FAIL("device: unknown device '{}' (expected cpu, cuda or cuda:N)", name);
}

bool cuda_built() {
#ifdef Y8M_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef Y8M_WITH_CUDA
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "no driver" error
      return 0;
    }
    return n;
  }();
  return count;
#else
  return 0;
#endif
}

Device default_device() { return cuda_device_count() > 0 ? Device::cuda(0) : Device::cpu(); }

std::string cuda_unavailable_reason() {
#ifdef Y8M_WITH_CUDA
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err == cudaSuccess && n > 0) return std::string();
  cudaGetLastError();
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);  // 0 when no driver is loaded
  cudaRuntimeGetVersion(&runtime);
  cudaGetLastError();
  auto version = [](int v) { return fmt::format("{}.{}", v / 1000, v % 1000 / 10); };
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  const std::string mask =
      visible != nullptr ? fmt::format(" (CUDA_VISIBLE_DEVICES='{}')", visible) : std::string();
  if (err == cudaSuccess || err == cudaErrorNoDevice)
    return "no CUDA device: the driver sees no device" + mask;
  if (err == cudaErrorInsufficientDriver) {
    if (driver == 0) return "no CUDA device: no NVIDIA driver is loaded";
    return fmt::format(
        "no CUDA device: the NVIDIA driver is too old (it supports CUDA {}, y8m was built with "
        "CUDA {})",
        version(driver), version(runtime));
  }
  return fmt::format("no CUDA device: {} ({}){}", cudaGetErrorString(err), cudaGetErrorName(err),
                     mask);
#else
  return "y8m was built without CUDA (nvcc not found at configure time)";
#endif
}

}  // namespace y8m::engine
