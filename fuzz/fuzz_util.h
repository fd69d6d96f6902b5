// Shared pieces of the libFuzzer targets (fuzz/*_fuzz.cpp):
//   expect_user_error  the parsers' contract is "malformed input throws y8m::Error"; an internal
//                      assertion (Y8M_ASSERT) is a bug, and any other exception escapes the
//                      target and is reported by libFuzzer as a crash.
//   verbose            Y8M_FUZZ_VERBOSE=1 prints each parse's outcome.
//   Y8M_FUZZ_CHECK     an invariant of a successful parse; aborts (libFuzzer saves the input).
//   MemFile            the input as a file path (memfd, /proc/self/fd/N) for the parsers that
//                      read a file: nothing on disk, nothing left behind after a crash.
//   HeapScope          peak heap growth while parsing (sanitizer malloc/free hooks), so a target
//                      can require "at most factor * input size + slack": a parser must not
//                      allocate what a length field claims before checking it against the bytes
//                      that exist.
#pragma once

#include "engine/error.h"

#include <sanitizer/allocator_interface.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace y8m::fuzz {

#define Y8M_FUZZ_CHECK(cond, ...)                                                              \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "fuzz invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, "  " __VA_ARGS__);                                                  \
      std::fprintf(stderr, "\n");                                                              \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

// Y8M_FUZZ_VERBOSE=1 prints each parse's outcome (to see what a seed or a reproducer exercises).
inline bool verbose() {
  static const bool v = std::getenv("Y8M_FUZZ_VERBOSE") != nullptr;
  return v;
}

inline void expect_user_error(const y8m::Error& e) {
  const std::string what = e.what();
  if (verbose()) std::fprintf(stderr, "  error: %s\n", what.c_str());
  Y8M_FUZZ_CHECK(what.rfind("internal error", 0) != 0, "internal assertion on malformed input: %s",
                 what.c_str());
  Y8M_FUZZ_CHECK(!what.empty(), "y8m::Error with an empty message");
}

class MemFile {
 public:
  MemFile() {
    fd_ = ::memfd_create("y8m-fuzz", MFD_CLOEXEC);
    Y8M_FUZZ_CHECK(fd_ >= 0, "memfd_create failed");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  // Replaces the file's contents with `data`.
  void write(const uint8_t* data, size_t size) {
    Y8M_FUZZ_CHECK(::ftruncate(fd_, 0) == 0, "ftruncate failed");
    size_t done = 0;
    while (done < size) {
      const ssize_t w = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      Y8M_FUZZ_CHECK(w > 0, "pwrite failed");
      done += static_cast<size_t>(w);
    }
  }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// Tracks the heap's growth over the scope's lifetime (one scope at a time; the targets are
// single-threaded). Blocks freed inside the scope but allocated before it only lower the count.
class HeapScope {
 public:
  HeapScope() {
    install();
    live() = 0;
    peak() = 0;
    active() = true;
  }
  ~HeapScope() { active() = false; }
  int64_t peak_bytes() const { return peak().load(std::memory_order_relaxed); }
  // Aborts when the peak exceeds factor * input_size + slack.
  void check(size_t input_size, int64_t factor, int64_t slack, const char* what) const {
    const int64_t limit = factor * static_cast<int64_t>(input_size) + slack;
    if (verbose())
      std::fprintf(stderr, "  %s: heap peak %lld bytes for %zu input bytes\n", what,
                   static_cast<long long>(peak_bytes()), input_size);
    Y8M_FUZZ_CHECK(
        peak_bytes() <= limit,
        "%s: heap grew by %lld bytes parsing a %zu-byte input (limit %lld = %lld * size + %lld)",
        what, static_cast<long long>(peak_bytes()), input_size, static_cast<long long>(limit),
        static_cast<long long>(factor), static_cast<long long>(slack));
  }

 private:
  static std::atomic<bool>& active() {
    static std::atomic<bool> a{false};
    return a;
  }
  static std::atomic<int64_t>& live() {
    static std::atomic<int64_t> v{0};
    return v;
  }
  static std::atomic<int64_t>& peak() {
    static std::atomic<int64_t> v{0};
    return v;
  }
  static void on_malloc(const volatile void*, size_t size) {
    if (!active().load(std::memory_order_relaxed)) return;
    const int64_t now = live().fetch_add(static_cast<int64_t>(size)) + static_cast<int64_t>(size);
    int64_t p = peak().load(std::memory_order_relaxed);
    while (now > p && !peak().compare_exchange_weak(p, now)) {
    }
  }
  static void on_free(const volatile void* ptr) {
    if (ptr == nullptr || !active().load(std::memory_order_relaxed)) return;
    live().fetch_sub(static_cast<int64_t>(__sanitizer_get_allocated_size(ptr)));
  }
  static void install() {
    static const bool installed = [] {
      Y8M_FUZZ_CHECK(__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0,
                     "cannot install the sanitizer malloc hooks");
      return true;
    }();
    (void)installed;
  }
};

}  // namespace y8m::fuzz
