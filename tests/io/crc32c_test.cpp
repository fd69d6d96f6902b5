// CRC-32C against published vectors (RFC 3720 B.4, the "123456789" check value) and the hardware
// path against the table path on many lengths and alignments.
#include "io/crc32c.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace y8m::io {
namespace {

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  std::vector<uint8_t> buf(32, 0);
  EXPECT_EQ(crc32c(buf.data(), 32), 0x8A9136AAu);
  std::fill(buf.begin(), buf.end(), 0xff);
  EXPECT_EQ(crc32c(buf.data(), 32), 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) buf[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  EXPECT_EQ(crc32c(buf.data(), 32), 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) buf[static_cast<size_t>(i)] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(crc32c(buf.data(), 32), 0x113FDB5Cu);
  EXPECT_EQ(crc32c(nullptr, 0), 0u);
}

TEST(Crc32c, ExtendEqualsWhole) {
  const std::string s = "hello world, this is a longer string for crc32c";
  const uint32_t whole = crc32c(s.data(), s.size());
  for (size_t cut = 0; cut <= s.size(); ++cut)
    EXPECT_EQ(crc32c_extend(crc32c(s.data(), cut), s.data() + cut, s.size() - cut), whole) << cut;
}

TEST(Crc32c, HardwareMatchesPortable) {
  std::vector<uint8_t> buf(40000);
  uint32_t x = 12345;
  for (auto& b : buf) b = static_cast<uint8_t>((x = x * 1664525u + 1013904223u) >> 24);
  for (size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 4095u, 12287u, 12288u, 12289u, 30000u, 39990u})
    for (size_t off : {0u, 1u, 3u})
      ASSERT_EQ(crc32c(buf.data() + off, len), crc32c_extend_portable(0, buf.data() + off, len))
          << "len " << len << " offset " << off << " hardware " << crc32c_hardware_available();
}

TEST(Crc32c, CombineEqualsWhole) {
  std::vector<uint8_t> buf(5000);
  uint32_t x = 777;
  for (auto& b : buf) b = static_cast<uint8_t>((x = x * 1664525u + 1013904223u) >> 24);
  const uint32_t whole = crc32c(buf.data(), buf.size());
  for (size_t cut : {0u, 1u, 8u, 1000u, 3071u, 4999u, 5000u})
    EXPECT_EQ(crc32c_combine(crc32c(buf.data(), cut), crc32c(buf.data() + cut, buf.size() - cut),
                             buf.size() - cut),
              whole)
        << "cut " << cut;
  EXPECT_NE(crc32c_combine(crc32c(buf.data(), 10), crc32c(buf.data() + 10, 20), 21),
            crc32c(buf.data(), 30));
}

TEST(Crc32c, HardwareMatchesPortableOnRecordSizes) {
  // The three-stream path starts at 3 KiB and cuts the buffer into thirds: lengths around the
  // threshold, not multiples of 24, and a YouTube-8M frame record (~350 KB).
  std::vector<uint8_t> buf(360000);
  uint32_t x = 4242;
  for (auto& b : buf) b = static_cast<uint8_t>((x = x * 1664525u + 1013904223u) >> 24);
  for (size_t len : {3071u, 3072u, 3073u, 3095u, 3096u, 100001u, 351789u, 359999u})
    ASSERT_EQ(crc32c_extend(0x9abcdef0u, buf.data() + 1, len),
              crc32c_extend_portable(0x9abcdef0u, buf.data() + 1, len))
        << "len " << len;
}

TEST(Crc32c, MaskRoundTrip) {
  for (uint32_t c : {0u, 1u, 0xE3069283u, 0xffffffffu}) EXPECT_EQ(crc32c_unmask(crc32c_mask(c)), c);
  EXPECT_NE(crc32c_mask(0xE3069283u), 0xE3069283u);
  // TensorFlow's mask: rotate right by 15, add 0xa282ead8.
  EXPECT_EQ(crc32c_mask(0u), 0xA282EAD8u);
}

}  // namespace
}  // namespace y8m::io
