// A minimal protobuf wire-format cursor (varint, fixed32/64, length-delimited) for the zero-copy
// parse of YouTube-8M records. Every read is bounds-checked; malformed input throws y8m::Error with
// `what`.
#pragma once
#include "io/io_layer.h"

#include "engine/error.h"

#include <cstdint>
#include <cstring>
#include <string_view>

namespace y8m::io::wire {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLen = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5
};

class Cursor {
 public:
  explicit Cursor(std::string_view s)
      : p_(reinterpret_cast<const uint8_t*>(s.data())), end_(p_ + s.size()) {}
  bool done() const { return p_ >= end_; }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      Y8M_CHECK(p_ < end_, "malformed protobuf: truncated varint");
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    Y8M_FAIL("malformed protobuf: varint longer than 10 bytes");
  }
  // Reads a tag; returns field number and sets the wire type.
  uint32_t tag(uint32_t* wire_type) {
    const uint64_t t = varint();
    *wire_type = static_cast<uint32_t>(t & 7);
    const uint64_t field = t >> 3;
    Y8M_CHECK(field > 0 && field < (1u << 29), "malformed protobuf: bad field number {}", field);
    return static_cast<uint32_t>(field);
  }
  std::string_view bytes() {
    const uint64_t n = varint();
    Y8M_CHECK(n <= static_cast<uint64_t>(end_ - p_),
              "malformed protobuf: length {} exceeds the {} bytes left", n, end_ - p_);
    std::string_view s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }
  uint32_t fixed32() {
    Y8M_CHECK(end_ - p_ >= 4, "malformed protobuf: truncated fixed32");
    uint32_t v;
    std::memcpy(&v, p_, 4);
    p_ += 4;
    return v;
  }
  uint64_t fixed64() {
    Y8M_CHECK(end_ - p_ >= 8, "malformed protobuf: truncated fixed64");
    uint64_t v;
    std::memcpy(&v, p_, 8);
    p_ += 8;
    return v;
  }
  // Skips a field of the given wire type (unknown fields). Groups are skipped to their end tag.
  void skip(uint32_t wire_type, int depth = 0) {
    switch (wire_type) {
      case kVarint:
        varint();
        return;
      case kFixed64:
        fixed64();
        return;
      case kLen:
        bytes();
        return;
      case kFixed32:
        fixed32();
        return;
      case kStartGroup: {
        Y8M_CHECK(depth < 32, "malformed protobuf: groups nested too deeply");
        for (;;) {
          uint32_t wt;
          tag(&wt);
          if (wt == kEndGroup) return;
          skip(wt, depth + 1);
        }
      }
      default:
        Y8M_FAIL("malformed protobuf: unexpected wire type {}", wire_type);
    }
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace y8m::io::wire
