// argparse-style command lines of the original graph_ensemble.py / weights_average.py:
//   --models a b c --weights 0.3 0.3 0.4 --save_folder DIR
// Options listed in `lists` take one or more values (until the next --option); the others take
// exactly one (`--name value` or `--name=value`). Unknown options are errors naming the nearest
// known one.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace y8m::apps {

struct ListArgs {
  std::map<std::string, std::vector<std::string>> lists;
  std::map<std::string, std::string> values;
};

// Throws y8m::Error for a malformed command line.
ListArgs parse_list_args(int argc, char** argv, const std::set<std::string>& lists,
                         const std::set<std::string>& values);

}  // namespace y8m::apps
