#include "io/container.h"

#include "engine/error.h"
#include "io/atomic_file.h"
#include "io/crc32c.h"
#include "io/dtype_proto.h"
#include "io/mapped_file.h"
#include "io/proto/container.pb.h"
#include "io/wire.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>

namespace y8m::io {

namespace {

constexpr char kMagic[8] = {'Y', '8', 'M', 'C', 'O', 'N', 'T', '\0'};
constexpr uint64_t kPreamble = 32;
constexpr int kMaxDims = 8;

uint64_t align_up(uint64_t n) { return (n + kBlobAlignment - 1) / kBlobAlignment * kBlobAlignment; }

void put_u32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
void put_u64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t get_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Checks that every length-delimited field of the header, and of its message fields (map entries,
// tensor entries), fits in the bytes that enclose it. protobuf trusts a nested message's declared
// length until it has parsed it, and meanwhile reserves up to 50 MB for a string inside it: without
// this, a header of a few hundred bytes could make the reader allocate megabytes before failing.
bool header_lengths_fit(std::string_view header) {
  try {
    wire::Cursor c(header);
    while (!c.done()) {
      uint32_t wt;
      const uint32_t f = c.tag(&wt);
      if (wt != wire::kLen) {
        c.skip(wt);
        continue;
      }
      wire::Cursor m(c.bytes());
      if (f < 2 || f > 4) continue;  // 2 metadata, 3 model_config, 4 tensors: messages
      while (!m.done()) {
        uint32_t mwt;
        m.tag(&mwt);
        m.skip(mwt);
      }
    }
  } catch (const Error&) {
    return false;
  }
  return true;
}

// Writes all of `n` bytes or throws.
void write_all(int fd, const void* data, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    Y8M_CHECK(w > 0, "{}: write failed: {}", path, std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

void write_container(const std::string& path, const ContainerContents& c) {
  proto::ContainerHeader h;
  h.set_kind(c.kind);
  for (const auto& kv : c.metadata) (*h.mutable_metadata())[kv.first] = kv.second;
  for (const auto& kv : c.model_config) (*h.mutable_model_config())[kv.first] = kv.second;
  h.set_graph(c.graph);
  std::vector<Tensor> host;
  uint64_t offset = 0;
  std::set<std::string> names;
  for (const ContainerTensor& t : c.tensors) {
    Y8M_CHECK(names.insert(t.name).second, "{}: tensor '{}' written twice", path, t.name);
    Y8M_CHECK(t.tensor.dim() <= kMaxDims, "{}: tensor '{}' has more than {} dimensions", path,
              t.name, kMaxDims);
    Tensor ht = t.tensor.to(Device::cpu());
    auto* e = h.add_tensors();
    e->set_name(t.name);
    e->set_dtype(dtype_to_proto(ht.dtype()));
    for (int64_t d : ht.shape()) e->add_shape(d);
    e->set_offset(offset);
    e->set_length(ht.nbytes());
    e->set_crc32c(crc32c(ht.data_ptr(), ht.nbytes()));
    e->set_codebook(t.codebook);
    offset = align_up(offset + ht.nbytes());
    host.push_back(ht);
  }
  h.set_data_length(offset);
  std::string header;
  {
    google::protobuf::io::StringOutputStream sos(&header);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    h.SerializeToCodedStream(&cos);
  }
  Y8M_CHECK(header.size() <= kMaxHeaderBytes, "{}: header of {} bytes exceeds the {} byte cap",
            path, header.size(), kMaxHeaderBytes);
  char pre[kPreamble] = {};
  std::memcpy(pre, kMagic, 8);
  put_u32(pre + 8, kContainerMajor);
  put_u32(pre + 12, kContainerMinor);
  put_u64(pre + 16, header.size());
  put_u32(pre + 24, crc32c(header.data(), header.size()));

  const std::string tmp = temp_path_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  Y8M_CHECK(fd >= 0, "{}: cannot create: {}", tmp, std::strerror(errno));
  try {
    const std::string zeros(kBlobAlignment, '\0');
    write_all(fd, pre, kPreamble, tmp);
    write_all(fd, header.data(), header.size(), tmp);
    write_all(fd, zeros.data(), align_up(kPreamble + header.size()) - (kPreamble + header.size()),
              tmp);
    uint64_t at = 0;
    for (size_t i = 0; i < host.size(); ++i) {
      write_all(fd, host[i].data_ptr(), host[i].nbytes(), tmp);
      at += host[i].nbytes();
      const uint64_t next =
          i + 1 < host.size() ? h.tensors(static_cast<int>(i + 1)).offset() : h.data_length();
      write_all(fd, zeros.data(), next - at, tmp);
      at = next;
    }
    Y8M_CHECK(::fsync(fd) == 0, "{}: fsync failed: {}", tmp, std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    Y8M_FAIL("{}: cannot rename from {}: {}", path, tmp, std::strerror(err));
  }
  sync_dir(std::filesystem::path(path).parent_path().string());
}

Container::Container(const std::string& path) : path_(path) {
  MappedFile f = map_file(path, /*sequential=*/false);
  size_ = f.size;
  Y8M_CHECK(size_ >= kPreamble, "{}: truncated: {} bytes, a y8m container has at least {}", path,
            size_, kPreamble);
  const uint8_t* base = f.data.get();
  mapping_ = std::shared_ptr<void>(f.data, const_cast<uint8_t*>(base));

  Y8M_CHECK(std::memcmp(base, kMagic, 8) == 0, "{}: not a y8m container (bad magic)", path);
  major_ = get_u32(base + 8);
  minor_ = get_u32(base + 12);
  Y8M_CHECK(major_ == kContainerMajor,
            "{}: container format version {}.{} is not supported (this y8m reads {}.x)", path,
            major_, minor_, kContainerMajor);
  const uint64_t hlen = get_u64(base + 16);
  Y8M_CHECK(hlen <= kMaxHeaderBytes, "{}: header length {} exceeds the {} byte cap", path, hlen,
            kMaxHeaderBytes);
  Y8M_CHECK(hlen <= size_ - kPreamble,
            "{}: truncated: header of {} bytes but only {} bytes follow the preamble", path, hlen,
            size_ - kPreamble);
  Y8M_CHECK(crc32c(base + kPreamble, hlen) == get_u32(base + 24),
            "{}: header CRC mismatch (corrupt file)", path);
  proto::ContainerHeader h;
  Y8M_CHECK(
      header_lengths_fit(std::string_view(reinterpret_cast<const char*>(base + kPreamble), hlen)) &&
          h.ParseFromArray(base + kPreamble, static_cast<int>(hlen)),
      "{}: header does not parse", path);

  const uint64_t data_start = align_up(kPreamble + hlen);
  Y8M_CHECK(data_start <= size_ && h.data_length() == size_ - data_start,
            "{}: file is {} bytes but the header describes {} (truncated or trailing bytes)", path,
            size_, data_start + h.data_length());
  contents_.kind = h.kind();
  contents_.metadata.insert(h.metadata().begin(), h.metadata().end());
  contents_.model_config.insert(h.model_config().begin(), h.model_config().end());
  contents_.graph = h.graph();
  std::set<std::string> names;
  uint64_t prev_end = 0;
  for (int i = 0; i < h.tensors_size(); ++i) {
    const auto& e = h.tensors(i);
    const std::string& n = e.name();
    Y8M_CHECK(!n.empty() && names.insert(n).second,
              "{}: tensor {} has an empty or duplicate name '{}'", path, i, n);
    const std::optional<DType> known = dtype_from_proto(e.dtype());
    Y8M_CHECK(known.has_value(), "{}: tensor '{}' has unknown dtype {}", path, n,
              static_cast<int>(e.dtype()));
    const DType dt = *known;
    Y8M_CHECK(e.shape_size() <= kMaxDims, "{}: tensor '{}' has {} dimensions (at most {})", path, n,
              e.shape_size(), kMaxDims);
    uint64_t numel = 1;
    Shape shape;
    for (int64_t d : e.shape()) {
      Y8M_CHECK(d >= 0, "{}: tensor '{}' has a negative dimension {}", path, n, d);
      Y8M_CHECK(
          d == 0 || numel <= std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d) / 8,
          "{}: tensor '{}' size overflows", path, n);
      numel *= static_cast<uint64_t>(d);
      shape.push_back(d);
    }
    const uint64_t bytes = numel * engine::dtype_size(dt);
    Y8M_CHECK(e.length() == bytes, "{}: tensor '{}' has length {} but its shape needs {}", path, n,
              e.length(), bytes);
    Y8M_CHECK(e.offset() % kBlobAlignment == 0, "{}: tensor '{}' offset {} is not 64-byte aligned",
              path, n, e.offset());
    Y8M_CHECK(e.offset() >= prev_end,
              "{}: tensor '{}' overlaps the previous tensor or is out of order", path, n);
    Y8M_CHECK(e.offset() <= h.data_length() && bytes <= h.data_length() - e.offset(),
              "{}: tensor '{}' [{}, +{}) lies outside the {}-byte data region", path, n, e.offset(),
              bytes, h.data_length());
    Y8M_CHECK(e.offset() - prev_end < kBlobAlignment, "{}: unexplained gap before tensor '{}'",
              path, n);
    prev_end = e.offset() + bytes;
    Tensor t = Tensor::wrap(const_cast<uint8_t*>(base + data_start + e.offset()), shape, dt,
                            Device::cpu(), mapping_);
    contents_.tensors.push_back({n, t, e.codebook()});
    crcs_.push_back(e.crc32c());
  }
  Y8M_CHECK(h.data_length() - prev_end < kBlobAlignment,
            "{}: {} unused bytes at the end of the data region", path, h.data_length() - prev_end);
  for (const auto& t : contents_.tensors)
    Y8M_CHECK(t.codebook.empty() || find(t.codebook) != nullptr,
              "{}: tensor '{}' names a missing codebook '{}'", path, t.name, t.codebook);
}

Container::~Container() = default;

const ContainerTensor* Container::find(const std::string& name) const {
  for (const auto& t : contents_.tensors)
    if (t.name == name) return &t;
  return nullptr;
}

void Container::verify() const {
  for (size_t i = 0; i < contents_.tensors.size(); ++i) {
    const Tensor& t = contents_.tensors[i].tensor;
    Y8M_CHECK(crc32c(t.data_ptr(), t.nbytes()) == crcs_[i],
              "{}: tensor '{}' fails its CRC check (corrupt data)", path_,
              contents_.tensors[i].name);
  }
}

}  // namespace y8m::io
