// Helpers shared by op entries (the .cpp level of STYLE.md's kernel -> launcher -> op entry): input
// checks with messages that name the op, axis normalization, device dispatch and the stream to use.
#pragma once
#include "ops/ops_layer.h"

#include "autograd/variable.h"
#include "engine/tensor.h"

#ifdef Y8M_WITH_CUDA
#include "engine/cuda_context.h"
#endif

#include <string>

namespace y8m::ops {

using autograd::Node;

// f32 on any device, f64 on the CPU (gradient checks).
void check_float(const Tensor& t, const char* op);
// Same dtype and device.
void check_compatible(const Tensor& a, const Tensor& b, const char* op);
void check_dim(const Tensor& t, int64_t dim, const char* op, const char* what);
// Axis in [-dim, dim) to [0, dim).
int64_t normalize_axis(int64_t axis, int64_t dim, const char* op);
// Y8M_DISABLE_FUSION=1 switches models from fused ops to their composite oracles (STYLE.md).
bool fusion_disabled();

#ifdef Y8M_WITH_CUDA
// Selects the tensor's device on this thread and returns its compute stream.
inline cudaStream_t stream_of(const Tensor& t) {
  engine::cuda::set_device(t.device().index);
  return engine::cuda::compute_stream(t.device().index);
}
#endif

}  // namespace y8m::ops

// Runs a CUDA launcher statement. A CUDA tensor cannot exist in a CPU-only build, so there the
// branch is an internal error.
#ifdef Y8M_WITH_CUDA
#define Y8M_ON_CUDA(...) \
  do {                   \
    __VA_ARGS__;         \
  } while (0)
#else
#define Y8M_ON_CUDA(...) Y8M_ASSERT(false, "CUDA tensor in a CPU-only build")
#endif
