// libFuzzer target: io::TfBundle (TensorFlow's V2 checkpoints, io/tf_bundle.h), which y8m-import
// opens on files users download.
//
// Input: a little-endian u16 n, then n bytes of P.index, then the bytes of P.data-00000-of-00001
// (seeds: tiny tf.train.Saver bundles, fuzz/corpus/tf_bundle). Both are written to files in a
// private temporary folder (the reader takes a prefix). A mutated block almost never keeps its
// CRC, so when the index has a footer, the target also opens a copy whose metaindex, index and
// data block CRCs are recomputed, which takes mutations into the block and entry parsers.
// Malformed input must throw y8m::Error (not an internal assertion, not another exception, not a
// crash). When the bundle opens: entries sorted and unique, find() returns each, every loadable
// tensor either reads (its dtype, shape and byte size as the entry says) or fails cleanly.
// Memory: bounded by a multiple of the input size plus a fixed slack.
#include "fuzz/fuzz_util.h"

#include "io/crc32c.h"
#include "io/tf_bundle.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

using y8m::fuzz::expect_user_error;
using y8m::fuzz::HeapScope;

constexpr size_t kFooter = 48;
constexpr int64_t kHeapFactor = 256;
constexpr int64_t kHeapSlack = 64 << 10;

// The private folder of this process, removed at exit (the string is never destroyed, so the exit
// handler can still read it).
const std::string& work_dir() {
  static const std::string* dir = [] {
    auto* path =
        new std::string((std::filesystem::temp_directory_path() / "y8m-fuzz-tfb-XXXXXX").string());
    Y8M_FUZZ_CHECK(mkdtemp(path->data()) != nullptr, "mkdtemp failed");
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*dir, ec);
    });
    return path;
  }();
  return *dir;
}

void write_file(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  Y8M_FUZZ_CHECK(out.good(), "cannot write %s", path.c_str());
}

bool varint(const uint8_t*& p, const uint8_t* end, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const uint8_t b = *p++;
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// Recomputes the masked CRC of the block at (offset, size): it covers the contents and the type
// byte, and follows them. Returns false when the block does not fit.
bool fix_block(std::vector<uint8_t>& t, uint64_t offset, uint64_t size) {
  if (offset > t.size() || size > t.size() - offset || t.size() - offset - size < 5) return false;
  const uint32_t crc = y8m::io::masked_crc32c(t.data() + offset, size + 1);
  std::memcpy(t.data() + offset + size + 1, &crc, 4);
  return true;
}

// The index (or metaindex) block's entries are block handles: fix each one's CRC too.
void fix_handles_in(std::vector<uint8_t>& t, uint64_t offset, uint64_t size) {
  if (size < 4) return;
  uint32_t restarts;
  std::memcpy(&restarts, t.data() + offset + size - 4, 4);
  if (restarts > (size - 4) / 4) return;
  const uint8_t* p = t.data() + offset;
  const uint8_t* end = t.data() + offset + size - 4 - 4 * static_cast<uint64_t>(restarts);
  for (int guard = 0; p < end && guard < 1024; ++guard) {
    uint64_t shared, unshared, value_len, block_off, block_size;
    if (!varint(p, end, &shared) || !varint(p, end, &unshared) || !varint(p, end, &value_len))
      return;
    if (unshared > static_cast<uint64_t>(end - p)) return;
    p += unshared;
    if (value_len > static_cast<uint64_t>(end - p)) return;
    const uint8_t* value = p;
    p += value_len;
    if (varint(value, p, &block_off) && varint(value, p, &block_size))
      fix_block(t, block_off, block_size);
  }
}

// The index with every block CRC the footer leads to recomputed (data blocks before the index
// block that lists them, so a fixed data block's CRC does not change the index block's).
std::vector<uint8_t> with_fixed_crcs(const uint8_t* index, size_t n) {
  std::vector<uint8_t> t(index, index + n);
  const uint8_t* p = t.data() + n - kFooter;
  const uint8_t* end = p + 40;
  uint64_t meta_off, meta_size, index_off, index_size;
  if (!varint(p, end, &meta_off) || !varint(p, end, &meta_size) || !varint(p, end, &index_off) ||
      !varint(p, end, &index_size))
    return t;
  if (index_off <= n && index_size <= n - index_off) fix_handles_in(t, index_off, index_size);
  fix_block(t, meta_off, meta_size);
  fix_block(t, index_off, index_size);
  return t;
}

void open_and_check(const std::string& prefix, const uint8_t* index, size_t n, const uint8_t* data,
                    size_t data_size, size_t input_size) {
  write_file(prefix + ".index", index, n);
  write_file(y8m::io::tf_bundle_shard_path(prefix, 0, 1), data, data_size);
  HeapScope heap;
  try {
    const y8m::io::TfBundle b(prefix);
    const auto& entries = b.entries();
    for (size_t i = 0; i < entries.size(); ++i) {
      const auto& e = entries[i];
      Y8M_FUZZ_CHECK(i == 0 || entries[i - 1].name < e.name, "entries out of order at '%s'",
                     e.name.c_str());
      Y8M_FUZZ_CHECK(b.find(e.name) == &e, "find('%s') returns another entry", e.name.c_str());
      if (!e.dtype) continue;
      try {
        const y8m::Tensor t = b.read(e.name);
        Y8M_FUZZ_CHECK(t.dtype() == *e.dtype && t.shape() == e.shape && t.nbytes() == e.size,
                       "'%s' read as %s, entry says %llu bytes", e.name.c_str(), t.str().c_str(),
                       static_cast<unsigned long long>(e.size));
      } catch (const y8m::Error& err) {
        expect_user_error(err);
      }
    }
    if (y8m::fuzz::verbose()) std::fprintf(stderr, "  opened: %zu entries\n", entries.size());
  } catch (const y8m::Error& err) {
    expect_user_error(err);
  }
  heap.check(input_size, kHeapFactor, kHeapSlack, "TfBundle");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t n =
      std::min<size_t>(static_cast<size_t>(data[0]) | (size_t(data[1]) << 8), size - 2);
  const uint8_t* index = data + 2;
  const uint8_t* shard = index + n;
  const size_t shard_size = size - 2 - n;
  const std::string prefix = work_dir() + "/b";
  open_and_check(prefix, index, n, shard, shard_size, size);
  if (n >= kFooter) {
    const std::vector<uint8_t> fixed = with_fixed_crcs(index, n);
    if (std::memcmp(fixed.data(), index, n) != 0)
      open_and_check(prefix, fixed.data(), n, shard, shard_size, size);
  }
  return 0;
}
