// Streams and events. Every CUDA device gets one compute stream and one copy stream, created on
// first use; kernels never run on the legacy default stream. On the CPU these are no-ops.
#pragma once
#include "engine/engine_layer.h"

#include "engine/device.h"

namespace y8m::engine {

// Waits until all work queued on the device's streams has finished (no-op on the CPU).
void synchronize(Device device);

// An opaque recorded point on a device's compute or copy stream.
class Event {
 public:
  Event() = default;
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  // Records the event on the device's compute stream (or copy stream when `copy_stream`).
  void record(Device device, bool copy_stream = false);
  // Makes the device's compute stream wait for this event (no host blocking).
  void wait_on_compute(Device device);
  void synchronize();
  // True when the recorded work has completed (or nothing was recorded); never blocks.
  bool done() const;
  int device_index() const { return device_; }  // -1 before the first record
  // Milliseconds between two recorded events (both on the same device).
  static float elapsed_ms(const Event& start, const Event& end);

 private:
  [[maybe_unused]] void* handle_ = nullptr;  // unused in CPU-only builds
  int device_ = -1;
};

}  // namespace y8m::engine
