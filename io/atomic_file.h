// Temporary files for atomic writes, and cleaning the ones a killed writer left behind.
//
// Every writer that must never leave a partial file under its final name (containers, TFRecord
// shards, submissions, dataset folders) writes to temp_path_for(path), fsyncs, and renames. The
// temporary name records the writer's pid:
//
//   <path>.tmp-<pid>-<8 hex digits>        e.g. model.ckpt-30.y8m.tmp-4242-9f3a01bc
//
// so that a later process can tell a file whose writer is gone (kill -9, power loss) from one
// being written right now by a live process, and remove only the former.
#pragma once
#include "io/io_layer.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace y8m::io {

// "<path>.tmp-<this pid>-<random>": unique among concurrent writers of the same path.
std::string temp_path_for(const std::string& path);

// Splits a temporary name (a file name, no folder) into the final name it was for and the pid
// of its writer. Returns false for anything else. Names of the older form "<path>.tmp-<8 hex>"
// (no pid) parse with *pid = 0.
bool parse_temp_name(const std::string& name, std::string* target, int64_t* pid);

// True while a process with this pid exists (kill(pid, 0); EPERM counts as alive).
bool process_alive(int64_t pid);

struct StaleTemp {
  std::string path;
  uint64_t bytes = 0;
};

// Removes the temporary files (or folders) in `dir` (not recursive) whose target name satisfies
// `owned` and whose writer is gone. With `exclusive` (the caller holds a lock that excludes every
// other writer of those targets and has none of its own in flight) names without a pid (older
// form) and names with the caller's own pid (a recycled pid: the same pid after a restart in a
// container) count as stale too. Returns what was removed; files that vanish meanwhile or cannot be
// removed are left out.
std::vector<StaleTemp> remove_stale_temps(const std::string& dir,
                                          const std::function<bool(const std::string&)>& owned,
                                          bool exclusive);

// fsync of a folder, so that a rename into it survives a power loss. Errors are ignored (some
// filesystems refuse to fsync folders); the data were already synced.
void sync_dir(const std::string& dir);

}  // namespace y8m::io
