#include "apps/common/flags.h"

#include "apps/common/known_flags.h"

#include <absl/flags/parse.h>
#include <absl/flags/reflection.h>
#include <absl/flags/usage.h>

#include <algorithm>
#include <cctype>
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

// The flag name in an argument "--name=v", "-name", "--noname"; "" if not a flag.
std::string flag_name(const std::string& arg) {
  if (arg.size() < 2 || arg[0] != '-' || arg == "--") return "";
  const std::string a = arg.substr(arg.rfind("--", 0) == 0 ? 2 : 1);
  return a.substr(0, a.find('='));
}
}  // namespace

std::string nearest_flag(const std::string& name) {
  std::set<std::string> candidates = all_known_flags();  // this app's and other programs'
  for (const auto& kv : absl::GetAllFlags())
    if (kv.first.find('.') == std::string::npos) candidates.insert(std::string(kv.first));
  return nearest_name(name, candidates);
}

namespace {
bool abseil_builtin(const std::string& name) {
  return name == "help" || name == "helpfull" || name == "helpshort" || name == "helppackage" ||
         name == "version" || name == "flagfile" || name == "fromenv" || name == "tryfromenv" ||
         name == "undefok" || name == "only_check_args" || name == "helpon" || name == "helpmatch";
}

// "-x..." or "--x...": a flag, not a value such as "-1" or "-".
bool looks_like_flag(const std::string& arg) {
  const size_t p = arg.find_first_not_of('-');
  return p > 0 && p != std::string::npos && p <= 2 &&
         std::isalpha(static_cast<unsigned char>(arg[p]));
}

// The flags this binary defines (not Abseil's own), and which of them are boolean.
void defined_flags(std::set<std::string>* names, std::set<std::string>* bools) {
  for (const auto& kv : absl::GetAllFlags()) {
    const std::string name(kv.first);
    if (name.find('.') != std::string::npos || abseil_builtin(name) ||
        kv.second->Filename().find("absl/") != std::string::npos)
      continue;
    names->insert(name);
    if (kv.second->IsOfType<bool>()) bools->insert(name);
  }
}
}  // namespace

std::vector<std::string> parse_flags(int argc, char** argv, const char* usage) {
  absl::SetProgramUsageMessage(usage);
  const std::string app = app_name(argc, argv);
  {
    std::set<std::string> names, bools;
    defined_flags(&names, &bools);
    check_flag_table_and_exit_if_asked(app, names, bools);
  }
  // Unknown flags first: a flag of another program (apps/common/known_flags.h) is dropped with a
  // note, with its value when given as "--f v"; any other is an error with a suggestion (Abseil
  // alone only says "unknown").
  std::vector<char*> kept = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      kept.insert(kept.end(), argv + i, argv + argc);
      break;
    }
    std::string name = flag_name(arg);
    const bool own = name.empty() || abseil_builtin(name) ||
                     absl::FindCommandLineFlag(name) != nullptr ||
                     (name.rfind("no", 0) == 0 && absl::FindCommandLineFlag(name.substr(2)));
    if (own) {
      kept.push_back(argv[i]);
      continue;
    }
    std::string kind = foreign_flag_kind(app, name);
    if (kind.empty() && name.rfind("no", 0) == 0 && known_bool_flag(name.substr(2))) {
      name = name.substr(2);
      kind = foreign_flag_kind(app, name);
    }
    if (!kind.empty()) {
      note_foreign_flag(app, name, kind);
      // "--f v": the next argument is its value unless the flag is boolean or has "=v".
      if (arg.find('=') == std::string::npos && !known_bool_flag(name) && i + 1 < argc &&
          !looks_like_flag(argv[i + 1]))
        ++i;
      continue;
    }
    const std::string near = nearest_flag(name);
    std::fprintf(stderr, "%s: unknown flag --%s%s\n", app.c_str(), name.c_str(),
                 near.empty() ? "" : (" (did you mean --" + near + "?)").c_str());
    std::exit(1);
  }
  argc = static_cast<int>(kept.size());
  argv = kept.data();
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
