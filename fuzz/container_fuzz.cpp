// libFuzzer target: io::Container (the .y8m archive / checkpoint format, io/container.h).
//
// The input is written to an in-memory file and opened as a container; when its header length is
// plausible but the header CRC is wrong, it is opened a second time with the CRC fixed, so that
// mutated headers reach the protobuf parse and the tensor-table checks. Malformed input must throw
// y8m::Error (not an internal assertion, not another exception, not a crash). When it opens, the
// result must satisfy the format's promises: tensor views 64-byte aligned, in order, disjoint and
// inside the file; unique non-empty names that find() returns; codebooks that exist; at most 8
// dimensions. verify() (every blob's CRC) reads every tensor byte.
// Memory: the parser maps the file and must not allocate more than a bounded multiple of its size
// plus a fixed slack (the header's protobuf objects), whatever the header's length fields claim.
#include "fuzz/fuzz_util.h"

#include "io/container.h"
#include "io/crc32c.h"

#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

namespace {

using y8m::fuzz::expect_user_error;
using y8m::fuzz::HeapScope;
using y8m::fuzz::MemFile;

// Protobuf objects and std::map nodes for the smallest header entries (2 bytes each) take about
// 100-200 bytes; everything else is constant per tensor. (Seen: at most 27x on tiny inputs, 5.3 KB
// for the 896-byte checkpoint seed.) Anything sized by a length field would blow far past this.
constexpr int64_t kHeapFactor = 256;
constexpr int64_t kHeapSlack = 64 << 10;
constexpr size_t kPreamble = 32;  // magic, version, header length, header CRC, reserved

void check_contents(const y8m::io::Container& c, size_t size) {
  Y8M_FUZZ_CHECK(c.file_size() == size, "file_size %llu for a %zu-byte input",
                 static_cast<unsigned long long>(c.file_size()), size);
  Y8M_FUZZ_CHECK(c.major_version() == y8m::io::kContainerMajor, "accepted major version %u",
                 c.major_version());
  struct Span {
    const uint8_t* begin;
    size_t bytes;
  };
  std::vector<Span> spans;
  std::set<std::string> names;
  for (const auto& t : c.tensors()) {
    Y8M_FUZZ_CHECK(!t.name.empty() && names.insert(t.name).second, "empty or duplicate name '%s'",
                   t.name.c_str());
    Y8M_FUZZ_CHECK(c.find(t.name) == &t, "find('%s') returns another entry", t.name.c_str());
    Y8M_FUZZ_CHECK(t.codebook.empty() || c.find(t.codebook) != nullptr, "missing codebook '%s'",
                   t.codebook.c_str());
    Y8M_FUZZ_CHECK(t.tensor.defined() && t.tensor.device().is_cpu() && t.tensor.dim() <= 8,
                   "tensor '%s' is %s", t.name.c_str(), t.tensor.str().c_str());
    const size_t bytes = t.tensor.nbytes();
    Y8M_FUZZ_CHECK(bytes <= size, "tensor '%s' of %zu bytes in a %zu-byte file", t.name.c_str(),
                   bytes, size);
    spans.push_back({static_cast<const uint8_t*>(t.tensor.data_ptr()), bytes});
  }
  if (spans.empty()) return;
  // Blobs are 64-byte aligned (the mapping is page-aligned), follow the table order, are disjoint,
  // and lie together inside the data region (which starts at least 64 bytes into the file).
  const uint8_t* first = spans.front().begin;
  for (size_t i = 0; i < spans.size(); ++i) {
    Y8M_FUZZ_CHECK(reinterpret_cast<uintptr_t>(spans[i].begin) % y8m::io::kBlobAlignment == 0,
                   "blob %zu is not 64-byte aligned", i);
    if (i > 0)
      Y8M_FUZZ_CHECK(spans[i].begin >= spans[i - 1].begin + spans[i - 1].bytes, "blob %zu overlaps",
                     i);
  }
  const uint8_t* end = spans.back().begin + spans.back().bytes;
  Y8M_FUZZ_CHECK(end >= first && static_cast<size_t>(end - first) + 64 <= size,
                 "blobs span %lld bytes of a %zu-byte file", static_cast<long long>(end - first),
                 size);
}

// Opens `data` (through the in-memory file) as a container and checks the outcome.
void open_and_check(MemFile& file, const uint8_t* data, size_t size) {
  file.write(data, size);
  HeapScope heap;
  try {
    y8m::io::Container c(file.path());
    check_contents(c, size);
    if (y8m::fuzz::verbose())
      std::fprintf(stderr, "  opened: kind '%s', %zu tensors\n", c.kind().c_str(),
                   c.tensors().size());
    try {
      c.verify();
      if (y8m::fuzz::verbose()) std::fprintf(stderr, "  verified\n");
    } catch (const y8m::Error& e) {
      expect_user_error(e);  // a blob's CRC (names may hold NULs, so the message is not matched)
    }
  } catch (const y8m::Error& e) {
    expect_user_error(e);
  }
  heap.check(size, kHeapFactor, kHeapSlack, "container");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Headers with invalid UTF-8 in string fields are refused by the parse (an error, which is fine);
  // protobuf would also log each one to stderr, which only slows the fuzzer down.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MemFile file;
  open_and_check(file, data, size);
  // A mutated header almost never keeps a valid CRC, which would stop nearly every input at the CRC
  // check. So when the header length is plausible, also open the input with its header CRC fixed:
  // that reaches the protobuf parse and the tensor-table validation with arbitrary headers.
  if (size >= kPreamble) {
    uint64_t hlen;
    std::memcpy(&hlen, data + 16, 8);
    if (hlen <= size - kPreamble) {
      const uint32_t crc = y8m::io::crc32c(data + kPreamble, hlen);
      uint32_t stored;
      std::memcpy(&stored, data + 24, 4);
      if (crc != stored) {
        std::vector<uint8_t> fixed(data, data + size);
        std::memcpy(fixed.data() + 24, &crc, 4);
        open_and_check(file, fixed.data(), size);
      }
    }
  }
  return 0;
}
