// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) and TensorFlow's masked form (SPEC §1.1):
//   masked = ((crc >> 15) | (crc << 17)) + 0xA282EAD8
// Uses the SSE4.2 crc32 instruction when the CPU has it (three interleaved streams over thirds of
// the buffer, recombined by GF(2) multiplication), else slicing-by-8 tables. Both give identical
// results; tests compare them on known vectors.
#pragma once
#include "io/io_layer.h"

#include <cstddef>
#include <cstdint>

namespace y8m::io {

// CRC of `n` bytes, continuing from `crc` (0 to start).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);
inline uint32_t crc32c(const void* data, size_t n) { return crc32c_extend(0, data, n); }
// The CRC of the concatenation A B from crc32c(A), crc32c(B) and the length of B (zlib's combine).
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
// The table implementation, always available (tests compare it with the hardware path).
uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t n);
bool crc32c_hardware_available();

inline uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }
inline uint32_t crc32c_unmask(uint32_t masked) {
  const uint32_t rot = masked - 0xA282EAD8u;
  return (rot >> 17) | (rot << 15);
}
inline uint32_t masked_crc32c(const void* data, size_t n) { return crc32c_mask(crc32c(data, n)); }

}  // namespace y8m::io
