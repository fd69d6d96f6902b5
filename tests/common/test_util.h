// Helpers shared by test suites: temporary folders, file byte access, error messages, and the
// guard of every CUDA test.
#pragma once

#include "engine/device.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace y8m::testing {

// A fresh empty folder under the system temp dir, removed (recursively) at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);

// Runs f and returns the message of the y8m::Error it throws; "<not a y8m::Error>" for any other
// exception and "<no exception>" when it returns normally (so a test on the message cannot pass by
// accident).
std::string error_of(const std::function<void()>& f);

// Expects f to throw a y8m::Error whose message contains every one of `parts`.
inline void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  const std::string msg = error_of(f);
  for (const std::string& p : parts)
    EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
}
void write_file(const std::string& path, const std::string& bytes);

// Y8M_REQUIRE_CUDA=1 in the environment: a CUDA test fails instead of skipping when no device is
// visible (the GPU check sets it, so no CUDA test can pass there by skipping).
bool cuda_required();

}  // namespace y8m::testing

// First statement of every CUDA test: skips with the reason when no CUDA device is usable, or
// fails (Y8M_REQUIRE_CUDA=1).
#define Y8M_REQUIRE_CUDA()                                                            \
  do {                                                                                \
    if (::y8m::engine::cuda_device_count() == 0) {                                    \
      if (::y8m::testing::cuda_required())                                            \
        FAIL() << "Y8M_REQUIRE_CUDA=1: " << ::y8m::engine::cuda_unavailable_reason(); \
      GTEST_SKIP() << ::y8m::engine::cuda_unavailable_reason();                       \
    }                                                                                 \
  } while (0)
