#include "pipeline/output_folder.h"

#include "engine/error.h"
#include "io/atomic_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace y8m::pipeline {

namespace fs = std::filesystem;

OutputFolder::OutputFolder(const std::string& path, const std::string& flag)
    : path_(path), flag_(flag) {
  Y8M_CHECK(!path.empty(), "{}: required", flag);
  std::error_code ec;
  Y8M_CHECK(!fs::exists(path, ec), "{}: '{}' already exists", flag, path);
  while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  // Temporary folders that killed runs left for this same path go first (their writers are gone).
  const fs::path p(path_);
  io::remove_stale_temps(
      p.has_parent_path() ? p.parent_path().string() : ".",
      [&](const std::string& target) { return target == p.filename().string(); }, false);
  temp_ = io::temp_path_for(path_);
  fs::create_directories(temp_, ec);
  Y8M_CHECK(!ec, "{}: cannot create '{}': {}", flag, temp_, ec.message());
}

OutputFolder::~OutputFolder() {
  if (committed_) return;
  std::error_code ec;  // destructors never throw
  fs::remove_all(temp_, ec);
}

void OutputFolder::commit() {
  Y8M_ASSERT(!committed_, "{}: committed twice", path_);
  // RENAME_NOREPLACE: a plain rename would silently replace an empty folder created meanwhile.
  int rc = ::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE);
  if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {  // a filesystem without the flag
    std::error_code ec;
    Y8M_CHECK(!fs::exists(path_, ec), "{}: '{}' appeared while it was written", flag_, path_);
    rc = ::rename(temp_.c_str(), path_.c_str());
  }
  Y8M_CHECK(rc == 0, "{}: cannot rename '{}' to '{}': {}", flag_, temp_, path_,
            std::strerror(errno));
  committed_ = true;
  // The rename reaches the disk with the parent folder (best effort, as the files were synced).
  const std::string parent = fs::path(path_).parent_path().string();
  const int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace y8m::pipeline
