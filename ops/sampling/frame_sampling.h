// Frame sampling (SPEC §1.8, model_utils.py) and frame counts: the ops that read num_frames on the
// host. Both are graph ops (DESIGN.md §4), so an archive samples exactly as the eager model does.
//
// sample_frames: row indices b*T + t into frames viewed as [B*T, F], i32 [B*S], for n =
// num_frames[b] clipped to [0, T] and slot s in [0, S):
//   random (SampleRandomFrames, the default): t = floor(u[b,s] * n), with replacement over the
//       valid frames; n = 0 gives t = 0 (a zero padding frame).
//   sample_all (--sample_all, needs S == T): t = s when s < n, else the random t above, so every
//       valid frame appears once, in order, and padding slots hold random duplicates.
//   random_sequence (--sample_random_frames=false, SampleRandomSequence):
//       start = floor(u[b] * (max(n - S, 0) + 1)), t = min(start + s, n - 1), and t = 0 when n = 0
//       (the original computes -1 there, which TF's gather clamps or rejects by device).
//   shuffle (--frame_shuffle, Lstmbidirect; needs S == T): a random permutation of the valid frames
//       with the padding kept at the end: slot t gets key u[b,t] when t < n and 0 otherwise, and
//       the slots are sorted by descending key (stable, so padding keeps its order).
// floor(u * n) is evaluated in double from the 24-bit float uniform, where it is exact and < n.
//
// Use of the generator (what a resumed run restores: seed and offset):
//   random and sample_all: one call takes gen.advance(uniform_counters(B*S)) and uses the uniform of
//       element i = b*S + s of that range (engine::philox::uniform_at(seed, offset, i)), i.e. what
//       engine::fill_uniform of a [B, S] tensor would produce; sample_all draws the whole range
//       even where it keeps the original frame.
//   random_sequence: gen.advance(uniform_counters(B)), element i = b.
//   shuffle: gen.advance(uniform_counters(B*T)), element i = b*T + t (drawn for padding slots too).
// Nothing else is drawn. The indices are computed on the host (they depend on host num_frames and a
// handful of uniforms); on CUDA the result is copied to the device (a small host-to-device copy, no
// kernel). Not differentiable: the gradient flows through the gather_rows that consumes the
// indices.
//
// frame_counts: out[b] = max(min(max(n, 0), T), min_count) in `dtype`, shape [B]: the number of
// valid frames as a divisor for means over them (min_count 1 avoids dividing by zero). Computed on
// the host and copied to `device` like sample_frames.
#pragma once
#include "ops/ops_layer.h"

#include "engine/rng.h"
#include "engine/tensor.h"

#include <string>

namespace y8m::ops {

enum class SampleMode { random, sample_all, random_sequence, shuffle };

// "random", "sample_all", "random_sequence", "shuffle" (the names written into graphs).
const char* sample_mode_name(SampleMode mode);
// Inverse of sample_mode_name; an unknown name is an error listing the known ones.
SampleMode sample_mode_from_name(const std::string& name);

// num_frames: host i32 (or i64) [B]. max_frames T >= 1, num_samples S >= 1. Returns i32 [B*S] on
// `device`.
Tensor sample_frames(const Tensor& num_frames, int64_t max_frames, int64_t num_samples,
                     SampleMode mode, engine::Generator& gen, Device device = Device::cpu());

// num_frames: host i32 (or i64) [B]. Returns `dtype` [B] on `device`.
Tensor frame_counts(const Tensor& num_frames, int64_t max_frames, int64_t min_count,
                    DType dtype = DType::f32, Device device = Device::cpu());

}  // namespace y8m::ops
