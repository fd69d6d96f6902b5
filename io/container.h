// y8m's single-file container (DESIGN.md §5): a checksummed protobuf header (kind, metadata, model
// config, tensor table, graph) followed by 64-byte-aligned tensor blobs. Checkpoints and model
// archives share it.
//
// Reading maps the file and checks everything before touching data: magic, major version, header
// size (capped), header CRC, then every tensor entry (known dtype, at most 8 dims, non-negative
// dims, overflow- checked sizes, length = numel * dtype size, 64-byte-aligned offset, inside the
// data region, no overlaps, blobs in table order covering the data region up to padding, unique
// names) and the file size. Tensors are returned as zero-copy views of the mapping. Blob CRCs are
// checked by verify() (or on load when asked). Writing goes to a temporary file in the target
// folder, fsync, rename.
#pragma once
#include "io/io_layer.h"

#include "engine/tensor.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace y8m::io {

constexpr uint32_t kContainerMajor = 1;
constexpr uint32_t kContainerMinor = 0;
constexpr uint64_t kMaxHeaderBytes = 64ull << 20;  // 64 MiB
constexpr uint64_t kBlobAlignment = 64;

struct ContainerTensor {
  std::string name;
  Tensor tensor;
  std::string codebook;  // name of the codebook tensor for quantized weights, else empty
};

struct ContainerContents {
  std::string kind;
  std::map<std::string, std::string> metadata;
  std::map<std::string, std::string> model_config;
  std::string graph;  // serialized graph (may be empty)
  std::vector<ContainerTensor> tensors;
};

// Writes atomically. Tensors may live on any device (copied to the host).
void write_container(const std::string& path, const ContainerContents& contents);

class Container {
 public:
  // Opens and validates; throws y8m::Error naming the file and the problem.
  explicit Container(const std::string& path);
  ~Container();
  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;

  const std::string& path() const { return path_; }
  const std::string& kind() const { return contents_.kind; }
  const std::map<std::string, std::string>& metadata() const { return contents_.metadata; }
  const std::map<std::string, std::string>& model_config() const { return contents_.model_config; }
  const std::string& graph() const { return contents_.graph; }
  // Zero-copy CPU views of the mapped file (valid while any view or this object lives).
  const std::vector<ContainerTensor>& tensors() const { return contents_.tensors; }
  const ContainerTensor* find(const std::string& name) const;
  uint64_t file_size() const { return size_; }
  uint32_t major_version() const { return major_; }
  uint32_t minor_version() const { return minor_; }
  // Checks every blob's CRC32C; throws naming the first tensor that fails.
  void verify() const;

 private:
  std::string path_;
  std::shared_ptr<void> mapping_;
  uint64_t size_ = 0;
  uint32_t major_ = 0, minor_ = 0;
  ContainerContents contents_;
  std::vector<uint32_t> crcs_;
};

}  // namespace y8m::io
