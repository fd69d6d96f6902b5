#include "apps/common/flags.h"

#include <absl/flags/parse.h>
#include <absl/flags/reflection.h>
#include <absl/flags/usage.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace y8m::apps {

namespace {
std::set<std::string>& explicit_set() {
  static std::set<std::string> s;
  return s;
}
std::map<std::string, std::string>& given_values() {
  static std::map<std::string, std::string> m;
  return m;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The flag name in an argument "--name=v", "-name", "--noname"; "" if not a flag.
std::string flag_name(const std::string& arg) {
  if (arg.size() < 2 || arg[0] != '-' || arg == "--") return "";
  const std::string a = arg.substr(arg.rfind("--", 0) == 0 ? 2 : 1);
  return a.substr(0, a.find('='));
}
}  // namespace

std::string nearest_flag(const std::string& name) {
  std::string best;
  size_t best_d = std::max<size_t>(3, name.size() / 3) + 1;
  for (const auto& kv : absl::GetAllFlags()) {
    const std::string cand(kv.first);
    if (cand.find('.') != std::string::npos) continue;  // Abseil's own internals
    const size_t d = edit_distance(name, cand);
    if (d < best_d) {
      best_d = d;
      best = cand;
    }
  }
  return best;
}

std::vector<std::string> parse_flags(int argc, char** argv, const char* usage) {
  absl::SetProgramUsageMessage(usage);
  const char* app = argc > 0 ? argv[0] : "y8m";
  if (const char* slash = std::strrchr(app, '/')) app = slash + 1;
  // Unknown flags first, with a suggestion (Abseil alone only says "unknown").
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    std::string name = flag_name(arg);
    if (name.empty() || name == "help" || name == "helpfull" || name == "helpshort" ||
        name == "version" || name == "flagfile" || name == "fromenv" || name == "tryfromenv" ||
        name == "undefok")
      continue;
    if (absl::FindCommandLineFlag(name) != nullptr) continue;
    if (name.rfind("no", 0) == 0 && absl::FindCommandLineFlag(name.substr(2)) != nullptr) continue;
    const std::string near = nearest_flag(name);
    std::fprintf(stderr, "%s: unknown flag --%s%s\n", app, name.c_str(),
                 near.empty() ? "" : (" (did you mean --" + near + "?)").c_str());
    std::exit(1);
  }
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    std::string name = flag_name(arg);
    if (name.empty()) continue;
    if (absl::FindCommandLineFlag(name) == nullptr && name.rfind("no", 0) == 0)
      name = name.substr(2);
    if (const absl::CommandLineFlag* f = absl::FindCommandLineFlag(name)) {
      explicit_set().insert(name);
      given_values()[name] = f->CurrentValue();
    }
  }
  return std::vector<std::string>(rest.begin() + 1, rest.end());
}

const std::set<std::string>& explicit_flags() { return explicit_set(); }
std::map<std::string, std::string> command_line_flags() { return given_values(); }

int run_app(const char* app, int (*body)()) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", app, e.what());
    return 1;
  }
}

}  // namespace y8m::apps
