// Shape ops: reshape, concat/split/slice along an axis, transpose of the last two axes, and row
// gather (frame sampling, SPEC §1.8) whose backward is a deterministic scatter-add. reshape,
// concat, split, slice and the gather_rows forward move bytes and accept every dtype; transpose
// needs f32 (or f64 on the CPU). Every op records a node when an input requires grad.
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"

#include <vector>

namespace y8m::ops {

// Differentiable view (shares storage); one dimension may be -1.
Tensor reshape(const Tensor& x, const Shape& shape);
// Joins tensors that agree on every dimension but `axis`.
Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
// Splits along `axis` into pieces of the given sizes (which must sum to the axis length).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis);
// Elements [begin, end) along `axis` (a copy).
Tensor slice(const Tensor& x, int64_t axis, int64_t begin, int64_t end);
// Swaps the last two dimensions: [..., M, N] -> [..., N, M] (a copy).
Tensor transpose(const Tensor& x);
// out[i, ...] = x[index[i], ...] for x [N, ...] and index i32/i64 [M] on x's device (values in
// [0, N), checked; a CUDA index is copied to the host for the check, which synchronizes: index
// tensors are small).
// Backward: dx[r] = sum of dout[i] over i with index[i] == r, in increasing i (deterministic; no
// float atomics on CUDA).
Tensor gather_rows(const Tensor& x, const Tensor& index);

}  // namespace y8m::ops
