#include "engine/error.h"

#include <cstring>

namespace y8m::detail {

namespace {
// Only the file's base name: messages stay one line and do not leak build paths.
const char* base_name(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}
}  // namespace

void throw_error(const char* file, int line, const std::string& msg) {
  (void)file;
  (void)line;
  throw Error(msg);
}

void throw_assert(const char* file, int line, const char* cond, const std::string& msg) {
  std::string m =
      fmt::format("internal error at {}:{}: assertion '{}' failed", base_name(file), line, cond);
  if (!msg.empty()) m += ": " + msg;
  throw Error(m);
}

}  // namespace y8m::detail
