#include "pipeline/train_dir.h"

#include "engine/error.h"
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace y8m::pipeline {

namespace fs = std::filesystem;

namespace {
bool only_lock_file(const std::string& dir) {
  std::error_code ec;
  int lock_files = 0;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename() != TrainDirLock::kFileName) return false;
    ++lock_files;
  }
  return !ec && lock_files == 1;
}

std::string read_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  std::string s = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() || s.find_first_not_of("0123456789") != std::string::npos ? "unknown" : s;
}
}  // namespace

bool is_train_dir_output(const std::string& name) {
  static const std::string kCkpt = "model.ckpt-", kExt = ".y8m";
  const bool ckpt = name.size() > kCkpt.size() + kExt.size() && name.rfind(kCkpt, 0) == 0 &&
                    name.compare(name.size() - kExt.size(), kExt.size(), kExt) == 0;
  return ckpt || name == "inference_model.y8m";
}

TrainDirLock::TrainDirLock(const std::string& dir) : dir_(dir) {
  std::error_code ec;
  const bool existed = fs::exists(dir, ec);
  if (!existed) {
    fs::create_directories(dir, ec);
    Y8M_CHECK(!ec, "--train_dir: cannot create '{}': {}", dir, ec.message());
    created_ = true;
  } else {
    Y8M_CHECK(fs::is_directory(dir, ec), "--train_dir: '{}' is not a folder", dir);
  }
  // An EMA run needs a new train_dir: one that did not exist, or holds only the lock file that a
  // refused or killed run of this kind left.
  fresh_ = created_ || only_lock_file(dir);
  const std::string path = (fs::path(dir) / kFileName).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int err = errno;
    if (created_) fs::remove_all(dir, ec);
    Y8M_FAIL("--train_dir: cannot create the lock file {}: {}", path, std::strerror(err));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string holder = read_pid(fd_);
    ::close(fd_);
    fd_ = -1;
    Y8M_CHECK(err != EWOULDBLOCK,
              "--train_dir: '{}' is in use by another y8m-train (pid {}, holding {}); wait for it "
              "to finish or choose another train_dir",
              dir, holder, path);
    Y8M_FAIL("--train_dir: cannot lock {}: {}", path, std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The lock holds without the pid; a second run's message says "pid unknown".
  }
}

TrainDirLock::~TrainDirLock() {
  if (fd_ < 0) return;
  std::error_code ec;
  if (created_ && !keep_ && only_lock_file(dir_)) {
    fs::remove(fs::path(dir_) / kFileName, ec);
    fs::remove(dir_, ec);
  }
  ::close(fd_);  // releases the flock
}

void TrainDirLock::clear() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.path().filename() == kFileName) continue;
    std::error_code ec2;
    fs::remove_all(e.path(), ec2);
    Y8M_CHECK(!ec2, "--start_new_model: cannot remove {}: {}", e.path().string(), ec2.message());
  }
  Y8M_CHECK(!ec, "--start_new_model: cannot list '{}': {}", dir_, ec.message());
  fresh_ = true;
}

void TrainDirLock::remove_stale_temps(std::FILE* log) const {
  auto report = [&](const std::vector<io::StaleTemp>& removed) {
    for (const auto& t : removed)
      std::fprintf(log, "removed %s (%.1f MB), left by a writer that was killed\n", t.path.c_str(),
                   static_cast<double>(t.bytes) / 1e6);
  };
  // Checkpoints: only the lock holder writes them, so any temporary not of a live pid is stale.
  report(io::remove_stale_temps(
      dir_,
      [](const std::string& t) { return t != "inference_model.y8m" && is_train_dir_output(t); },
      true));
  // inference_model.y8m: written by y8m-eval, which takes no lock; only dead writers' files go.
  report(io::remove_stale_temps(
      dir_, [](const std::string& t) { return t == "inference_model.y8m"; }, false));
}

}  // namespace y8m::pipeline
