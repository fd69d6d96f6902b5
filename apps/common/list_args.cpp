#include "apps/common/list_args.h"

#include "engine/error.h"

namespace y8m::apps {

ListArgs parse_list_args(int argc, char** argv, const std::set<std::string>& lists,
                         const std::set<std::string>& values) {
  ListArgs out;
  std::string current;  // the list option being filled
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(2), inline_value;
      const size_t eq = name.find('=');
      const bool has_inline = eq != std::string::npos;
      if (has_inline) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      if (lists.count(name)) {
        Y8M_CHECK(!out.lists.count(name), "--{} given twice", name);
        auto& v = out.lists[name];
        if (has_inline) v.push_back(inline_value);
        current = name;
        continue;
      }
      Y8M_CHECK(values.count(name), "unknown option --{} (known: {})", name, [&] {
        std::string known;
        for (const auto& n : lists) known += (known.empty() ? "--" : ", --") + n;
        for (const auto& n : values) known += (known.empty() ? "--" : ", --") + n;
        return known;
      }());
      current.clear();
      if (has_inline) {
        out.values[name] = inline_value;
      } else {
        Y8M_CHECK(i + 1 < argc, "--{} needs a value", name);
        out.values[name] = argv[++i];
      }
      continue;
    }
    Y8M_CHECK(!current.empty(), "unexpected argument '{}' (values follow --{})", a,
              lists.empty() ? "option" : *lists.begin());
    out.lists[current].push_back(a);
  }
  for (const auto& kv : out.lists)
    Y8M_CHECK(!kv.second.empty(), "--{} needs at least one value", kv.first);
  return out;
}

}  // namespace y8m::apps
