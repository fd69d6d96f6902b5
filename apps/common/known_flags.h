// The one table of every flag name known to y8m's apps and to the original's scripts (SPEC §5), per
// program. The original parsed with unknown flags tolerated and its README passes flags of one
// script to another (training flags to eval.py, --loss_lambda to train.py, --sample_all to
// inference_gpu.py); an app accepts a flag of another program with one note line, and keeps a
// name that no program knows an error. The y8m apps' rows must hold every flag each binary defines:
// with Y8M_CHECK_FLAG_TABLE=1 in the environment an app checks that and exits (tests/apps runs it
// for every app), so the table cannot fall behind the code.
#pragma once

#include <set>
#include <string>

// Model flags of the original that no y8m model reads (models not in the zoo, dimension reductions
// the final models did not use): X(type, name, default, help), as Y8M_MODEL_FLAGS
// (models/config.h). apps/common/app_flags.cpp defines them, so original command lines run unchanged.
#define Y8M_ORIGINAL_ONLY_MODEL_FLAGS(X)                                \
  X(int64_t, netvlad_dimred, -1, "unused (original flag)")              \
  X(int64_t, gatednetvlad_dimred, 1024, "unused (original flag)")       \
  X(int64_t, hidden_size, 1024, "unused (original flag)")               \
  X(int64_t, netvlad_hidden_size_video, 1024, "unused (original flag)") \
  X(int64_t, netvlad_hidden_size_audio, 64, "unused (original flag)")   \
  X(int64_t, dbof_var_features, 0, "unused (original flag)")            \
  X(std::string, dbof_activation, "relu", "unused (original flag)")

namespace y8m::apps {

// The flag names of `program` ("y8m-eval", "eval.py", ...); empty for an unknown program.
std::set<std::string> known_flags_of(const std::string& program);

// For a flag that `app` does not define: what the note calls it ("a training flag", "an
// inference flag", ...) when some other program knows it, else "".
std::string foreign_flag_kind(const std::string& app, const std::string& name);

// Every name in the table (for "did you mean" suggestions).
std::set<std::string> all_known_flags();

// The candidate closest to `name` by edit distance, if within max(3, |name| / 3); else "".
std::string nearest_name(const std::string& name, const std::set<std::string>& candidates);

// True for a boolean flag of any program (it takes no separate value: "--f", "--nof").
bool known_bool_flag(const std::string& name);

// Prints "<app>: note: ignoring --<name> (<kind>)" on stderr, once per name and process.
void note_foreign_flag(const std::string& app, const std::string& name, const std::string& kind);

// With Y8M_CHECK_FLAG_TABLE=1: checks that `defined` (the flags the binary `app` defines; `bools`,
// those of them that are boolean) are in the table's row for `app` with the right type, prints
// "flag table: <app> ok (N flags)" or what is missing, and exits (0 or 1). Does nothing without
// the variable.
void check_flag_table_and_exit_if_asked(const std::string& app,
                                        const std::set<std::string>& defined,
                                        const std::set<std::string>& bools);

// The basename of argv[0].
std::string app_name(int argc, char** argv);

}  // namespace y8m::apps
