// Metrics against hand-computed fixtures (SPEC §9.2), including ties and videos without labels.
#include "pipeline/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace y8m::pipeline {
namespace {

TEST(Metrics, HandComputedFourClasses) {
  // 3 videos x 4 classes, top_k = 2.
  const float p[] = {0.9f, 0.1f, 0.8f, 0.3f,   // labels {0, 3}: top2 = 0 (pos), 2 (neg)
                     0.2f, 0.7f, 0.6f, 0.1f,   // labels {2}:    top2 = 1 (neg), 2 (pos)
                     0.5f, 0.4f, 0.3f, 0.2f};  // labels {}:     top2 = 0, 1 (neg)
  const float y[] = {1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0};
  MetricsAccumulator acc(4, 2);
  acc.add(p, y, 3);
  const Metrics m = acc.result();
  EXPECT_EQ(m.examples, 3);
  EXPECT_DOUBLE_EQ(m.hit_at_one, 1.0 / 3);  // only video 0's argmax is a label
  // PERR: v0 k=2 top2 {0,2}: 1/2; v1 k=1 top1 {1}: 0; v2 no labels: 0.
  EXPECT_DOUBLE_EQ(m.perr, 0.5 / 3);
  // Pooled ranking: .9(+) .8(-) .7(-) .6(+) .5(-) .4(-); 3 positives in all (one outside the top
  // 2).
  EXPECT_NEAR(m.gap, (1.0 / 1 + 2.0 / 4) / 3, 1e-12);
  // mAP over 4 classes: c0 pairs .9(+) .5(-), 1 positive -> 1; c1 pairs .7(-) .4(-) -> 0 (no
  // positives); c2 pairs .8(-) .6(+), 1 positive -> 1/2; c3 no pairs, 1 positive -> 0.
  EXPECT_NEAR(m.map, (1.0 + 0.0 + 0.5 + 0.0) / 4, 1e-12);
}

TEST(Metrics, TiesAreDeterministic) {
  // Equal scores within a video: the lower class index ranks first; across videos, insertion order.
  const float p[] = {0.5f, 0.5f, 0.5f,  //
                     0.5f, 0.5f, 0.5f};
  const float y[] = {0, 1, 0,  //
                     1, 0, 0};
  MetricsAccumulator acc(3, 1);
  acc.add(p, y, 2);
  const Metrics m = acc.result();
  EXPECT_DOUBLE_EQ(m.hit_at_one, 0.5);  // v0 picks class 0 (neg), v1 class 0 (pos)
  // Pairs in order: (.5, -) from v0, (.5, +) from v1: precision at the positive = 1/2; 2 positives.
  EXPECT_DOUBLE_EQ(m.gap, 0.5 / 2);
  EXPECT_EQ(top_k_indices(p, 3, 2), (std::vector<int32_t>{0, 1}));
}

TEST(Metrics, PerrIgnoresNonPositiveScores) {
  const float p[] = {0.f, 0.f, 0.f};
  const float y[] = {1, 0, 0};
  MetricsAccumulator acc(3, 20);  // top_k larger than the vocabulary
  acc.add(p, y, 1);
  const Metrics m = acc.result();
  EXPECT_DOUBLE_EQ(m.perr, 0.0);  // class 0 is ranked first but its score is not > 0
  EXPECT_DOUBLE_EQ(m.hit_at_one, 1.0);
  EXPECT_DOUBLE_EQ(m.gap, 1.0);
}

TEST(Metrics, PerfectAndAccumulatedInBatches) {
  std::vector<float> p(50 * 10), y(50 * 10, 0.f);
  for (int v = 0; v < 50; ++v)
    for (int c = 0; c < 10; ++c) {
      const bool pos = (v + c) % 7 == 0 || c == v % 10;
      y[static_cast<size_t>(v * 10 + c)] = pos ? 1.f : 0.f;
      p[static_cast<size_t>(v * 10 + c)] = pos ? 0.9f - 0.001f * c : 0.1f + 0.001f * c;
    }
  MetricsAccumulator once(10, 20), split(10, 20);
  once.add(p.data(), y.data(), 50);
  split.add(p.data(), y.data(), 17);
  split.add(p.data() + 170, y.data() + 170, 33);
  const Metrics a = once.result(), b = split.result();
  EXPECT_DOUBLE_EQ(a.gap, 1.0);
  EXPECT_DOUBLE_EQ(a.hit_at_one, 1.0);
  EXPECT_DOUBLE_EQ(a.perr, 1.0);
  EXPECT_DOUBLE_EQ(a.map, 1.0);
  EXPECT_DOUBLE_EQ(a.gap, b.gap);
  EXPECT_DOUBLE_EQ(a.map, b.map);
  EXPECT_EQ(b.examples, 50);
}

}  // namespace
}  // namespace y8m::pipeline
