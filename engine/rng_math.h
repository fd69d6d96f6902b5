// The per-element formulas shared by the CPU and CUDA random fills (engine/rng.cpp, rng_cuda.cu).
#pragma once

#include "engine/philox.h"

#include <cmath>

namespace y8m::engine::philox {

// Box-Muller in double: the same libm-quality result on host and device, rounded once to the
// output.
Y8M_HD double normal_at(uint64_t seed, uint64_t offset, uint64_t i) {
  const U32x4 b = block(seed, offset + i / 2);
  const double u1 = (static_cast<double>(b.v[0] >> 8) + 1.0) * (1.0 / 16777216.0);  // (0, 1]
  const double u2 = static_cast<double>(b.v[1] >> 8) * (1.0 / 16777216.0);          // [0, 1)
  const double r = sqrt(-2.0 * log(u1));
  const double theta = 6.283185307179586476925 * u2;
  return (i % 2 == 0) ? r * cos(theta) : r * sin(theta);
}

Y8M_HD float next_down(float x) { return nextafterf(x, -INFINITY); }
Y8M_HD double next_down(double x) { return nextafter(x, -INFINITY); }

// Element of a uniform fill in [lo, hi). (hi - lo) * u + lo with u < 1 can still round to hi in T
// (lo = 1, hi = 2, u = 1 - 2^-24 gives 2 - 2^-24, which rounds to 2.0f); such a value becomes the
// largest T below hi, so the range stays half-open on every backend.
template <class T>
Y8M_HD T uniform_value(double u, double lo, double hi) {
  T x = static_cast<T>(mul_add_rn(hi - lo, u, lo));
  if (static_cast<double>(x) >= hi && lo < hi) {
    x = static_cast<T>(hi);
    if (static_cast<double>(x) >= hi) x = next_down(x);
  }
  return x;
}

}  // namespace y8m::engine::philox
