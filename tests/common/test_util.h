// Helpers shared by test suites: temporary folders and file byte access.
#pragma once

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

}  // namespace y8m::testing
