// Errors and checks. Y8M_CHECK is for anything a user can cause (shapes, dtypes, flags, files): it
// throws y8m::Error with a message that starts with the op, file or flag name and shows the
// offending values. Y8M_ASSERT is for internal invariants. Both throw; only an app's main catches
// (STYLE.md, Errors).
#pragma once
#include "engine/engine_layer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>

namespace y8m {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
[[noreturn]] void throw_error(const char* file, int line, const std::string& msg);
[[noreturn]] void throw_assert(const char* file, int line, const char* cond,
                               const std::string& msg);
}  // namespace detail

}  // namespace y8m

// Y8M_CHECK(cond, "matmul: inner dimensions differ: {} vs {}", k1, k2)
#define Y8M_CHECK(cond, ...)                                                               \
  do {                                                                                     \
    if (!(cond)) ::y8m::detail::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)

// Unconditional user error.
#define Y8M_FAIL(...) ::y8m::detail::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__))

// Y8M_ASSERT(cond) or Y8M_ASSERT(cond, "context {}", x): an internal invariant.
#define Y8M_ASSERT(cond, ...)                                              \
  do {                                                                     \
    if (!(cond))                                                           \
      ::y8m::detail::throw_assert(__FILE__, __LINE__, #cond,               \
                                  ::y8m::detail::assert_msg(__VA_ARGS__)); \
  } while (0)

namespace y8m::detail {
inline std::string assert_msg() { return {}; }
template <class... Args>
std::string assert_msg(fmt::format_string<Args...> f, Args&&... args) {
  return fmt::format(f, std::forward<Args>(args)...);
}
}  // namespace y8m::detail
