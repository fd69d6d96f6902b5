// Op entries of frame sampling and frame counts (ops/sampling/frame_sampling.h). Both compute on
// the host from host num_frames and copy the (small) result to the requested device.
#include "ops/sampling/frame_sampling.h"

#include "engine/philox.h"
#include "ops/graph/trace.h"
#include "ops/op_common.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace y8m::ops {

namespace {

// floor(u * n) for a uniform u in [0, 1) with 24 significant bits: the double product is exact, so
// the result is in [0, n) for n >= 1.
int64_t scaled_floor(float u, int64_t n) {
  return static_cast<int64_t>(std::floor(static_cast<double>(u) * static_cast<double>(n)));
}

// num_frames (host i32/i64 [B]) clipped to [0, max_frames]; messages name `op`.
std::vector<int64_t> clipped_counts(const Tensor& num_frames, int64_t max_frames, const char* op) {
  Y8M_CHECK(num_frames.defined(), "{}: num_frames is undefined", op);
  Y8M_CHECK(num_frames.device().is_cpu(), "{}: num_frames must be a host tensor, got {}", op,
            num_frames.str());
  Y8M_CHECK(num_frames.dtype() == DType::i32 || num_frames.dtype() == DType::i64,
            "{}: num_frames must be i32 or i64 [B], got {}", op, num_frames.str());
  check_dim(num_frames, 1, op, "num_frames");
  Y8M_CHECK(max_frames >= 1, "{}: max_frames must be positive, got {}", op, max_frames);
  std::vector<int64_t> n = num_frames.to_vector<int64_t>();
  for (int64_t& v : n) v = std::clamp<int64_t>(v, 0, max_frames);
  return n;
}

}  // namespace

const char* sample_mode_name(SampleMode mode) {
  switch (mode) {
    case SampleMode::random:
      return "random";
    case SampleMode::sample_all:
      return "sample_all";
    case SampleMode::random_sequence:
      return "random_sequence";
    case SampleMode::shuffle:
      return "shuffle";
  }
  return "random";
}

SampleMode sample_mode_from_name(const std::string& name) {
  for (SampleMode m : {SampleMode::random, SampleMode::sample_all, SampleMode::random_sequence,
                       SampleMode::shuffle})
    if (name == sample_mode_name(m)) return m;
  Y8M_FAIL("sample_frames: unknown mode '{}' (known: random, sample_all, random_sequence, shuffle)",
           name);
}

Tensor sample_frames(const Tensor& num_frames, int64_t max_frames, int64_t num_samples,
                     SampleMode mode, engine::Generator& gen, Device device) {
  constexpr const char* kOp = "sample_frames";
  Y8M_CHECK(num_samples >= 1, "{}: num_samples (--iterations) must be positive, got {}", kOp,
            num_samples);
  const std::vector<int64_t> n = clipped_counts(num_frames, max_frames, kOp);
  const int64_t bn = static_cast<int64_t>(n.size()), s_count = num_samples, t_count = max_frames;
  Y8M_CHECK(bn * t_count <= INT32_MAX, "{}: {} videos of {} frames overflow i32 row indices", kOp,
            bn, t_count);
  Y8M_CHECK(mode != SampleMode::sample_all || s_count == t_count,
            "{}: --sample_all needs --iterations ({}) equal to the number of frame slots ({})", kOp,
            s_count, t_count);
  Y8M_CHECK(mode != SampleMode::shuffle || s_count == t_count,
            "{}: shuffle needs num_samples ({}) equal to the number of frame slots ({})", kOp,
            s_count, t_count);
  std::vector<int32_t> idx(static_cast<size_t>(bn * s_count));
  const uint64_t seed = gen.seed();
  if (mode == SampleMode::shuffle) {
    const uint64_t offset = gen.advance(engine::uniform_counters(bn * t_count));
    std::vector<int64_t> perm(static_cast<size_t>(t_count));
    std::vector<float> key(static_cast<size_t>(t_count));
    for (int64_t b = 0; b < bn; ++b) {
      const int64_t nb = n[static_cast<size_t>(b)];
      for (int64_t t = 0; t < t_count; ++t) {
        const uint64_t i = static_cast<uint64_t>(b * t_count + t);
        key[t] = t < nb ? engine::philox::uniform_at(seed, offset, i) : 0.f;
        perm[t] = t;
      }
      // Descending keys; stable, so padding (key 0) stays after the valid frames, in order.
      std::stable_sort(perm.begin(), perm.end(),
                       [&](int64_t x, int64_t y) { return key[x] > key[y]; });
      for (int64_t s = 0; s < s_count; ++s)
        idx[static_cast<size_t>(b * s_count + s)] = static_cast<int32_t>(b * t_count + perm[s]);
    }
  } else if (mode != SampleMode::random_sequence) {
    const uint64_t offset = gen.advance(engine::uniform_counters(bn * s_count));
    for (int64_t b = 0; b < bn; ++b) {
      const int64_t nb = n[static_cast<size_t>(b)];
      for (int64_t s = 0; s < s_count; ++s) {
        const uint64_t i = static_cast<uint64_t>(b * s_count + s);
        int64_t t;
        if (mode == SampleMode::sample_all && s < nb) {
          t = s;
        } else {
          t = nb == 0 ? 0 : scaled_floor(engine::philox::uniform_at(seed, offset, i), nb);
        }
        idx[i] = static_cast<int32_t>(b * t_count + t);
      }
    }
  } else {
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
  Tensor out = Tensor::from_vector(idx, {bn * s_count}).to(device);
  Y8M_TRACE_OP(
      kOp,
      {{"max_frames", max_frames}, {"num_samples", num_samples}, {"mode", sample_mode_name(mode)}},
      {num_frames}, {out});
  return out;
}

Tensor frame_counts(const Tensor& num_frames, int64_t max_frames, int64_t min_count, DType dtype,
                    Device device) {
  constexpr const char* kOp = "frame_counts";
  Y8M_CHECK(dtype == DType::f32 || dtype == DType::f64, "{}: dtype must be f32 or f64, got {}", kOp,
            engine::dtype_name(dtype));
  Y8M_CHECK(dtype == DType::f32 || device.is_cpu(), "{}: f64 is a CPU dtype, asked for {}", kOp,
            device.str());
  std::vector<int64_t> n = clipped_counts(num_frames, max_frames, kOp);
  std::vector<double> v(n.size());
  for (size_t i = 0; i < n.size(); ++i) v[i] = static_cast<double>(std::max(n[i], min_count));
  Tensor out = Tensor::from_vector(v, {static_cast<int64_t>(v.size())}).to(dtype).to(device);
  Y8M_TRACE_OP(
      kOp,
      {{"max_frames", max_frames}, {"min_count", min_count}, {"dtype", engine::dtype_name(dtype)}},
      {num_frames}, {out});
  return out;
}

}  // namespace y8m::ops
