// Read-only memory maps of whole files, shared by the TFRecord reader and the container reader. The
// map lives as long as any copy of the returned handle (zero-copy tensors and records keep it
// alive).
#pragma once
#include "io/io_layer.h"

#include <cstdint>
#include <memory>
#include <string>

namespace y8m::io {

struct MappedFile {
  std::shared_ptr<const uint8_t> data;  // null for an empty file
  uint64_t size = 0;
};

// Maps `path` read-only. `sequential` populates the pages up front and hints a front-to-back read
// (record streams); otherwise pages fault in on use (archives read sparsely). Errors name the file:
// "cannot open", "not a regular file", "cannot map".
MappedFile map_file(const std::string& path, bool sequential);

}  // namespace y8m::io
