// Output folders that appear complete or not at all (y8m-ensemble, y8m-average, y8m-distill): the
// files are written into a temporary sibling folder, "<path>.tmp-<pid>-<8 hex digits>" (the same
// filesystem, the naming of io's temporary files), which commit() renames to `path`. A run that
// fails (full disk, corrupt input, an exception anywhere) removes the temporary folder when the
// OutputFolder is destroyed, so nothing blocks rerunning the same command; a killed run leaves only
// the temporary name, never a partial folder under the final one, and the next OutputFolder for
// the same path removes it (its writer's pid is gone).
#pragma once

#include <string>

namespace y8m::pipeline {

class OutputFolder {
 public:
  // `path` must not exist (the error names `flag`); its parent folders are created.
  OutputFolder(const std::string& path, const std::string& flag);
  ~OutputFolder();  // removes the temporary folder unless committed
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

  const std::string& path() const { return path_; }  // the final name
  const std::string& temp() const { return temp_; }  // where to write until commit()
  // Renames the temporary folder to path(); fails, naming both, if path() appeared meanwhile.
  void commit();

 private:
  std::string path_, temp_, flag_;
  bool committed_ = false;
};

}  // namespace y8m::pipeline
