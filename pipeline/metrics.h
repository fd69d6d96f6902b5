// YouTube-8M evaluation metrics (SPEC §9.2), accumulated over batches in double precision.
//
//   Hit@1  mean over videos of Y[v, argmax_c P[v, c]]
//   PERR   mean over videos of (#labels among the k best-scoring classes with score > 0) / k, k = #labels;
//          a video without labels counts 0 (the original divides 0 by 0 and turns the mean into NaN)
//   GAP@K  the top-K (score, label) pairs of every video pooled and ranked by score; sum over ranks i of
//          precision(i)·rel(i), divided by the number of ALL positives (inside the top K or not)
//   mAP    per class, the same over the pairs where the class is in a video's top K, divided by the number
//          of videos labelled with the class; mean over all classes (zeros included)
//
// Ties are broken deterministically: within a video, the lower class index ranks first (Hit@1, PERR
// and top-K); in the pooled GAP / mAP ranking, equal scores keep the order in which they were added
// (video order, then rank within the video). The original broke ties arbitrarily (argpartition) or
// pseudo-randomly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace y8m::pipeline {

struct Metrics {
  int64_t examples = 0;
  double hit_at_one = 0, perr = 0, gap = 0, map = 0;
};

class MetricsAccumulator {
 public:
  explicit MetricsAccumulator(int num_classes, int top_k = 20);
  // probs and labels are host [batch, num_classes] arrays; labels are 0/1.
  void add(const float* probs, const float* labels, int64_t batch);
  Metrics result() const;
  void clear();

 private:
  struct Pair {
    float score;
    bool positive;
    int32_t cls;
  };
  int num_classes_, top_k_;
  int64_t examples_ = 0;
  double hit_sum_ = 0, perr_sum_ = 0;
  int64_t positives_ = 0;
  std::vector<Pair> pairs_;               // top-K pairs of every video, in insertion order
  std::vector<int64_t> class_positives_;  // videos labelled with each class
};

// Refuses Inf/NaN scores (a diverged model's), which no metric, submission or teacher record may
// silently absorb: throws "<what>: video '<id>' has a non-finite score (nan) for class <c>" for the
// first one. probs is a host [ids.size(), num_classes] array.
void check_finite_scores(const float* probs, int64_t num_classes,
                         const std::vector<std::string>& ids, const std::string& what);

// The indices of the k highest scores of one row, best first, ties to the lower index.
std::vector<int32_t> top_k_indices(const float* row, int n, int k);

}  // namespace y8m::pipeline
