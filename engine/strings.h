// Small string helpers shared by the parsers of flag values, configs and op schemas.
#pragma once
#include "engine/engine_layer.h"

#include <string>
#include <vector>

namespace y8m::engine {

// s without leading and trailing whitespace (space, tab, CR, LF).
std::string trim(const std::string& s);
// The `sep`-separated items of s, each trimmed: "rgb, audio" -> {"rgb", "audio"}; "a," -> {"a", ""};
// a blank s -> {}.
std::vector<std::string> split_trimmed(const std::string& s, char sep = ',');

}  // namespace y8m::engine
