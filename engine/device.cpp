#include "engine/device.h"

#include "engine/error.h"

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
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return fmt::format("no CUDA device: {}", cudaGetErrorString(err));
  }
  return n > 0 ? std::string() : std::string("no CUDA device present");
#else
  return "y8m was built without CUDA (nvcc not found at configure time)";
#endif
}

}  // namespace y8m::engine
