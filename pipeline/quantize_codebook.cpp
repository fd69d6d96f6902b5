// Codebooks of the quantize transforms (pipeline/quantize.h, SPEC §11): linspace, quantiles and 1-D
// k-means over a tensor's values, and the nearest-entry assignment. Everything is deterministic
// and independent of the thread count: parallel loops only split work whose result does not depend
// on the split (minima, maxima, sorting, per-element lookups).
#include "engine/error.h"
#include "engine/parallel.h"
#include "pipeline/quantize.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <mutex>
#include <vector>

namespace y8m::pipeline {

namespace {

constexpr int64_t kGrain = int64_t(1) << 16;

// Runs fn(lo, hi) over [0, n) in at most num_threads() contiguous pieces, in parallel.
void for_pieces(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  engine::parallel_for(0, n, kGrain, fn);
}

// Checks w (f32 on the CPU, at least one value, all finite); returns its values.
const float* checked_values(const Tensor& w, const std::string& what) {
  Y8M_CHECK(w.defined(), "{}: undefined tensor", what);
  Y8M_CHECK(w.dtype() == DType::f32 && w.device().is_cpu(),
            "{}: only f32 tensors on the CPU are quantized, got {}", what, w.str());
  Y8M_CHECK(w.numel() >= 1, "{}: {} has no values to build a codebook from", what, w.str());
  const float* p = w.data<float>();
  std::mutex mu;
  int64_t bad = -1;
  for_pieces(w.numel(), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      if (!std::isfinite(p[i])) {
        std::lock_guard<std::mutex> l(mu);
        if (bad < 0 || i < bad) bad = i;
        return;
      }
    }
  });
  Y8M_CHECK(bad < 0, "{}: {} has a non-finite value ({}) at flat index {}", what, w.str(), p[bad],
            bad);
  return p;
}

// A sorted copy of w's values (pieces sorted in parallel, then merged).
std::vector<float> sorted_values(const Tensor& w, const std::string& what) {
  const float* p = checked_values(w, what);
  const int64_t n = w.numel();
  std::vector<float> v(p, p + n);
  const int64_t pieces = std::max<int64_t>(1, std::min<int64_t>(engine::num_threads(), n / kGrain));
  auto at = [&](int64_t k) { return v.begin() + std::min(n, k * ((n + pieces - 1) / pieces)); };
  engine::parallel_for(0, pieces, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) std::sort(at(k), at(k + 1));
  });
  for (int64_t width = 1; width < pieces; width *= 2)
    for (int64_t k = 0; k + width < pieces; k += 2 * width)
      std::inplace_merge(at(k), at(k + width), at(std::min(pieces, k + 2 * width)));
  return v;
}

// Puts the order statistic of every rank in [r0, r1) (sorted, distinct, inside [lo, hi)) at its
// position, as a full sort would, in O(n log(#ranks)).
void multiselect(float* v, int64_t lo, int64_t hi, const int64_t* r0, const int64_t* r1) {
  if (r0 >= r1) return;
  const int64_t* mid = r0 + (r1 - r0) / 2;
  std::nth_element(v + lo, v + *mid, v + hi);
  multiselect(v, lo, *mid, r0, mid);
  multiselect(v, *mid + 1, hi, mid + 1, r1);
}

// numpy.linspace(0, 1, 256)[i]: i * step with step = 1/255, the last point exactly 1.
double probability(int64_t i) {
  return i == kCodebookSize - 1 ? 1.0 : static_cast<double>(i) * (1.0 / (kCodebookSize - 1));
}

// numpy's _lerp (used by its "linear" quantiles): symmetric in a and b, exact at t = 0 and 1.
double lerp(double a, double b, double t) {
  const double d = b - a;
  return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

Tensor to_codebook(const std::vector<double>& c) {
  std::vector<float> f(c.size());
  for (size_t i = 0; i < c.size(); ++i) f[i] = static_cast<float>(c[i]);
  std::sort(f.begin(), f.end());  // a no-op for sorted input: rounding keeps the order
  return Tensor::from_vector(f, {static_cast<int64_t>(f.size())});
}

// Sums of ranges of the sorted values: full blocks from prefix sums, partial blocks directly.
class RangeSums {
 public:
  static constexpr int64_t kBlock = 1024;
  explicit RangeSums(const std::vector<float>& s) : s_(s) {
    const int64_t blocks = static_cast<int64_t>(s.size()) / kBlock;
    prefix_.assign(static_cast<size_t>(blocks) + 1, 0.0);
    for (int64_t b = 0; b < blocks; ++b)
      prefix_[static_cast<size_t>(b) + 1] =
          prefix_[static_cast<size_t>(b)] + direct(b * kBlock, (b + 1) * kBlock);
  }
  double sum(int64_t lo, int64_t hi) const {
    const int64_t b0 = (lo + kBlock - 1) / kBlock, b1 = hi / kBlock;
    if (b1 <= b0) return direct(lo, hi);
    return direct(lo, b0 * kBlock) +
           (prefix_[static_cast<size_t>(b1)] - prefix_[static_cast<size_t>(b0)]) +
           direct(b1 * kBlock, hi);
  }

 private:
  double direct(int64_t lo, int64_t hi) const {
    double acc = 0;
    for (int64_t i = lo; i < hi; ++i) acc += static_cast<double>(s_[static_cast<size_t>(i)]);
    return acc;
  }
  const std::vector<float>& s_;
  std::vector<double> prefix_;
};

// Range boundaries of sorted centres c over the sorted values s: cluster j holds the values in
// [b[j], b[j+1]); a value exactly at the midpoint of two centres joins the lower one.
void assign_ranges(const std::vector<float>& s, const std::vector<double>& c,
                   std::vector<int64_t>& b) {
  const size_t k = c.size();
  b.assign(k + 1, 0);
  b[k] = static_cast<int64_t>(s.size());
  for (size_t j = 1; j < k; ++j) {
    const double mid = 0.5 * (c[j - 1] + c[j]);
    b[j] = std::upper_bound(s.begin() + b[j - 1], s.end(), mid,
                            [](double m, float x) { return m < static_cast<double>(x); }) -
           s.begin();
  }
}

int64_t count_distinct(const std::vector<float>& s) {
  int64_t m = s.empty() ? 0 : 1;
  for (size_t i = 1; i < s.size(); ++i) m += s[i] != s[i - 1];
  return m;
}

// The m distinct values of sorted s when m <= k; else those at distinct ranks
// floor((i + 1/2) m / k), i < k (strictly increasing ranks as m > k: k different values).
std::vector<double> distinct_values(const std::vector<float>& s, int64_t m, int64_t k) {
  std::vector<double> c;
  c.reserve(static_cast<size_t>(std::min(m, k)));
  auto wanted = [&](int64_t i) { return m <= k ? i : (2 * i + 1) * m / (2 * k); };
  int64_t rank = 0;
  for (size_t i = 0; i < s.size() && static_cast<int64_t>(c.size()) < std::min(m, k); ++i) {
    if (i > 0 && s[i] == s[i - 1]) continue;
    if (rank++ == wanted(static_cast<int64_t>(c.size()))) c.push_back(s[i]);
  }
  return c;
}

// linspace(min, max, k).
std::vector<double> uniform_init(const std::vector<float>& s, int64_t k) {
  const double lo = s.front(), hi = s.back();
  std::vector<double> c(static_cast<size_t>(k), lo);
  for (int64_t i = 1; i < k; ++i)
    c[static_cast<size_t>(i)] =
        lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(k - 1);
  return c;
}

// The asymptotically optimal centre density of a quantizer is proportional to p^(1/3) (p: the
// density of the values): centres at the midpoint quantiles of a histogram's cube-rooted counts
// (n / 256 bins over [min, max], at least 1 and at most 4096), interpolated within bins.
std::vector<double> companding_init(const std::vector<float>& s, int64_t k) {
  const int64_t n = static_cast<int64_t>(s.size());
  const int64_t bins = std::clamp<int64_t>(n / 256, 1, 4096);
  const double lo = s.front(),
               width = (static_cast<double>(s.back()) - lo) / static_cast<double>(bins);
  std::vector<double> cum(static_cast<size_t>(bins) + 1, 0.0);
  int64_t at = 0;
  for (int64_t b = 0; b < bins; ++b) {
    const double edge = lo + width * static_cast<double>(b + 1);
    const int64_t end =
        b + 1 == bins ? n : std::lower_bound(s.begin() + at, s.end(), edge, [](float x, double e) {
                              return x < e;
                            }) - s.begin();
    cum[static_cast<size_t>(b) + 1] =
        cum[static_cast<size_t>(b)] + std::cbrt(static_cast<double>(end - at));
    at = end;
  }
  std::vector<double> c(static_cast<size_t>(k));
  size_t b = 0;
  for (int64_t i = 0; i < k; ++i) {
    const double t = (static_cast<double>(i) + 0.5) / static_cast<double>(k) * cum.back();
    while (b + 1 < static_cast<size_t>(bins) && cum[b + 1] <= t) ++b;
    const double mass = cum[b + 1] - cum[b];
    const double f = mass > 0 ? std::clamp((t - cum[b]) / mass, 0.0, 1.0) : 0.5;
    c[static_cast<size_t>(i)] = lo + width * (static_cast<double>(b) + f);
  }
  return c;
}

// Lloyd's algorithm from sorted initial centres c (see kmeans_1d).
KMeansResult lloyd(const std::vector<float>& s, const RangeSums& sums, std::vector<double> c,
                   int max_iterations) {
  KMeansResult r;
  r.centres = std::move(c);
  std::vector<int64_t> bounds, prev;
  for (;;) {
    assign_ranges(s, r.centres, bounds);
    if (r.iterations > 0 && bounds == prev) {
      r.converged = true;
      break;
    }
    if (r.iterations == max_iterations) break;
    for (size_t j = 0; j < r.centres.size(); ++j) {
      const int64_t count = bounds[j + 1] - bounds[j];
      if (count > 0) r.centres[j] = sums.sum(bounds[j], bounds[j + 1]) / static_cast<double>(count);
    }
    std::sort(r.centres.begin(), r.centres.end());  // an empty cluster's centre may be overtaken
    prev.swap(bounds);
    ++r.iterations;
  }
  return r;
}

// Sum of squared distances of the values to their nearest centre.
double sse(const std::vector<float>& s, const std::vector<double>& c) {
  std::vector<int64_t> b;
  assign_ranges(s, c, b);
  double total = 0;
  for (size_t j = 0; j < c.size(); ++j)
    for (int64_t i = b[j]; i < b[j + 1]; ++i) {
      const double d = static_cast<double>(s[static_cast<size_t>(i)]) - c[j];
      total += d * d;
    }
  return total;
}

}  // namespace

Tensor uniform_codebook(const Tensor& w, const std::string& what) {
  const float* p = checked_values(w, what);
  std::mutex mu;
  float lo = p[0], hi = p[0];
  for_pieces(w.numel(), [&](int64_t b, int64_t e) {
    float mn = p[b], mx = p[b];
    for (int64_t i = b; i < e; ++i) {
      mn = std::min(mn, p[i]);
      mx = std::max(mx, p[i]);
    }
    std::lock_guard<std::mutex> l(mu);
    lo = std::min(lo, mn);
    hi = std::max(hi, mx);
  });
  // numpy.linspace(lo, hi, 256) in double: start + i * step, the last point exactly `hi`.
  const double start = lo, step = (static_cast<double>(hi) - start) / (kCodebookSize - 1);
  std::vector<double> c(kCodebookSize);
  for (int64_t i = 0; i < kCodebookSize; ++i)
    c[static_cast<size_t>(i)] = start + static_cast<double>(i) * step;
  c.back() = hi;
  return to_codebook(c);
}

Tensor quantile_codebook(const Tensor& w, const std::string& what) {
  const float* p = checked_values(w, what);
  const int64_t n = w.numel();
  std::vector<float> v(p, p + n);
  std::vector<int64_t> below(kCodebookSize), above(kCodebookSize);
  std::vector<double> frac(kCodebookSize);
  std::vector<int64_t> ranks;
  for (int64_t i = 0; i < kCodebookSize; ++i) {
    const double h = probability(i) * static_cast<double>(n - 1);
    const size_t k = static_cast<size_t>(i);
    below[k] = std::clamp<int64_t>(static_cast<int64_t>(std::floor(h)), 0, n - 1);
    above[k] = std::min<int64_t>(below[k] + 1, n - 1);
    frac[k] = h - static_cast<double>(below[k]);
    ranks.push_back(below[k]);
    ranks.push_back(above[k]);
  }
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  multiselect(v.data(), 0, n, ranks.data(), ranks.data() + ranks.size());
  std::vector<double> c(kCodebookSize);
  for (size_t k = 0; k < c.size(); ++k)
    c[k] = lerp(v[static_cast<size_t>(below[k])], v[static_cast<size_t>(above[k])], frac[k]);
  return to_codebook(c);
}

KMeansResult kmeans_1d(const Tensor& w, const KMeansOptions& opts, const std::string& what) {
  Y8M_CHECK(opts.clusters >= 1, "{}: k-means needs at least one cluster, got {}", what,
            opts.clusters);
  Y8M_CHECK(opts.max_iterations >= 0, "{}: k-means max_iterations must be >= 0, got {}", what,
            opts.max_iterations);
  const std::vector<float> s = sorted_values(w, what);
  const int64_t k = opts.clusters, m = count_distinct(s);
  KMeansResult best;
  if (m <= k) {  // the distinct values are the centres (zero error)
    best.centres = distinct_values(s, m, k);
    best.centres.resize(static_cast<size_t>(k), best.centres.back());
    best.init = "distinct";
    best.converged = true;
    return best;
  }
  const RangeSums sums(s);
  const std::pair<const char*, std::vector<double>> starts[] = {
      {"companding", companding_init(s, k)},
      {"uniform", uniform_init(s, k)},
      {"quantile", distinct_values(s, m, k)}};
  double best_sse = 0;
  for (const auto& [name, init] : starts) {
    KMeansResult r = lloyd(s, sums, init, opts.max_iterations);
    const double e = sse(s, r.centres);
    if (best.centres.empty() || e < best_sse) {
      best = std::move(r);
      best.init = name;
      best_sse = e;
    }
  }
  return best;
}

Tensor kmeans_codebook(const Tensor& w, const std::string& what) {
  return to_codebook(kmeans_1d(w, KMeansOptions{}, what).centres);
}

Tensor nearest_indices(const Tensor& w, const Tensor& codebook, const std::string& what) {
  Y8M_CHECK(codebook.defined() && codebook.dtype() == DType::f32 && codebook.dim() == 1 &&
                codebook.size(0) == kCodebookSize && codebook.device().is_cpu(),
            "{}: the codebook must be f32 [{}] on the CPU, got {}", what, kCodebookSize,
            codebook.defined() ? codebook.str() : std::string("an undefined tensor"));
  const float* c = codebook.data<float>();
  Y8M_CHECK(std::is_sorted(c, c + kCodebookSize) &&
                std::all_of(c, c + kCodebookSize, [](float x) { return std::isfinite(x); }),
            "{}: the codebook must be finite and sorted ascending", what);
  const float* p = checked_values(w, what);
  // first[j]: the first entry equal to c[j] (equal entries resolve to the lowest index).
  uint8_t first[kCodebookSize];
  for (int64_t j = 0; j < kCodebookSize; ++j)
    first[j] = static_cast<uint8_t>(j > 0 && c[j] == c[j - 1] ? first[j - 1] : j);
  Tensor out = Tensor::empty(w.shape(), DType::u8);
  uint8_t* q = out.data<uint8_t>();
  for_pieces(w.numel(), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float v = p[i];
      const int64_t j = std::lower_bound(c, c + kCodebookSize, v) - c;  // first c[j] >= v
      int64_t pick;
      if (j == 0) {
        pick = 0;
      } else if (j == kCodebookSize) {
        pick = kCodebookSize - 1;
      } else {
        // c[j-1] < v <= c[j]: the lower entry wins ties.
        const double below = static_cast<double>(v) - c[j - 1],
                     above = c[j] - static_cast<double>(v);
        pick = below <= above ? j - 1 : j;
      }
      q[i] = first[pick];
    }
  });
  return out;
}

QuantizedTensor quantize_tensor(const Tensor& w, QuantTransform t, const std::string& what) {
  QuantizedTensor r;
  switch (t) {
    case QuantTransform::quant_uniform:
      r.codebook = uniform_codebook(w, what);
      break;
    case QuantTransform::quant_quantile:
      r.codebook = quantile_codebook(w, what);
      break;
    case QuantTransform::quant_kmeans:
      r.codebook = kmeans_codebook(w, what);
      break;
    case QuantTransform::float16:
      Y8M_FAIL("{}: float16 has no codebook", what);
  }
  r.indices = nearest_indices(w, r.codebook, what);
  return r;
}

}  // namespace y8m::pipeline
