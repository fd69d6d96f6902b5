// Op entry of prepare_frames: checks and dispatch. Not differentiable (the input is data), so no
// node is recorded.
#include "ops/nn/frames.h"

#include "ops/graph/trace.h"
#include "ops/nn/nn_kernels.h"
#include "ops/op_common.h"

namespace y8m::ops {

namespace {
constexpr const char* kOp = "prepare_frames";
}

Tensor prepare_frames(const Tensor& frames, const Tensor& num_frames) {
  Y8M_CHECK(frames.defined() && num_frames.defined(), "{}: undefined input tensor", kOp);
  Y8M_CHECK(frames.dtype() == DType::u8, "{}: frames must be u8 [B, T, F], got {}", kOp,
            frames.str());
  check_dim(frames, 3, kOp, "frames");
  Y8M_CHECK(num_frames.dtype() == DType::i32, "{}: num_frames must be i32 [B], got {}", kOp,
            num_frames.str());
  Y8M_CHECK(num_frames.dim() == 1 && num_frames.size(0) == frames.size(0),
            "{}: num_frames must have shape [{}] (the batch of frames {}), got {}", kOp,
            frames.size(0), frames.str(), num_frames.str());
  Y8M_CHECK(frames.device() == num_frames.device(), "{}: device mismatch: {} vs {}", kOp,
            frames.str(), num_frames.str());
  const int64_t b = frames.size(0), t = frames.size(1), f = frames.size(2);
  Tensor out = Tensor::empty(frames.shape(), DType::f32, frames.device());
  if (frames.device().is_cpu()) {
    cpu::prepare_frames(frames.data<uint8_t>(), num_frames.data<int32_t>(), b, t, f,
                        out.data<float>());
  } else {
    cuda::prepare_frames(frames.data<uint8_t>(), num_frames.data<int32_t>(), b, t, f,
                         out.data<float>(), stream_of(frames));
  }
  Y8M_TRACE_OP(kOp, {}, {frames, num_frames}, {out});
  return out;
}

}  // namespace y8m::ops
