// Helpers shared by the models tests: deterministic random tensors, gradient checks over a module's
// parameters, and error-message assertions.
#pragma once

#include "autograd/gradcheck.h"
#include "autograd/module.h"
#include "autograd/variable.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "engine/tensor.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace y8m::models::testing {

// Uniform in [lo, hi) from Philox (seed, offset 0).
inline Tensor uniform(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0,
                      DType dtype = DType::f64) {
  Tensor t = Tensor::empty(shape, dtype);
  engine::fill_uniform(t, seed, 0, lo, hi);
  return t;
}

// Frame-level inputs [B, T, F]: every valid frame (t < n[b]) L2-normalized random values, padding
// 0, as ops::prepare_frames produces them.
inline Tensor frames(int64_t b, int64_t t, int64_t f, const std::vector<int32_t>& n, uint64_t seed,
                     DType dtype = DType::f64) {
  std::vector<double> v = uniform({b, t, f}, seed).to_vector<double>();
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t s = 0; s < t; ++s) {
      double* row = &v[static_cast<size_t>((i * t + s) * f)];
      double ss = 0;
      for (int64_t k = 0; k < f; ++k) ss += row[k] * row[k];
      for (int64_t k = 0; k < f; ++k)
        row[k] = s < n[static_cast<size_t>(i)] ? row[k] / std::sqrt(ss) : 0.0;
    }
  }
  return Tensor::from_vector(v, {b, t, f}).to(dtype);
}

inline Tensor num_frames(const std::vector<int32_t>& n) {
  return Tensor::from_vector(n, {static_cast<int64_t>(n.size())});
}

// Gradient check of fn() with respect to every parameter of `m` and the extra inputs (which must
// require grad to be checked). fn must be deterministic (re-seed any generator inside it).
inline void expect_gradcheck(const autograd::Module& m, const std::function<Tensor()>& fn,
                             std::vector<Tensor> extra = {},
                             const autograd::GradcheckOptions& opts = {}) {
  std::vector<Tensor> inputs = m.parameters();
  for (Tensor& t : extra) inputs.push_back(t);
  const autograd::GradcheckResult r =
      autograd::gradcheck([&](const std::vector<Tensor>&) { return fn(); }, inputs, opts);
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_GT(r.checked, 0);
}

inline std::vector<std::string> names(const autograd::NamedTensors& nt) {
  std::vector<std::string> out;
  for (const auto& kv : nt) out.push_back(kv.first);
  return out;
}

// Runs f, expecting a y8m::Error whose message contains every string of `parts`.
using y8m::testing::expect_error;

}  // namespace y8m::models::testing
