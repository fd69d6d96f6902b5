// The container format: bit-exact round trips, zero-copy views, and every corruption case giving a
// clear error (never a crash): magic, version, header cap, header CRC, truncation, trailing bytes,
// and crafted tensor tables (unknown dtype, too many dims, negative / overflowing dims, bad
// lengths, unaligned, overlapping or out-of-bounds offsets, duplicate names, missing codebook).
#include "io/container.h"
#include "engine/error.h"
#include "io/crc32c.h"
#include "io/proto/container.pb.h"
#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <functional>

namespace y8m::io {
namespace {

using testing::TempDir;

using testing::error_of;

ContainerContents sample() {
  ContainerContents c;
  c.kind = "checkpoint";
  c.metadata = {{"step", "42"}, {"flags", "--model=NetVLADModelLF"}};
  c.model_config = {{"model", "NetVLADModelLF"}, {"netvlad_cluster_size", "8"}};
  c.tensors.push_back(
      {"a/weights", Tensor::from_vector<float>({1.5f, -2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3}), ""});
  c.tensors.push_back({"b", Tensor::from_vector<int64_t>({7}, {}), ""});
  c.tensors.push_back({"empty", Tensor::zeros({0, 5}), ""});
  c.tensors.push_back({"q", Tensor::from_vector<uint8_t>({1, 2, 3}, {3}), "cb"});
  c.tensors.push_back({"cb", Tensor::zeros({256}), ""});
  return c;
}

TEST(Container, RoundTrip) {
  TempDir d;
  write_container(d.file("m.y8m"), sample());
  Container c(d.file("m.y8m"));
  c.verify();
  EXPECT_EQ(c.kind(), "checkpoint");
  EXPECT_EQ(c.metadata().at("step"), "42");
  EXPECT_EQ(c.model_config().at("netvlad_cluster_size"), "8");
  ASSERT_EQ(c.tensors().size(), 5u);
  EXPECT_EQ(c.find("a/weights")->tensor.to_vector<float>(),
            (std::vector<float>{1.5f, -2.f, 3.f, 4.f, 5.f, 6.f}));
  EXPECT_EQ(c.find("b")->tensor.item<int64_t>(), 7);
  EXPECT_EQ(c.find("empty")->tensor.shape(), (Shape{0, 5}));
  EXPECT_EQ(c.find("q")->codebook, "cb");
  for (const auto& t : c.tensors())
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.tensor.data_ptr()) % 64, 0u) << t.name;
  // Writing what was read gives the same bytes.
  ContainerContents again;
  again.kind = c.kind();
  again.metadata = c.metadata();
  again.model_config = c.model_config();
  again.tensors = c.tensors();
  write_container(d.file("n.y8m"), again);
  EXPECT_EQ(testing::read_file(d.file("n.y8m")), testing::read_file(d.file("m.y8m")));
  EXPECT_EQ(c.find("nope"), nullptr);
}

class CorruptContainer : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = d_.file("m.y8m");
    write_container(path_, sample());
    bytes_ = testing::read_file(path_);
  }
  std::string open_error(const std::string& bytes) {
    testing::write_file(path_, bytes);
    return error_of([&] { Container c(path_); });
  }
  // Replaces the header by `h` (re-serialized, CRC fixed) keeping the data region.
  std::string with_header(const proto::ContainerHeader& h) {
    uint64_t hlen;
    std::memcpy(&hlen, bytes_.data() + 16, 8);
    const uint64_t data_start = (32 + hlen + 63) / 64 * 64;
    const std::string data = bytes_.substr(data_start);
    std::string header = h.SerializeAsString();
    std::string out = bytes_.substr(0, 32);
    const uint64_t n = header.size();
    std::memcpy(&out[16], &n, 8);
    const uint32_t crc = crc32c(header.data(), header.size());
    std::memcpy(&out[24], &crc, 4);
    out += header;
    out.resize((32 + n + 63) / 64 * 64, '\0');
    return out + data;
  }
  proto::ContainerHeader header() {
    uint64_t hlen;
    std::memcpy(&hlen, bytes_.data() + 16, 8);
    proto::ContainerHeader h;
    h.ParseFromArray(bytes_.data() + 32, static_cast<int>(hlen));
    return h;
  }
  TempDir d_;
  std::string path_, bytes_;
};

#define EXPECT_ERROR_HAS(expr, text)                                      \
  do {                                                                    \
    const std::string msg_ = (expr);                                      \
    EXPECT_NE(msg_.find(text), std::string::npos) << "message: " << msg_; \
  } while (0)

TEST_F(CorruptContainer, Preamble) {
  std::string b = bytes_;
  b[0] = 'X';
  EXPECT_ERROR_HAS(open_error(b), "bad magic");
  b = bytes_;
  b[8] = 2;  // major version 2
  EXPECT_ERROR_HAS(open_error(b), "version 2.0 is not supported");
  b = bytes_;
  const uint64_t huge = 1ull << 40;
  std::memcpy(&b[16], &huge, 8);
  EXPECT_ERROR_HAS(open_error(b), "exceeds the");
  b = bytes_;
  b[40] = static_cast<char>(b[40] ^ 1);
  EXPECT_ERROR_HAS(open_error(b), "header CRC mismatch");
  EXPECT_ERROR_HAS(open_error(bytes_.substr(0, 20)), "truncated");
  EXPECT_ERROR_HAS(open_error(bytes_.substr(0, 100)), "truncated");
  EXPECT_ERROR_HAS(open_error(bytes_.substr(0, bytes_.size() - 1)), "truncated or trailing");
  EXPECT_ERROR_HAS(open_error(bytes_ + "x"), "truncated or trailing");
  EXPECT_ERROR_HAS(open_error(""), "truncated");
}

TEST_F(CorruptContainer, TensorTable) {
  proto::ContainerHeader h = header();
  h.mutable_tensors(0)->set_dtype(static_cast<proto::DType>(99));
  EXPECT_ERROR_HAS(open_error(with_header(h)), "unknown dtype");
  h = header();
  for (int i = 0; i < 8; ++i) h.mutable_tensors(2)->add_shape(1);
  EXPECT_ERROR_HAS(open_error(with_header(h)), "dimensions");
  h = header();
  h.mutable_tensors(0)->set_shape(0, -2);
  EXPECT_ERROR_HAS(open_error(with_header(h)), "negative dimension");
  h = header();
  h.mutable_tensors(0)->set_shape(0, int64_t(1) << 62);
  EXPECT_ERROR_HAS(open_error(with_header(h)), "overflows");
  h = header();
  h.mutable_tensors(0)->set_length(4);
  EXPECT_ERROR_HAS(open_error(with_header(h)), "has length 4");
  h = header();
  h.mutable_tensors(1)->set_offset(h.tensors(1).offset() + 8);
  EXPECT_ERROR_HAS(open_error(with_header(h)), "not 64-byte aligned");
  h = header();
  h.mutable_tensors(1)->set_offset(0);
  EXPECT_ERROR_HAS(open_error(with_header(h)), "overlaps");
  h = header();
  h.mutable_tensors(4)->set_offset(h.data_length());
  EXPECT_ERROR_HAS(open_error(with_header(h)), "outside");
  h = header();
  h.mutable_tensors(1)->set_name("a/weights");
  EXPECT_ERROR_HAS(open_error(with_header(h)), "duplicate name");
  h = header();
  h.mutable_tensors(3)->set_codebook("missing");
  EXPECT_ERROR_HAS(open_error(with_header(h)), "missing codebook");
  h = header();
  h.mutable_tensors()->RemoveLast();  // the last blob becomes unexplained bytes
  EXPECT_ERROR_HAS(open_error(with_header(h)), "unused bytes");
  h = header();
  for (int i = 0; i < 100000; ++i)
    h.add_tensors()->set_name("x" + std::to_string(i));  // huge count, all bad
  EXPECT_FALSE(open_error(with_header(h)).empty());
}

TEST_F(CorruptContainer, BlobCrcCheckedByVerify) {
  std::string b = bytes_;
  b[b.size() - 64 * 4 - 3] = 1;  // inside a tensor blob (the data region ends with the codebook)
  testing::write_file(path_, b);
  Container c(path_);
  EXPECT_ERROR_HAS(error_of([&] { c.verify(); }), "fails its CRC check");
}

TEST(Container, AtomicWriteLeavesNoTemporary) {
  TempDir d;
  ContainerContents c = sample();
  c.tensors.push_back(
      {"b", Tensor::zeros({1}), ""});  // duplicate: refused before anything is written
  EXPECT_THROW(write_container(d.file("x.y8m"), c), Error);
  EXPECT_TRUE(std::filesystem::is_empty(d.path()));
}

}  // namespace
}  // namespace y8m::io
