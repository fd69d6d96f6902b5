#include "ops/op_common.h"

#include <cstdlib>

namespace y8m::ops {

void check_float(const Tensor& t, const char* op) {
  Y8M_CHECK(t.defined(), "{}: undefined input tensor", op);
  Y8M_CHECK(t.dtype() == DType::f32 || (t.dtype() == DType::f64 && t.device().is_cpu()),
            "{}: expected an f32 tensor (or f64 on the CPU), got {}", op, t.str());
}

void check_compatible(const Tensor& a, const Tensor& b, const char* op) {
  Y8M_CHECK(a.dtype() == b.dtype(), "{}: dtype mismatch: {} vs {}", op, a.str(), b.str());
  Y8M_CHECK(a.device() == b.device(), "{}: device mismatch: {} vs {}", op, a.str(), b.str());
}

void check_dim(const Tensor& t, int64_t dim, const char* op, const char* what) {
  Y8M_CHECK(t.dim() == dim, "{}: {} must have {} dimensions, got {}", op, what, dim, t.str());
}

int64_t normalize_axis(int64_t axis, int64_t dim, const char* op) {
  Y8M_CHECK(axis >= -dim && axis < dim, "{}: axis {} out of range for {} dimensions", op, axis,
            dim);
  return axis < 0 ? axis + dim : axis;
}

namespace detail {
void no_cuda_build() { Y8M_ASSERT(false, "a CUDA launcher ran in a CPU-only build"); }
}  // namespace detail

bool fusion_disabled() {
  const char* v = std::getenv("Y8M_DISABLE_FUSION");
  return v != nullptr && v[0] != '\0' && v[0] != '0';
}

}  // namespace y8m::ops
