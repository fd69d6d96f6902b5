// CUDA launchers for the multi-tensor Adam step (autograd/optim_cuda.cu).
#pragma once
#include "autograd/autograd_layer.h"

#include <cuda_runtime.h>

#include <cstdint>

namespace y8m::autograd::cuda {

// One parameter tensor's pointers (device memory).
struct AdamTensor {
  float* param;
  const float* grad;
  float* m;
  float* v;
  int64_t n;
};
// A contiguous range of one tensor handled by one block.
struct AdamChunk {
  int32_t tensor;
  int64_t begin;
  int64_t end;
};

struct AdamLaunch {
  const AdamTensor* tensors;  // device arrays
  const AdamChunk* chunks;
  int num_tensors;
  int num_chunks;
  float* partials;  // [num_chunks] scratch
  float* denoms;    // [num_tensors] scratch: max(norm, clip) per tensor
  const int*
      first_chunk;  // [num_tensors + 1]: chunks of tensor t are first_chunk[t] .. first_chunk[t+1]
  float clip_norm;  // <= 0: no clipping
  float alpha, beta1, beta2, eps;
  // Non-finite check (adam_norms): status[0] <- 1 when *loss is not finite, status[1] <- the
  // smallest index of a tensor whose squared gradient norm is not finite. The caller sets
  // status to {0, INT_MAX} first. loss may be null.
  const float* loss;
  int* status;
};

// Per-chunk squared norms, per-tensor clip denominators and (with status) the non-finite check:
// two launches. Needed before adam_update when clipping or checking.
void adam_norms(const AdamLaunch& a, cudaStream_t stream);
// The fused update (one launch); uses the denominators of adam_norms when clip_norm > 0.
void adam_update(const AdamLaunch& a, cudaStream_t stream);
// Squared L2 norm of n floats into *out (device), deterministic two-pass.
void sum_squares(const float* x, int64_t n, float* partials, int num_partials, float* out,
                 cudaStream_t stream);

}  // namespace y8m::autograd::cuda
