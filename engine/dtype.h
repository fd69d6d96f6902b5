// Element types. f32 is the reference precision; f64 exists for gradient checks on the CPU; f16 and
// bf16 are storage types (quantized archives, opt-in speed modes); u8/i8 hold quantized frames and
// weights; i32/i64 hold indices and labels.
#pragma once
#include "engine/engine_layer.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace y8m::engine {

enum class DType : uint8_t { f32, f64, f16, bf16, u8, i8, i32, i64 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
bool is_floating(DType t);
// Parses "f32", "float32", ... ; throws y8m::Error naming the string otherwise.
DType dtype_from_name(const std::string& name);

// 16-bit float storage types. Conversions round to nearest even, as IEEE and CUDA's __float2half_rn
// do.
struct Half {
  uint16_t bits = 0;
};
struct BFloat16 {
  uint16_t bits = 0;
};

float half_to_float(Half h);
Half float_to_half(float f);

inline float bf16_to_float(BFloat16 b) {
  uint32_t u = static_cast<uint32_t>(b.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline BFloat16 float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return BFloat16{static_cast<uint16_t>((u >> 16) | 0x40)};  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);                             // round to nearest even
  return BFloat16{static_cast<uint16_t>(u >> 16)};
}

// Maps a C++ element type to its DType (used by Tensor::data<T>() to check the request).
template <class T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::f64;
};
template <>
struct DTypeOf<Half> {
  static constexpr DType value = DType::f16;
};
template <>
struct DTypeOf<BFloat16> {
  static constexpr DType value = DType::bf16;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::u8;
};
template <>
struct DTypeOf<int8_t> {
  static constexpr DType value = DType::i8;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::i32;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::i64;
};

}  // namespace y8m::engine
