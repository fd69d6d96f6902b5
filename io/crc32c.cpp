#include "io/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>
#endif

namespace y8m::io {

namespace {

// Slicing-by-8 tables, built once.
struct Tables {
  uint32_t t[8][256];
  Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
};
const Tables& tables() {
  static const Tables tb;
  return tb;
}

#if defined(__x86_64__)
bool detect_sse42() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  return (c & bit_SSE4_2) != 0;
}

__attribute__((target("sse4.2"))) uint64_t crc_u64(uint64_t crc, const uint8_t* p, size_t n8) {
  for (size_t i = 0; i < n8; ++i) {
    uint64_t v;
    std::memcpy(&v, p + 8 * i, 8);
    crc = _mm_crc32_u64(crc, v);
  }
  return crc;
}

// GF(2) shift of a CRC by `bytes` zero bytes (to combine interleaved streams). Computed by the
// table method on zeros for the fixed block length used below, precomputed as a 4x256 lookup.
struct ShiftTable {
  uint32_t t[4][256];
  explicit ShiftTable(size_t bytes) {
    // The CRC state after feeding `bytes` zeros from state s is linear in s: build it per input
    // byte.
    for (int k = 0; k < 4; ++k)
      for (uint32_t v = 0; v < 256; ++v) t[k][v] = shift_raw(v << (8 * k), bytes);
  }
  static uint32_t shift_raw(uint32_t crc, size_t bytes) {
    // Zero bytes through the table CRC: crc = (crc >> 8) ^ T[crc & 0xff].
    const Tables& tb = tables();
    for (size_t i = 0; i < bytes; ++i) crc = (crc >> 8) ^ tb.t[0][crc & 0xff];
    return crc;
  }
  uint32_t operator()(uint32_t crc) const {
    return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
  }
};

constexpr size_t kStripe = 4096;  // bytes per stream per round of the 3-way loop

__attribute__((target("sse4.2"))) uint32_t crc_hw(uint32_t crc, const uint8_t* p, size_t n) {
  static const ShiftTable shift(kStripe);
  uint64_t c0 = crc;
  // Three independent streams hide the crc32 instruction's 3-cycle latency.
  while (n >= 3 * kStripe) {
    uint64_t c1 = 0, c2 = 0;
    for (size_t i = 0; i < kStripe; i += 8) {
      uint64_t v0, v1, v2;
      std::memcpy(&v0, p + i, 8);
      std::memcpy(&v1, p + kStripe + i, 8);
      std::memcpy(&v2, p + 2 * kStripe + i, 8);
      c0 = _mm_crc32_u64(c0, v0);
      c1 = _mm_crc32_u64(c1, v1);
      c2 = _mm_crc32_u64(c2, v2);
    }
    c0 = shift(shift(static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1)) ^
         static_cast<uint32_t>(c2);
    p += 3 * kStripe;
    n -= 3 * kStripe;
  }
  c0 = crc_u64(c0, p, n / 8);
  p += n / 8 * 8;
  n %= 8;
  uint32_t c = static_cast<uint32_t>(c0);
  for (size_t i = 0; i < n; ++i) c = _mm_crc32_u8(c, p[i]);
  return c;
}

__attribute__((target("sse4.2"))) uint32_t crc_copy_hw(uint32_t crc, uint8_t* dst,
                                                       const uint8_t* src, size_t n) {
  uint64_t c = crc;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, src + i, 8);
    c = _mm_crc32_u64(c, v);
    std::memcpy(dst + i, &v, 8);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; i < n; ++i) {
    c32 = _mm_crc32_u8(c32, src[i]);
    dst[i] = src[i];
  }
  return c32;
}
#endif

}  // namespace

uint32_t crc32c_copy(uint32_t crc, void* dst, const void* src, size_t n) {
#if defined(__x86_64__)
  if (crc32c_hardware_available())
    return ~crc_copy_hw(~crc, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), n);
#endif
  std::memcpy(dst, src, n);
  return crc32c_extend_portable(crc, src, n);
}

bool crc32c_hardware_available() {
#if defined(__x86_64__)
  static const bool yes = detect_sse42();
  return yes;
#else
  return false;
#endif
}

uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t n) {
  const Tables& tb = tables();
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = tb.t[7][lo & 0xff] ^ tb.t[6][(lo >> 8) & 0xff] ^ tb.t[5][(lo >> 16) & 0xff] ^
        tb.t[4][lo >> 24] ^ tb.t[3][hi & 0xff] ^ tb.t[2][(hi >> 8) & 0xff] ^
        tb.t[1][(hi >> 16) & 0xff] ^ tb.t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ tb.t[0][(c ^ *p++) & 0xff];
  return ~c;
}

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n) {
#if defined(__x86_64__)
  if (crc32c_hardware_available()) return ~crc_hw(~crc, static_cast<const uint8_t*>(data), n);
#endif
  return crc32c_extend_portable(crc, data, n);
}

}  // namespace y8m::io
