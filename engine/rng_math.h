// The per-element formulas shared by the CPU and CUDA random fills (engine/rng.cpp, rng_cuda.cu).
#pragma once

#include "engine/philox.h"

#include <cmath>

namespace y8m::engine::philox {

// Box-Muller in double: the same libm-quality result on host and device, rounded once to the output.
Y8M_HD double normal_at(uint64_t seed, uint64_t offset, uint64_t i) {
  const U32x4 b = block(seed, offset + i / 2);
  const double u1 = (static_cast<double>(b.v[0] >> 8) + 1.0) * (1.0 / 16777216.0);  // (0, 1]
  const double u2 = static_cast<double>(b.v[1] >> 8) * (1.0 / 16777216.0);          // [0, 1)
  const double r = sqrt(-2.0 * log(u1));
  const double theta = 6.283185307179586476925 * u2;
  return (i % 2 == 0) ? r * cos(theta) : r * sin(theta);
}

}  // namespace y8m::engine::philox
