// Command-line handling shared by every app: Abseil flags with TensorFlow's syntax (--f=v, --f v,
// --f,
// --nof, --f=True/False), plus what the original tools lacked: an unknown flag is an error naming
// the nearest known flag ("did you mean --steps?"), and apps know which flags were given
// explicitly.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace y8m::apps {

// Parses argv. On an unknown or malformed flag prints one line and exits with status 1. Returns the
// positional arguments.
std::vector<std::string> parse_flags(int argc, char** argv, const char* usage);
// Names of the flags given on the command line (after parse_flags), and their values.
const std::set<std::string>& explicit_flags();
std::map<std::string, std::string> command_line_flags();
// The known flag closest to `name` by edit distance ("" if none is close).
std::string nearest_flag(const std::string& name);

// Runs `body`, printing any exception as one line "<app>: <message>" with exit status 1.
int run_app(const char* app, int (*body)());

}  // namespace y8m::apps
