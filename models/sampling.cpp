#include "models/sampling.h"

#include "ops/sampling/frame_sampling.h"
#include "ops/shape/shape.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace y8m::models {

namespace {

// The op mode of the flags; the one combination the op cannot express is an error here.
ops::SampleMode sample_mode(const SamplingOptions& opts) {
  Y8M_CHECK(opts.sample_random_frames || !opts.sample_all,
            "sample_frames: --sample_all needs --sample_random_frames=true");
  if (!opts.sample_random_frames) return ops::SampleMode::random_sequence;
  return opts.sample_all ? ops::SampleMode::sample_all : ops::SampleMode::random;
}

}  // namespace

std::vector<int64_t> host_num_frames(const Tensor& num_frames_host, int64_t batch,
                                     int64_t max_frames, const char* what) {
  Y8M_CHECK(num_frames_host.defined(), "{}: num_frames is undefined", what);
  Y8M_CHECK(num_frames_host.device().is_cpu(), "{}: num_frames must be a host tensor, got {}", what,
            num_frames_host.str());
  Y8M_CHECK(num_frames_host.dtype() == DType::i32 || num_frames_host.dtype() == DType::i64,
            "{}: num_frames must be i32 or i64, got {}", what, num_frames_host.str());
  Y8M_CHECK(num_frames_host.dim() == 1 && num_frames_host.size(0) == batch,
            "{}: num_frames {} must be [B] with B = {}", what, num_frames_host.str(), batch);
  std::vector<int64_t> n = num_frames_host.to_vector<int64_t>();
  for (int64_t& v : n) v = std::clamp<int64_t>(v, 0, max_frames);
  return n;
}

Tensor sample_frame_indices(const Tensor& num_frames_host, int64_t max_frames,
                            const SamplingOptions& opts, engine::Generator& gen) {
  return ops::sample_frames(num_frames_host, max_frames, opts.num_samples, sample_mode(opts), gen);
}

Tensor sample_frames(const Tensor& frames, const Tensor& num_frames_host,
                     const SamplingOptions& opts, engine::Generator& gen) {
  Y8M_CHECK(frames.defined() && frames.dim() == 3,
            "sample_frames: frames must be [B, T, F], got {}",
            frames.defined() ? frames.str() : std::string("undefined"));
  const int64_t b = frames.size(0), t = frames.size(1), f = frames.size(2);
  Y8M_CHECK(num_frames_host.defined() && num_frames_host.dim() == 1 && num_frames_host.size(0) == b,
            "sample_frames: num_frames {} must be [B] for frames {}",
            num_frames_host.defined() ? num_frames_host.str() : std::string("undefined"),
            frames.str());
  const Tensor idx = ops::sample_frames(num_frames_host, t, opts.num_samples, sample_mode(opts),
                                        gen, frames.device());
  const Tensor rows = ops::gather_rows(ops::reshape(frames, {b * t, f}), idx);
  return ops::reshape(rows, {b, opts.num_samples, f});
}

}  // namespace y8m::models
