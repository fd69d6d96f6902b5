#include "io/tf_bundle.h"

#include "engine/error.h"
#include "io/crc32c.h"
#include "io/proto/tf_bundle.pb.h"

#include <cstring>
#include <limits>

namespace y8m::io {

namespace {

constexpr uint64_t kTableMagic = 0xdb4775248b80fb57ull;
constexpr size_t kFooterSize = 48;   // two handles padded to 40 bytes, then the magic
constexpr size_t kBlockTrailer = 5;  // type byte, masked CRC-32C

// A bounds-checked reader over one region of the table; errors name the file and the region.
class Reader {
 public:
  Reader(std::string_view s, const std::string& path, const char* what)
      : s_(s), path_(path), what_(what) {}
  bool done() const { return pos_ >= s_.size(); }
  size_t pos() const { return pos_; }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      Y8M_CHECK(pos_ < s_.size(), "{}: truncated varint in the {}", path_, what_);
      const auto b = static_cast<uint8_t>(s_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    Y8M_FAIL("{}: varint longer than 10 bytes in the {}", path_, what_);
  }
  std::string_view take(uint64_t n) {
    Y8M_CHECK(n <= s_.size() - pos_, "{}: {} bytes wanted, {} left in the {}", path_, n,
              s_.size() - pos_, what_);
    std::string_view out = s_.substr(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  const std::string& path_;
  const char* what_;
};

uint32_t le32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

struct Handle {
  uint64_t offset = 0;
  uint64_t size = 0;
};

Handle read_handle(Reader& r) {
  Handle h;
  h.offset = r.varint();
  h.size = r.varint();
  return h;
}

// The contents of the block at `h`, after checking bounds, type and CRC.
std::string_view block(std::string_view file, const Handle& h, const std::string& path,
                       const char* what) {
  const uint64_t limit = file.size() - kFooterSize;
  Y8M_CHECK(
      h.offset <= limit && h.size <= limit - h.offset && kBlockTrailer <= limit - h.offset - h.size,
      "{}: the {} (offset {}, {} bytes) lies outside the table ({} bytes before the footer)", path,
      what, h.offset, h.size, limit);
  const char* p = file.data() + h.offset;
  const auto type = static_cast<uint8_t>(p[h.size]);
  Y8M_CHECK(type != 1,
            "{}: the {} is snappy-compressed; TensorFlow writes bundle indexes uncompressed and "
            "y8m does not decompress them",
            path, what);
  Y8M_CHECK(type == 0, "{}: the {} has unknown compression type {}", path, what, type);
  const uint32_t stored = crc32c_unmask(le32(p + h.size + 1));
  const uint32_t actual = crc32c_extend(crc32c(p, h.size), p + h.size, 1);
  Y8M_CHECK(stored == actual,
            "{}: CRC mismatch in the {} (offset {}): stored {:08x}, computed {:08x}", path, what,
            h.offset, stored, actual);
  return std::string_view(p, h.size);
}

// Appends the entries of one block (prefix-compressed keys, restart array) to `out`.
void block_entries(std::string_view b, const std::string& path, const char* what,
                   std::vector<std::pair<std::string, std::string>>* out) {
  Y8M_CHECK(b.size() >= 4, "{}: the {} is {} bytes, too short for its restart count", path, what,
            b.size());
  const uint64_t restarts = le32(b.data() + b.size() - 4);
  Y8M_CHECK(restarts >= 1 && restarts <= (b.size() - 4) / 4,
            "{}: the {} claims {} restart points in {} bytes", path, what, restarts, b.size());
  const size_t limit = b.size() - 4 - 4 * restarts;
  for (uint64_t i = 0; i < restarts; ++i) {
    const uint32_t at = le32(b.data() + limit + 4 * i);
    Y8M_CHECK(at < limit || (at == 0 && limit == 0),
              "{}: restart point {} of the {} is at {}, past its entries ({} bytes)", path, i, what,
              at, limit);
  }
  Reader r(b.substr(0, limit), path, what);
  std::string key;
  while (!r.done()) {
    const uint64_t shared = r.varint();
    const uint64_t non_shared = r.varint();
    const uint64_t value_size = r.varint();
    Y8M_CHECK(shared <= key.size(), "{}: an entry of the {} shares {} bytes of a {}-byte key", path,
              what, shared, key.size());
    key.resize(shared);
    key.append(r.take(non_shared));
    out->emplace_back(key, std::string(r.take(value_size)));
  }
}

std::optional<DType> engine_dtype(int t) {
  switch (t) {
    case tensorflow::DT_FLOAT:
      return DType::f32;
    case tensorflow::DT_DOUBLE:
      return DType::f64;
    case tensorflow::DT_INT32:
      return DType::i32;
    case tensorflow::DT_UINT8:
      return DType::u8;
    case tensorflow::DT_INT8:
      return DType::i8;
    case tensorflow::DT_INT64:
      return DType::i64;
    case tensorflow::DT_HALF:
      return DType::f16;
    case tensorflow::DT_BFLOAT16:
      return DType::bf16;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> read_leveldb_table(std::string_view file,
                                                                    const std::string& path) {
  Y8M_CHECK(file.size() >= kFooterSize,
            "{}: {} bytes, too short for a table footer ({} bytes): truncated?", path, file.size(),
            kFooterSize);
  const char* footer = file.data() + file.size() - kFooterSize;
  uint64_t magic;
  std::memcpy(&magic, footer + 40, 8);
  Y8M_CHECK(magic == kTableMagic,
            "{}: not a TensorFlow checkpoint index (table magic {:016x}, expected {:016x}): "
            "truncated or not an .index file?",
            path, magic, kTableMagic);
  Reader f(std::string_view(footer, 40), path, "table footer");
  read_handle(f);  // metaindex: TensorFlow writes no filters, nothing to read
  const Handle index = read_handle(f);
  std::vector<std::pair<std::string, std::string>> handles;
  block_entries(block(file, index, path, "index block"), path, "index block", &handles);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [last_key, value] : handles) {
    Reader r(value, path, "index block");
    const Handle h = read_handle(r);
    const size_t before = out.size();
    block_entries(block(file, h, path, "data block"), path, "data block", &out);
    Y8M_CHECK(out.size() > before && out.back().first <= last_key,
              "{}: the data block at offset {} does not end at or before its index key", path,
              h.offset);
  }
  for (size_t i = 1; i < out.size(); ++i)
    Y8M_CHECK(out[i - 1].first < out[i].first, "{}: keys not sorted and unique at '{}'", path,
              out[i].first);
  return out;
}

std::string tf_bundle_shard_path(const std::string& prefix, int shard, int num_shards) {
  return fmt::format("{}.data-{:05d}-of-{:05d}", prefix, shard, num_shards);
}

std::string tf_dtype_name(int t) {
  if (tensorflow::DataType_IsValid(t)) return tensorflow::DataType_Name(t);
  return fmt::format("DataType({})", t);
}

TfBundle::TfBundle(const std::string& prefix) : prefix_(prefix) {
  const std::string index = prefix + ".index";
  const MappedFile file = map_file(index, /*sequential=*/false);
  const std::string_view bytes(reinterpret_cast<const char*>(file.data.get()), file.size);
  const auto table = read_leveldb_table(bytes, index);
  Y8M_CHECK(!table.empty() && table.front().first.empty(),
            "{}: no bundle header (the empty key): not a V2 checkpoint index", index);
  tensorflow::BundleHeaderProto header;
  Y8M_CHECK(header.ParseFromString(table.front().second), "{}: malformed BundleHeaderProto", index);
  Y8M_CHECK(header.endianness() == tensorflow::BundleHeaderProto::LITTLE,
            "{}: a big-endian bundle; y8m reads little-endian ones only", index);
  Y8M_CHECK(header.num_shards() >= 1 && header.num_shards() <= 99999,
            "{}: bad number of data shards {}", index, header.num_shards());
  num_shards_ = header.num_shards();
  for (int s = 0; s < num_shards_; ++s)
    shards_.push_back(map_file(tf_bundle_shard_path(prefix, s, num_shards_), false));
  for (size_t i = 1; i < table.size(); ++i) {
    const auto& [name, value] = table[i];
    tensorflow::BundleEntryProto e;
    Y8M_CHECK(e.ParseFromString(value), "{}: malformed BundleEntryProto for '{}'", index, name);
    Y8M_CHECK(e.slices_size() == 0,
              "{}: '{}' is a partitioned variable (saved in slices), which y8m does not read",
              index, name);
    TfBundleEntry t;
    t.name = name;
    t.tf_dtype = e.dtype();
    t.dtype = engine_dtype(e.dtype());
    Y8M_CHECK(!e.shape().unknown_rank(), "{}: '{}' has an unknown rank", index, name);
    for (const auto& d : e.shape().dim()) {
      Y8M_CHECK(d.size() >= 0, "{}: '{}' has a negative dimension {}", index, name, d.size());
      t.shape.push_back(d.size());
    }
    Y8M_CHECK(e.shard_id() >= 0 && e.shard_id() < num_shards_,
              "{}: '{}' is in shard {}, but the bundle has {}", index, name, e.shard_id(),
              num_shards_);
    Y8M_CHECK(e.offset() >= 0 && e.size() >= 0, "{}: '{}' has a negative offset or size", index,
              name);
    t.shard = e.shard_id();
    t.offset = static_cast<uint64_t>(e.offset());
    t.size = static_cast<uint64_t>(e.size());
    t.masked_crc = e.crc32c();
    const uint64_t shard_size = shards_[t.shard].size;
    Y8M_CHECK(t.offset <= shard_size && t.size <= shard_size - t.offset,
              "{}: '{}' (bytes {}..{}) lies outside the data file ({} bytes): truncated?",
              tf_bundle_shard_path(prefix, t.shard, num_shards_), name, t.offset, t.offset + t.size,
              shard_size);
    if (t.dtype) {
      uint64_t numel = 1;
      for (int64_t d : t.shape) {
        Y8M_CHECK(d == 0 || numel <= std::numeric_limits<uint64_t>::max() / d,
                  "{}: '{}' has too many elements", index, name);
        numel *= static_cast<uint64_t>(d);
      }
      Y8M_CHECK(numel <= t.size && numel * dtype_size(*t.dtype) == t.size,
                "{}: '{}' is {} {} but has {} bytes", index, name, tf_dtype_name(t.tf_dtype),
                fmt::format("[{}]", fmt::join(t.shape, ", ")), t.size);
    }
    by_name_[name] = entries_.size();
    entries_.push_back(std::move(t));
  }
}

const TfBundleEntry* TfBundle::find(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

Tensor TfBundle::read(const std::string& name) const {
  const TfBundleEntry* e = find(name);
  Y8M_CHECK(e != nullptr, "{}.index: no tensor '{}'", prefix_, name);
  const std::string data = tf_bundle_shard_path(prefix_, e->shard, num_shards_);
  Y8M_CHECK(e->dtype.has_value(), "{}: tensor '{}' is {}, which y8m does not load", data, name,
            tf_dtype_name(e->tf_dtype));
  const char* p =
      e->size == 0 ? "" : reinterpret_cast<const char*>(shards_[e->shard].data.get()) + e->offset;
  const uint32_t actual = crc32c(p, e->size);
  Y8M_CHECK(actual == crc32c_unmask(e->masked_crc),
            "{}: CRC mismatch in tensor '{}' (bytes {}..{}): stored {:08x}, computed {:08x}", data,
            name, e->offset, e->offset + e->size, crc32c_unmask(e->masked_crc), actual);
  Tensor t = Tensor::empty(e->shape, *e->dtype);
  if (e->size > 0) std::memcpy(t.data_ptr(), p, e->size);
  return t;
}

}  // namespace y8m::io
