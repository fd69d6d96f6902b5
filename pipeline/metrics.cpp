#include "pipeline/metrics.h"

#include "engine/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace y8m::pipeline {

void check_finite_scores(const float* probs, int64_t num_classes,
                         const std::vector<std::string>& ids, const std::string& what) {
  const int64_t n = static_cast<int64_t>(ids.size()) * num_classes;
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(probs[i]))
      Y8M_FAIL(
          "{}: video '{}' has a non-finite score ({}) for class {}: the model's weights or its "
          "input are not finite",
          what, ids[static_cast<size_t>(i / num_classes)], probs[i], i % num_classes);
}

std::vector<int32_t> top_k_indices(const float* row, int n, int k) {
  k = std::min(k, n);
  std::vector<int32_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  auto better = [row](int32_t a, int32_t b) {
    return row[a] > row[b] || (row[a] == row[b] && a < b);
  };
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), better);
  idx.resize(static_cast<size_t>(k));
  return idx;
}

MetricsAccumulator::MetricsAccumulator(int num_classes, int top_k)
    : num_classes_(num_classes),
      top_k_(top_k),
      class_positives_(static_cast<size_t>(num_classes), 0) {
  Y8M_CHECK(num_classes > 0 && top_k > 0, "metrics: bad num_classes {} or top_k {}", num_classes,
            top_k);
}

void MetricsAccumulator::clear() {
  examples_ = 0;
  hit_sum_ = perr_sum_ = 0;
  positives_ = 0;
  pairs_.clear();
  std::fill(class_positives_.begin(), class_positives_.end(), 0);
}

void MetricsAccumulator::add(const float* probs, const float* labels, int64_t batch) {
  const int V = num_classes_;
  for (int64_t v = 0; v < batch; ++v) {
    const float* p = probs + v * V;
    const float* y = labels + v * V;
    int k = 0;
    for (int c = 0; c < V; ++c) {
      if (y[c] > 0.5f) {
        ++k;
        ++class_positives_[static_cast<size_t>(c)];
      }
    }
    positives_ += k;
    const std::vector<int32_t> top = top_k_indices(p, V, std::max(top_k_, k));
    hit_sum_ += y[top[0]] > 0.5f ? 1.0 : 0.0;
    if (k > 0) {
      int hits = 0;
      for (int i = 0; i < k; ++i)
        hits += (y[top[static_cast<size_t>(i)]] > 0.5f && p[top[static_cast<size_t>(i)]] > 0.f);
      perr_sum_ += static_cast<double>(hits) / k;
    }
    for (int i = 0; i < std::min(top_k_, V); ++i) {
      const int32_t c = top[static_cast<size_t>(i)];
      pairs_.push_back({p[c], y[c] > 0.5f, c});
    }
    ++examples_;
  }
}

namespace {
// Sum of precision at every positive of a ranking, divided by `positives`.
template <class It>
double average_precision(It begin, It end, int64_t positives) {
  if (positives <= 0) return 0.0;
  double hits = 0, s = 0, i = 0;
  for (It it = begin; it != end; ++it) {
    i += 1;
    if (it->positive) {
      hits += 1;
      s += hits / i;
    }
  }
  return s / static_cast<double>(positives);
}
}  // namespace

Metrics MetricsAccumulator::result() const {
  Metrics m;
  m.examples = examples_;
  if (examples_ == 0) return m;
  m.hit_at_one = hit_sum_ / static_cast<double>(examples_);
  m.perr = perr_sum_ / static_cast<double>(examples_);
  std::vector<Pair> ranked = pairs_;
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Pair& a, const Pair& b) { return a.score > b.score; });
  m.gap = average_precision(ranked.begin(), ranked.end(), positives_);
  // mAP: per class, the class's pairs in the same pooled order.
  std::vector<std::vector<Pair>> per_class(static_cast<size_t>(num_classes_));
  for (const Pair& p : ranked) per_class[static_cast<size_t>(p.cls)].push_back(p);
  double sum = 0;
  for (int c = 0; c < num_classes_; ++c)
    sum += average_precision(per_class[static_cast<size_t>(c)].begin(),
                             per_class[static_cast<size_t>(c)].end(),
                             class_positives_[static_cast<size_t>(c)]);
  m.map = sum / num_classes_;
  return m;
}

}  // namespace y8m::pipeline
