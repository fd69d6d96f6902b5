// TensorFlow's V2 checkpoint format ("tensor bundle"), read-only: what tf.train.Saver writes for a
// prefix P (SPEC §10):
//   P.index                     a LevelDB-format table (SSTable) mapping names to entries
//   P.data-0000S-of-0000N       N shards of raw little-endian tensor bytes
// The table: data blocks of prefix-compressed entries (varint shared, varint non-shared, varint
// value length, key suffix, value; then uint32 restart offsets and their count), an index block
// mapping each data block's last key to its handle (varint offset, varint size), and a 48-byte
// footer (metaindex and index handles, padding, magic 0xdb4775248b80fb57). Every block is followed
// by a type byte (0 = uncompressed; TensorFlow never compresses bundle indexes, so a compressed
// block is refused) and the masked CRC-32C of contents and type. The empty key holds a
// BundleHeaderProto (shard count, endianness), every other key a tensor name whose value is a
// BundleEntryProto (dtype, shape, shard, offset, size, masked CRC-32C of the bytes); messages in
// io/proto/tf_bundle.proto.
//
// Everything in the index is validated when the bundle is opened (block CRCs, bounds, sorted
// unique keys, known shards that exist and hold each entry's byte range); a tensor's CRC is
// checked when it is read. Errors are one line naming the file (and the tensor).
//
//   io::TfBundle b("run1/model.ckpt-1234");
//   Tensor w = b.read("tower/hidden1_weights");   // f32 [D, H] on the CPU
#pragma once
#include "io/io_layer.h"

#include "engine/tensor.h"
#include "io/mapped_file.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace y8m::io {

// The key/value pairs of a LevelDB-format table held in `bytes`, in table order; `path` names the
// file in errors.
std::vector<std::pair<std::string, std::string>> read_leveldb_table(std::string_view bytes,
                                                                    const std::string& path);

struct TfBundleEntry {
  std::string name;
  int tf_dtype = 0;            // tensorflow.DataType value
  std::optional<DType> dtype;  // nullopt: a dtype y8m does not load (string, bool, ...)
  Shape shape;
  int shard = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t masked_crc = 0;
};

// "P.data-0000S-of-0000N" (five digits each, as TensorFlow names shards).
std::string tf_bundle_shard_path(const std::string& prefix, int shard, int num_shards);

// The name TensorFlow gives a DataType value ("DT_FLOAT", ...; "DataType(n)" if unknown).
std::string tf_dtype_name(int tf_dtype);

class TfBundle {
 public:
  explicit TfBundle(const std::string& prefix);

  const std::string& prefix() const { return prefix_; }
  int num_shards() const { return num_shards_; }
  const std::vector<TfBundleEntry>& entries() const { return entries_; }  // sorted by name
  const TfBundleEntry* find(const std::string& name) const;
  // The tensor as a CPU tensor of its dtype, after checking its CRC. Errors name the data file and
  // the tensor: unknown name, a dtype y8m does not load, CRC mismatch.
  Tensor read(const std::string& name) const;

 private:
  std::string prefix_;
  int num_shards_ = 0;
  std::vector<TfBundleEntry> entries_;
  std::map<std::string, size_t> by_name_;
  std::vector<MappedFile> shards_;
};

}  // namespace y8m::io
