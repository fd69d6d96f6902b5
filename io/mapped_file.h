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

// Maps `path` read-only; pages fault in on first use. `sequential` tells the kernel the file is
// read front to back (aggressive readahead; pages behind the reader may be dropped first),
// otherwise access is random (archives read sparsely, record counting touches only headers).
// Nothing is populated up front: a reader on a cold multi-GB shard would otherwise wait for the
// whole file before its first record. Errors name the file: "cannot open", "not a regular file",
// "cannot map"; a mapping refused for lack of memory (ENOMEM) starts with "out of memory".
MappedFile map_file(const std::string& path, bool sequential);

// Starts asynchronous readahead of [offset, offset + length) of the file (clamped to the file):
// readers call it a window ahead of where they read so disk reads overlap decoding.
void prefetch(const MappedFile& file, uint64_t offset, uint64_t length);

// Maps the pages of [offset, offset + length) now (reading them if needed), so that the threads
// that later read the bytes take no page faults. Best effort: a kernel without
// MADV_POPULATE_READ (< 5.14) leaves them to fault in on use.
void populate(const MappedFile& file, uint64_t offset, uint64_t length);

}  // namespace y8m::io
