#include "apps/common/list_args.h"

#include "apps/common/known_flags.h"
#include "engine/error.h"

#include <set>

namespace y8m::apps {

ListArgs parse_list_args(int argc, char** argv, const std::set<std::string>& lists,
                         const std::set<std::string>& values) {
  const std::string app = app_name(argc, argv);
  {
    std::set<std::string> defined = lists;
    defined.insert(values.begin(), values.end());
    check_flag_table_and_exit_if_asked(app, defined, {});
  }
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
      // A flag of another program (apps/common/known_flags.h): a note, and its values are skipped
      // (every argument up to the next --option unless it is boolean or has "=v").
      std::string foreign = name;
      if (!values.count(name) && name.rfind("no", 0) == 0 && known_bool_flag(name.substr(2)))
        foreign = name.substr(2);
      const std::string kind = values.count(name) ? "" : foreign_flag_kind(app, foreign);
      if (!kind.empty()) {
        note_foreign_flag(app, foreign, kind);
        if (!has_inline && !known_bool_flag(foreign))
          while (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) ++i;
        current.clear();
        continue;
      }
      if (!values.count(name)) {
        std::set<std::string> own = lists;
        own.insert(values.begin(), values.end());
        std::string known;
        for (const auto& n : own) known += (known.empty() ? "--" : ", --") + n;
        const std::string near = nearest_name(name, own);
        Y8M_FAIL("unknown option --{}{} (known: {})", name,
                 near.empty() ? "" : " (did you mean --" + near + "?)", known);
      }
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
