#include "engine/workspace.h"

#include "engine/error.h"

#include <map>

namespace y8m::engine {

namespace {
constexpr size_t kAlign = 256;
size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

void* Workspace::get(size_t bytes) {
  bytes = align_up(bytes == 0 ? 1 : bytes);
  if (main_ && used_ + bytes <= capacity_) {
    void* p = static_cast<char*>(main_->data()) + used_;
    used_ += bytes;
    return p;
  }
  // Outgrown: serve this request from its own block; reset() will size main_ to the whole step.
  overflow_.push_back(std::make_shared<Storage>(bytes, device_));
  overflow_bytes_ += bytes;
  return overflow_.back()->data();
}

void Workspace::reset() {
  if (!overflow_.empty()) {
    const size_t want = used_ + overflow_bytes_;
    overflow_.clear();
    main_.reset();
    main_ = std::make_shared<Storage>(want, device_);
    capacity_ = want;
    overflow_bytes_ = 0;
  }
  used_ = 0;
}

Workspace& thread_workspace(Device device) {
  thread_local std::map<std::pair<int, int>, std::unique_ptr<Workspace>> spaces;
  auto key = std::make_pair(static_cast<int>(device.type), device.is_cpu() ? 0 : device.index);
  auto& ws = spaces[key];
  if (!ws) ws = std::make_unique<Workspace>(device);
  return *ws;
}

}  // namespace y8m::engine
