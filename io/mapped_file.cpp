#include "io/mapped_file.h"

#include "engine/error.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace y8m::io {

MappedFile map_file(const std::string& path, bool sequential) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  Y8M_CHECK(fd >= 0, "{}: cannot open: {}", path, std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    Y8M_FAIL("{}: not a regular file", path);
  }
  MappedFile f;
  f.size = static_cast<uint64_t>(st.st_size);
  if (f.size > 0) {
    void* m =
        ::mmap(nullptr, f.size, PROT_READ, MAP_PRIVATE | (sequential ? MAP_POPULATE : 0), fd, 0);
    if (m == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      Y8M_FAIL("{}: cannot map {} bytes: {}", path, f.size, std::strerror(err));
    }
    if (sequential) ::madvise(m, f.size, MADV_SEQUENTIAL | MADV_WILLNEED);
    const uint64_t size = f.size;
    f.data = std::shared_ptr<const uint8_t>(
        static_cast<const uint8_t*>(m),
        [size](const uint8_t* p) { ::munmap(const_cast<uint8_t*>(p), size); });
  }
  ::close(fd);
  return f;
}

}  // namespace y8m::io
