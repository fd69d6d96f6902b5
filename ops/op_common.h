// Helpers shared by op entries (the .cpp level of STYLE.md's kernel -> launcher -> op entry): input
// checks with messages that name the op, axis normalization, device dispatch and the stream to use.
#pragma once
#include "ops/ops_layer.h"

#include "autograd/variable.h"
#include "engine/tensor.h"

#include "ops/cuda_launcher.h"

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
// Y8M_DISABLE_FUSION=1: the fused ops (vlad, gated_moe) run their composite oracles (STYLE.md).
bool fusion_disabled();

// Selects the tensor's device on this thread and returns its compute stream.
#ifdef Y8M_WITH_CUDA
inline cudaStream_t stream_of(const Tensor& t) {
  engine::cuda::set_device(t.device().index);
  return engine::cuda::compute_stream(t.device().index);
}
#else
[[noreturn]] inline cudaStream_t stream_of(const Tensor&) { detail::no_cuda_build(); }
#endif

// The device x dtype dispatch of every op entry: for a tensor on the CPU, cpu(T()) with T = float
// (f32) or double (f64); for a CUDA tensor (f32 only), cuda(stream) with its compute stream.
//   dispatch(x, [&](auto t) { using T = decltype(t); cpu::f<T>(x.data<T>(), ...); },
//               [&](cudaStream_t st) { cuda::f(x.data<float>(), ..., st); });
template <class Cpu, class Cuda>
void dispatch(const Tensor& t, Cpu&& cpu, Cuda&& cuda) {
  if (t.device().is_cpu()) {
    if (t.dtype() == DType::f32) {
      cpu(float());
    } else {
      Y8M_ASSERT(t.dtype() == DType::f64, "dispatch: {} is not a float tensor", t.str());
      cpu(double());
    }
  } else {
    Y8M_ASSERT(t.dtype() == DType::f32, "dispatch: CUDA kernels take f32, got {}", t.str());
    cuda(stream_of(t));
  }
}

}  // namespace y8m::ops
