// CUDA launchers for the multi-tensor optimizer step (autograd/optim_cuda.cu): the same norms and
// non-finite check for every optimizer, then one fused update kernel per rule.
#pragma once
#include "autograd/autograd_layer.h"

#include "autograd/update_rule.h"

#include <cuda_runtime.h>

#include <cstdint>

namespace y8m::autograd::cuda {

// One parameter tensor's pointers (device memory). Slots a rule does not use are null.
struct OptTensor {
  float* param;
  const float* grad;
  float* slot0;  // Adam m, Momentum/Adagrad accumulator, RMSProp ms
  float* slot1;  // Adam v, RMSProp mom
  int64_t n;
};
// A contiguous range of one tensor handled by one block.
struct OptChunk {
  int32_t tensor;
  int64_t begin;
  int64_t end;
};

struct OptLaunch {
  const OptTensor* tensors;  // device arrays
  const OptChunk* chunks;
  int num_tensors;
  int num_chunks;
  float* partials;  // [num_chunks] scratch
  float* denoms;    // [num_tensors] scratch: max(norm, clip) per tensor
  const int*
      first_chunk;  // [num_tensors + 1]: chunks of tensor t are first_chunk[t] .. first_chunk[t+1]
  float clip_norm;  // <= 0: no clipping
  // The rule's coefficients (UpdateCoeffs cast to float).
  float lr, alpha, beta1, beta2, momentum, eps;
  // Non-finite check (grad_norms): status[0] <- 1 when *loss is not finite, status[1] <- the
  // smallest index of a tensor whose squared gradient norm is not finite. The caller sets
  // status to {0, INT_MAX} first. loss may be null.
  const float* loss;
  int* status;
};

// Per-chunk squared norms, per-tensor clip denominators and (with status) the non-finite check:
// two launches. Needed before update when clipping or checking.
void grad_norms(const OptLaunch& a, cudaStream_t stream);
// The fused update of `rule` (one launch); uses the denominators of grad_norms when clip_norm > 0.
void update(UpdateRule rule, const OptLaunch& a, cudaStream_t stream);
// Squared L2 norm of n floats into *out (device), deterministic two-pass.
void sum_squares(const float* x, int64_t n, float* partials, int num_partials, float* out,
                 cudaStream_t stream);

}  // namespace y8m::autograd::cuda
