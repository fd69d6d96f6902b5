// CUDA launcher for the multi-tensor EMA update (autograd/ema_cuda.cu; formula in autograd/ema.h).
#pragma once
#include "autograd/autograd_layer.h"

#include <cuda_runtime.h>

#include <cstdint>

namespace y8m::autograd::cuda {

// One tracked tensor (device memory).
struct EmaTensor {
  float* shadow;
  const float* var;
  int64_t n;
};
// A contiguous range [begin, end) of one tensor, handled by one block.
struct EmaChunk {
  int32_t tensor;
  int64_t begin;
  int64_t end;
};

// shadow <- shadow - (shadow - var) * one_minus_decay over every chunk: one launch, one block per
// chunk. `tensors` and `chunks` are device arrays.
void ema_update(const EmaTensor* tensors, const EmaChunk* chunks, int num_chunks,
                float one_minus_decay, cudaStream_t stream);

}  // namespace y8m::autograd::cuda
