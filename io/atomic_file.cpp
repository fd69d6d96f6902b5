#include "io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <random>

#include <fmt/format.h>

namespace y8m::io {

namespace fs = std::filesystem;

std::string temp_path_for(const std::string& path) {
  static thread_local std::mt19937 gen(std::random_device{}());
  return fmt::format("{}.tmp-{}-{:08x}", path, static_cast<long long>(::getpid()),
                     static_cast<uint32_t>(gen()));
}

bool parse_temp_name(const std::string& name, std::string* target, int64_t* pid) {
  const size_t at = name.rfind(".tmp-");
  if (at == std::string::npos || at == 0) return false;
  const std::string tail = name.substr(at + 5);
  auto all_of = [](const std::string& s, const char* set) {
    return !s.empty() && s.find_first_not_of(set) == std::string::npos;
  };
  const size_t dash = tail.find('-');
  if (dash == std::string::npos) {
    if (tail.size() != 8 || !all_of(tail, "0123456789abcdef")) return false;
    *pid = 0;
  } else {
    const std::string p = tail.substr(0, dash), r = tail.substr(dash + 1);
    if (p.size() > 18 || !all_of(p, "0123456789") || r.size() != 8 ||
        !all_of(r, "0123456789abcdef"))
      return false;
    *pid = std::stoll(p);
    if (*pid <= 0) return false;
  }
  *target = name.substr(0, at);
  return true;
}

bool process_alive(int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

std::vector<StaleTemp> remove_stale_temps(const std::string& dir,
                                          const std::function<bool(const std::string&)>& owned,
                                          bool exclusive) {
  std::vector<StaleTemp> removed;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string target;
    int64_t pid = 0;
    const std::string name = e.path().filename().string();
    if (!parse_temp_name(name, &target, &pid) || !owned(target)) continue;
    const bool stale = exclusive ? pid == 0 || pid == ::getpid() || !process_alive(pid)
                                 : pid != 0 && !process_alive(pid);
    if (!stale) continue;
    std::error_code ec2;
    const bool is_dir = e.is_directory(ec2);
    const uint64_t bytes = is_dir ? 0 : static_cast<uint64_t>(e.file_size(ec2));
    if (ec2) continue;
    if ((is_dir ? fs::remove_all(e.path(), ec2) > 0 : fs::remove(e.path(), ec2)) && !ec2)
      removed.push_back({e.path().string(), bytes});
  }
  return removed;
}

void sync_dir(const std::string& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace y8m::io
