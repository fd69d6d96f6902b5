// Devices: the CPU and CUDA devices by ordinal. A CUDA device exists only when the project was
// built with CUDA (Y8M_WITH_CUDA) and the driver reports one; tests ask cuda_device_count() and
// skip otherwise.
#pragma once
#include "engine/engine_layer.h"

#include <string>

namespace y8m::engine {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::CUDA, i}; }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const {
    return type == o.type && (is_cpu() || index == o.index);
  }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;  // "cpu", "cuda:0"
};

// Parses "cpu", "cuda", "cuda:1", "gpu"; throws naming the string otherwise.
Device device_from_name(const std::string& name);

bool cuda_built();        // compiled with the CUDA backend
int cuda_device_count();  // 0 when not built or no device/driver
// The best default for apps: cuda:0 when one is present, else the CPU.
Device default_device();
// Why CUDA cannot be used, for GTEST_SKIP messages ("built without CUDA", "no CUDA device: ...").
std::string cuda_unavailable_reason();

}  // namespace y8m::engine
