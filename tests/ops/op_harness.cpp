#include "tests/ops/op_harness.h"

#include "engine/rng.h"

#include <cmath>

namespace y8m::testing {

Tensor uniform(const Shape& shape, uint64_t seed, double lo, double hi) {
  Tensor t = Tensor::empty(shape, DType::f64);
  engine::fill_uniform(t, seed, 0, lo, hi);
  return t;
}

Tensor small_ints(const Shape& shape, uint64_t seed, int lo, int hi) {
  Tensor t = uniform(shape, seed, 0.0, 1.0);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = lo + std::floor(p[i] * (hi - lo + 1));
  return t;
}

Tensor ints(const std::vector<int64_t>& v, const Shape& shape, DType dtype) {
  return Tensor::from_vector<int64_t>(v, shape).to(dtype);
}

std::vector<OpSpec> all_specs() {
  std::vector<OpSpec> all;
  for (auto fam : {elementwise_specs, reduce_specs, shape_specs, matmul_specs, nn_specs,
                   fused_specs, sampling_specs, rnn_specs}) {
    auto v = fam();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

std::string compare(const Tensor& got, const Tensor& want, double atol, double rtol) {
  if (got.shape() != want.shape())
    return fmt::format("shape {} vs expected {}", engine::shape_str(got.shape()),
                       engine::shape_str(want.shape()));
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  int64_t bad = 0, first = -1;
  for (size_t i = 0; i < g.size(); ++i) {
    const bool ok = (std::isnan(g[i]) && std::isnan(w[i])) ||
                    std::fabs(g[i] - w[i]) <= atol + rtol * std::fabs(w[i]);
    if (!ok) {
      if (first < 0) first = static_cast<int64_t>(i);
      ++bad;
    }
  }
  if (bad == 0) return "";
  return fmt::format(
      "{} of {} elements differ; first at {}: got {:.9g}, expected {:.9g} (atol {}, rtol {})", bad,
      g.size(), first, g[static_cast<size_t>(first)], w[static_cast<size_t>(first)], atol, rtol);
}

}  // namespace y8m::testing
