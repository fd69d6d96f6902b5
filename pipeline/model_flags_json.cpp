#include "pipeline/model_flags_json.h"

#include "engine/error.h"
#include "engine/strings.h"
#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
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

std::map<std::string, std::string> read_model_flags_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Y8M_CHECK(in, "{}: cannot open: {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  size_t i = 0;
  auto ws = [&] {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  };
  auto expect = [&](char c) {
    ws();
    Y8M_CHECK(i < s.size() && s[i] == c, "{}: malformed JSON at byte {}: expected '{}'", path, i,
              c);
    ++i;
  };
  auto string = [&] {
    expect('"');
    std::string out;
    while (true) {
      Y8M_CHECK(i < s.size(), "{}: malformed JSON: unterminated string", path);
      const char c = s[i++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      Y8M_CHECK(i < s.size(), "{}: malformed JSON: unterminated string", path);
      const char e = s[i++];
      if (e == 'u') {
        Y8M_CHECK(i + 4 <= s.size(), "{}: malformed JSON: short \\u escape", path);
        const unsigned long cp = std::stoul(s.substr(i, 4), nullptr, 16);
        i += 4;
        Y8M_CHECK(cp < 0x80, "{}: non-ASCII \\u escape in a flag value", path);
        out += static_cast<char>(cp);
      } else {
        const std::string from = "\"\\/bfnrt", to = "\"\\/\b\f\n\r\t";
        const size_t k = from.find(e);
        Y8M_CHECK(k != std::string::npos, "{}: malformed JSON: bad escape \\{}", path, e);
        out += to[k];
      }
    }
  };
  std::map<std::string, std::string> out;
  expect('{');
  ws();
  if (i < s.size() && s[i] == '}') return out;
  while (true) {
    const std::string key = string();
    expect(':');
    ws();
    Y8M_CHECK(i < s.size(), "{}: malformed JSON: value of '{}' missing", path, key);
    if (s[i] == '"') {
      out[key] = string();
    } else {
      const size_t end = s.find_first_of(",} \t\r\n", i);
      const std::string word = s.substr(i, end == std::string::npos ? std::string::npos : end - i);
      Y8M_CHECK(!word.empty() && word != "null" && word[0] != '{' && word[0] != '[',
                "{}: '{}' is not a string, boolean or number", path, key);
      out[key] = word;
      i += word.size();
    }
    ws();
    Y8M_CHECK(i < s.size(), "{}: malformed JSON: truncated", path);
    if (s[i] == '}') break;
    expect(',');
  }
  return out;
}

}  // namespace y8m::pipeline
