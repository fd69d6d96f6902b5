#include "io/dtype_proto.h"

namespace y8m::io {

proto::DType dtype_to_proto(DType t) {
  switch (t) {
    case DType::f32:
      return proto::F32;
    case DType::f64:
      return proto::F64;
    case DType::f16:
      return proto::F16;
    case DType::bf16:
      return proto::BF16;
    case DType::u8:
      return proto::U8;
    case DType::i8:
      return proto::I8;
    case DType::i32:
      return proto::I32;
    case DType::i64:
      return proto::I64;
  }
  return proto::DTYPE_UNSPECIFIED;
}

std::optional<DType> dtype_from_proto(int t) {
  switch (t) {
    case proto::F32:
      return DType::f32;
    case proto::F64:
      return DType::f64;
    case proto::F16:
      return DType::f16;
    case proto::BF16:
      return DType::bf16;
    case proto::U8:
      return DType::u8;
    case proto::I8:
      return DType::i8;
    case proto::I32:
      return DType::i32;
    case proto::I64:
      return DType::i64;
    default:
      return std::nullopt;
  }
}

}  // namespace y8m::io
