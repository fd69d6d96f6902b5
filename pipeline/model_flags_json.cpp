#include "pipeline/model_flags_json.h"

#include "engine/error.h"
#include "engine/strings.h"
#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace y8m::pipeline {

namespace {

// A JSON string as Python's json.dumps writes one (ensure_ascii): quotes, backslashes and control
// characters escaped, non-ASCII UTF-8 as \uXXXX (surrogate pairs above U+FFFF).
std::string json_string(const std::string& s) {
  std::string out = "\"";
  auto u = [&](uint32_t c) { out += fmt::format("\\u{:04x}", c); };
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\b') {
      out += "\\b";
    } else if (c == '\f') {
      out += "\\f";
    } else if (c < 0x20 || c == 0x7f) {
      u(c);
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      // A UTF-8 sequence; a malformed byte is escaped on its own.
      const int n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
      uint32_t cp = c & (0x3f >> n);
      bool ok = n > 0 && i + n < s.size();
      for (int k = 1; ok && k <= n; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        ok = (b & 0xc0) == 0x80;
        cp = (cp << 6) | (b & 0x3f);
      }
      if (!ok) {
        u(c);
        continue;
      }
      i += n;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        u(0xd800 + (cp >> 10));
        u(0xdc00 + (cp & 0x3ff));
      } else {
        u(cp);
      }
    }
  }
  return out + "\"";
}

// The flag as the user typed it when it names the same list (the original wrote FLAGS.<name>
// verbatim), else the config's list joined with ",".
template <typename T>
std::string flag_text(const std::map<std::string, std::string>& given, const std::string& name,
                      const std::vector<T>& values) {
  std::vector<std::string> want;
  std::string joined;
  for (const auto& v : values) {
    want.push_back(fmt::format("{}", v));
    joined += (joined.empty() ? "" : ",") + want.back();
  }
  const auto it = given.find(name);
  return it != given.end() && engine::split_trimmed(it->second) == want ? it->second : joined;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = io::temp_path_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  Y8M_CHECK(fd >= 0, "{}: cannot create: {}", tmp, std::strerror(errno));
  size_t done = 0;
  bool ok = true;
  while (ok && done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    ok = w > 0;
    if (ok) done += static_cast<size_t>(w);
  }
  const int err = ok ? 0 : errno;
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = err != 0 ? err : errno;
    ::unlink(tmp.c_str());
    Y8M_FAIL("{}: cannot write: {}", path, std::strerror(e));
  }
}

}  // namespace

std::string model_flags_json(const models::ModelConfig& config, const std::string& label_loss,
                             const std::map<std::string, std::string>& given_flags) {
  // CPython 2.7 iterates this five-key dict in this order (string hashes, 8 slots).
  return fmt::format(
      "{{\"model\": {}, \"feature_sizes\": {}, \"frame_features\": {}, \"feature_names\": {}, "
      "\"label_loss\": {}}}",
      json_string(config.model),
      json_string(flag_text(given_flags, "feature_sizes", config.feature_sizes)),
      config.frame_features ? "true" : "false",
      json_string(flag_text(given_flags, "feature_names", config.feature_names)),
      json_string(label_loss));
}

void write_model_flags_json(const std::string& dir, const std::string& json) {
  write_file_atomically(dir + "/" + kModelFlagsJson, json);
}

bool copy_model_flags_json(const std::string& from_dir, const std::string& to_dir) {
  const std::string src = (from_dir.empty() ? "." : from_dir) + "/" + kModelFlagsJson;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(src, ec)) return false;
  std::ifstream in(src, std::ios::binary);
  Y8M_CHECK(in.good(), "{}: cannot read", src);
  std::stringstream text;
  text << in.rdbuf();
  write_file_atomically(to_dir + "/" + kModelFlagsJson, text.str());
  return true;
}

}  // namespace y8m::pipeline
