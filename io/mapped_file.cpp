#include "io/mapped_file.h"

#include "engine/error.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
    void* m = ::mmap(nullptr, f.size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      // ENOMEM: no address space or memory for the mapping (ulimit -v, overcommit), not a bad file.
      Y8M_CHECK(err != ENOMEM,
                "out of memory: mapping the {} bytes of {} failed (mmap: ENOMEM; check ulimit -v "
                "and free memory; the file itself is not at fault)",
                f.size, path);
      Y8M_FAIL("{}: cannot map {} bytes: {}", path, f.size, std::strerror(err));
    }
    ::madvise(m, f.size, sequential ? MADV_SEQUENTIAL : MADV_RANDOM);  // advice only: may fail
    const uint64_t size = f.size;
    f.data = std::shared_ptr<const uint8_t>(
        static_cast<const uint8_t*>(m),
        [size](const uint8_t* p) { ::munmap(const_cast<uint8_t*>(p), size); });
  }
  ::close(fd);
  return f;
}

namespace {

// Applies `advice` to the pages covering [offset, offset + length), clamped to the file.
void advise(const MappedFile& file, uint64_t offset, uint64_t length, int advice) {
  if (!file.data || offset >= file.size) return;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t begin = offset / page * page;
  const uint64_t end = std::min(file.size, offset + length);
  ::madvise(const_cast<uint8_t*>(file.data.get()) + begin, end - begin, advice);
}

}  // namespace

void prefetch(const MappedFile& file, uint64_t offset, uint64_t length) {
  advise(file, offset, length, MADV_WILLNEED);
}

void populate(const MappedFile& file, uint64_t offset, uint64_t length) {
#ifdef MADV_POPULATE_READ
  advise(file, offset, length, MADV_POPULATE_READ);
#else
  (void)file, (void)offset, (void)length;
#endif
}

}  // namespace y8m::io
