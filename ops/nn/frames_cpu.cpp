// CPU kernel of prepare_frames: one task per frame range; the dequantized values come from a
// 256-entry table built with one rounded float multiply and one rounded add (the build uses
// -ffp-contract=off), the sum of squares is taken in double.
#include "engine/parallel.h"
#include "ops/nn/frames.h"
#include "ops/nn/nn_kernels.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace y8m::ops::cpu {

void prepare_frames(const uint8_t* q, const int32_t* num_frames, int64_t b, int64_t t_max,
                    int64_t f, float* out) {
  std::array<float, 256> lut;
  for (int v = 0; v < 256; ++v) {
    const float scaled = static_cast<float>(v) * kDequantScale;
    lut[static_cast<size_t>(v)] = scaled + kDequantBias;
  }
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(f, 1));
  engine::parallel_for(0, b * t_max, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t t = i % t_max;
      const int64_t valid = std::clamp<int64_t>(num_frames[i / t_max], 0, t_max);
      float* o = out + i * f;
      if (t >= valid) {
        std::fill(o, o + f, 0.f);  // padding slot: a real zero
        continue;
      }
      // Dequantize into the output while summing squares in double (four interleaved accumulators
      // in a fixed order), then scale in place.
      const uint8_t* qi = q + i * f;
      double acc[4] = {0.0, 0.0, 0.0, 0.0};
      int64_t k = 0;
      for (; k + 4 <= f; k += 4) {
        for (int u = 0; u < 4; ++u) {
          const float x = lut[qi[k + u]];
          o[k + u] = x;
          acc[u] += static_cast<double>(x) * x;
        }
      }
      for (; k < f; ++k) {
        o[k] = lut[qi[k]];
        acc[0] += static_cast<double>(o[k]) * o[k];
      }
      const double ss = (acc[0] + acc[1]) + (acc[2] + acc[3]);
      const double inv = 1.0 / std::sqrt(std::max(ss, 1e-12));
      for (k = 0; k < f; ++k) o[k] = static_cast<float>(o[k] * inv);
    }
  });
}

}  // namespace y8m::ops::cpu
