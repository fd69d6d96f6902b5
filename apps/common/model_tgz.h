// inference.py's Kaggle bundle: a gzip-compressed tar of the model and model_flags.json
// (SPEC §10, §13), read with --input_model_tgz (extracted into --untar_model_dir) and written with
// --output_model_tgz. Uses libarchive; a build without it throws a clear error instead.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace y8m::apps {

// True when this build can read and write the bundles.
bool model_tgz_supported();

// Extracts the regular files of `tgz` into `dir` (created if missing; existing files are replaced,
// as tarfile.extractall did). Entries with absolute paths or ".." are refused. Returns the names
// extracted.
std::vector<std::string> extract_model_tgz(const std::string& tgz, const std::string& dir);

// Writes `tgz` holding each (file on disk, name in the bundle), atomically (a temporary file
// renamed into place).
void write_model_tgz(const std::string& tgz,
                     const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace y8m::apps
