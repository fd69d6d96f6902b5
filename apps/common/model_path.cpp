#include "apps/common/model_path.h"

#include <filesystem>

namespace y8m::apps {

namespace fs = std::filesystem;

namespace {
bool is_file(const std::string& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

std::string resolve_model_path(const std::string& path) {
  if (path.empty() || is_file(path)) return path;
  if (is_file(path + ".y8m")) return path + ".y8m";
  if (ends_with(path, ".meta")) {
    const std::string y8m = path.substr(0, path.size() - 5) + ".y8m";
    if (is_file(y8m)) return y8m;
  }
  return path;
}

std::string output_model_path(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  if (name.empty() || name.find('.') != std::string::npos) return path;
  return path + ".y8m";
}

}  // namespace y8m::apps
