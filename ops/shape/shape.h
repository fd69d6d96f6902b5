// Shape ops: reshape, concat/split/slice along an axis, transpose of the last two axes, and row
// gather (frame sampling, SPEC §1.8) whose backward is a deterministic scatter-add. reshape,
// concat, split, slice and the gather_rows forward move bytes and accept every dtype; transpose
// needs f32 (or f64 on the CPU). Every op records a node when an input requires grad.
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"

#include <string>
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
// out[i, ...] = x[index[i], ...] for x [N, ...] and index i32/i64 [M] on x's device. Values must
// lie in [0, N): a CPU index is checked here; a CUDA index is not copied back to be checked (that
// would synchronize every step), so whoever builds one checks it (check_gather_index on its host
// copy, or by construction, as sample_frames and DiagPart do); on CUDA a bad index gives a zero
// row and no gradient instead of reading out of bounds.
// Backward: dx[r] = sum of dout[i] over i with index[i] == r, in increasing i (deterministic; no
// float atomics on CUDA).
Tensor gather_rows(const Tensor& x, const Tensor& index);
// Throws naming the first index of the host tensor `index` outside [0, rows) (x_str names x).
void check_gather_index(const Tensor& index, int64_t rows, const std::string& x_str);

}  // namespace y8m::ops
