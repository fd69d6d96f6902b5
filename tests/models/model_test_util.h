// Helpers shared by the models tests: deterministic random tensors, gradient checks over a module's
// parameters, and error-message assertions.
#pragma once

#include "autograd/gradcheck.h"
#include "autograd/module.h"
#include "autograd/variable.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "engine/tensor.h"
#include "models/video_model.h"

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

// Gives every parameter of `m` values in [-0.9, 0.9) (a different seed per tensor) so that BN
// betas/gammas and biases are exercised.
inline void randomize(autograd::Module& m, uint64_t seed) {
  for (auto& kv : m.named_parameters())
    kv.second.copy_from(uniform(kv.second.shape(), seed++, -0.9, 0.9));
}

// Elements of every parameter and buffer (SPEC §0.3 counts include BN moving statistics).
inline int64_t count_elements(const autograd::Module& m) {
  int64_t n = 0;
  for (const auto& kv : m.named_parameters()) n += kv.second.numel();
  for (const auto& kv : m.named_buffers()) n += kv.second.numel();
  return n;
}

// A frame-level model on frames x / counts n with fixed samples (generator seed 5): the output is
// [B, classes] probabilities strictly inside (0, 1), and every parameter passes a gradient check.
inline void expect_probabilities_and_gradients(models::VideoModel& m, const Tensor& x,
                                               const std::vector<int32_t>& n, int64_t classes) {
  auto run = [&] {
    engine::Generator g(5);  // the same samples for every finite difference
    return m.forward(x, num_frames(n), g);
  };
  const Tensor p = run();
  EXPECT_EQ(p.shape(), (Shape{x.size(0), classes}));
  for (double v : p.to_vector<double>()) {
    EXPECT_GT(v, 0.0);
    EXPECT_LT(v, 1.0);
  }
  expect_gradcheck(m, run);
}

// Runs f, expecting a y8m::Error whose message contains every string of `parts`.
using y8m::testing::expect_error;

}  // namespace y8m::models::testing
