// Frame sampling (SPEC §1.8, model_utils.py), the first step of NetVLAD / NetFV / DBoF
// models. It runs in training and in evaluation alike (is_training does not switch it off).
//
// The row indices come from the op ops::sample_frames (ops/sampling/frame_sampling.h), computed
// on the host from num_frames (host i32/i64 [B], clipped to [0, T] as ops::prepare_frames clips
// them) with Philox uniforms, then one ops::gather_rows on the frames viewed as [B*T, F] picks the
// rows on the frames' device. The gather's backward is a deterministic scatter-add. Being an op,
// the sampling is recorded by the graph tracer, so an archive samples exactly as this code does.
//
// Modes, for n = num_frames[b], S = num_samples, slot s in [0, S):
//   random frames (SampleRandomFrames, the default): t = floor(u[b,s] * n), with
//       replacement over the valid frames; n = 0 gives t = 0 (a zero padding frame).
//   sample_all (--sample_all, needs S == T): t = s when s < n, else the random t above,
//       so every valid frame appears once, in order, and padding slots hold random
//       duplicates of valid frames.
//   random sequence (--sample_random_frames=false, SampleRandomSequence):
//       start = floor(u[b] * (max(n - S, 0) + 1)), t = min(start + s, n - 1), and t = 0
//       when n = 0 (the original computes -1 there, which TF's gather clamps or rejects
//       depending on the device).
// floor(u * n) is evaluated in double from the 24-bit float uniform, where it is exact and
// always < n.
//
// Use of the generator (what a resumed run must restore: its seed and offset):
//   random frames and sample_all: one call takes gen.advance(uniform_counters(B*S)) and
//       uses the uniform of element i = b*S + s of that range
//       (engine::philox::uniform_at(seed, offset, i)), i.e. exactly what
//       engine::fill_uniform of a [B, S] tensor from the same generator would produce;
//       sample_all draws the full [B, S] range even where it keeps the original frame.
//   random sequence: gen.advance(uniform_counters(B)), element i = b.
// Nothing else is drawn, so after k calls with the same shapes the offset has moved by k
// times the per-call count.
#pragma once
#include "models/models_layer.h"

#include "engine/rng.h"
#include "engine/tensor.h"

#include <vector>

namespace y8m::models {

struct SamplingOptions {
  int64_t num_samples = 30;  // S, --iterations
  bool sample_random_frames =
      true;                 // --sample_random_frames (false: a random consecutive sequence)
  bool sample_all = false;  // --sample_all (random frames only; needs S == T)
};

// Host i32 [B*S] row indices b*T + t into the frames viewed as [B*T, F].
Tensor sample_frame_indices(const Tensor& num_frames_host, int64_t max_frames,
                            const SamplingOptions& opts, engine::Generator& gen);

// frames [B, T, F] (any device, f32 or f64) -> sampled frames [B, S, F] on the same device.
Tensor sample_frames(const Tensor& frames, const Tensor& num_frames_host,
                     const SamplingOptions& opts, engine::Generator& gen);

// num_frames (host i32 or i64 [B]) clipped to [0, max_frames]; `what` names the caller in errors.
std::vector<int64_t> host_num_frames(const Tensor& num_frames_host, int64_t batch,
                                     int64_t max_frames, const char* what);

}  // namespace y8m::models
