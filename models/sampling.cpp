#include "models/sampling.h"

#include "engine/philox.h"
#include "ops/shape/shape.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace y8m::models {

namespace {

// floor(u * n) for a uniform u in [0, 1) with 24 significant bits: the double product is exact, so
// the result is in [0, n) for n >= 1.
int64_t scaled_floor(float u, int64_t n) {
  return static_cast<int64_t>(std::floor(static_cast<double>(u) * static_cast<double>(n)));
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
  const char* kWhat = "sample_frames";
  Y8M_CHECK(max_frames >= 1, "{}: max_frames must be positive, got {}", kWhat, max_frames);
  Y8M_CHECK(opts.num_samples >= 1, "{}: --iterations must be positive, got {}", kWhat,
            opts.num_samples);
  const int64_t b_count =
      num_frames_host.defined() && num_frames_host.dim() == 1 ? num_frames_host.size(0) : -1;
  const std::vector<int64_t> n = host_num_frames(num_frames_host, b_count, max_frames, kWhat);
  const int64_t bn = static_cast<int64_t>(n.size()), s_count = opts.num_samples,
                t_count = max_frames;
  Y8M_CHECK(bn * t_count <= INT32_MAX, "{}: {} videos of {} frames overflow i32 row indices", kWhat,
            bn, t_count);
  std::vector<int32_t> idx(static_cast<size_t>(bn * s_count));
  const uint64_t seed = gen.seed();

  if (opts.sample_random_frames) {
    Y8M_CHECK(!opts.sample_all || s_count == t_count,
              "{}: --sample_all needs --iterations ({}) equal to the number of frame slots ({})",
              kWhat, s_count, t_count);
    const uint64_t offset = gen.advance(engine::uniform_counters(bn * s_count));
    for (int64_t b = 0; b < bn; ++b) {
      const int64_t nb = n[static_cast<size_t>(b)];
      for (int64_t s = 0; s < s_count; ++s) {
        const uint64_t i = static_cast<uint64_t>(b * s_count + s);
        int64_t t;
        if (opts.sample_all && s < nb) {
          t = s;
        } else {
          t = nb == 0 ? 0 : scaled_floor(engine::philox::uniform_at(seed, offset, i), nb);
        }
        idx[i] = static_cast<int32_t>(b * t_count + t);
      }
    }
  } else {
    Y8M_CHECK(!opts.sample_all, "{}: --sample_all needs --sample_random_frames=true", kWhat);
    const uint64_t offset = gen.advance(engine::uniform_counters(bn));
    for (int64_t b = 0; b < bn; ++b) {
      const int64_t nb = n[static_cast<size_t>(b)];
      const int64_t span = std::max<int64_t>(nb - s_count, 0) + 1;
      const int64_t start =
          scaled_floor(engine::philox::uniform_at(seed, offset, static_cast<uint64_t>(b)), span);
      for (int64_t s = 0; s < s_count; ++s) {
        const int64_t t = std::max<int64_t>(std::min(start + s, nb - 1), 0);
        idx[static_cast<size_t>(b * s_count + s)] = static_cast<int32_t>(b * t_count + t);
      }
    }
  }
  return Tensor::from_vector(idx, {bn * s_count});
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
  const Tensor idx = sample_frame_indices(num_frames_host, t, opts, gen);
  const Tensor rows = ops::gather_rows(ops::reshape(frames, {b * t, f}), idx.to(frames.device()));
  return ops::reshape(rows, {b, opts.num_samples, f});
}

}  // namespace y8m::models
