// The recurrent ops (ops/rnn/rnn.h) against an independent reference written as TensorFlow composes
// them: a cell applied step by step to [x_t, h] with tf.nn.dynamic_rnn's length handling (state
// frozen and output 0 for t >= n), and the backward direction built literally as
// reverse_sequence -> dynamic_rnn -> reverse_sequence. f64, exact formulas of SPEC §3.4/§3.5.
#include "ops/rnn/rnn.h"
#include "tests/common/test_util.h"
#include "tests/ops/op_harness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace y8m::ops {
namespace {

using testing::ints;
using testing::uniform;
using V = std::vector<double>;

double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// [x, h]·W + b for W [in+h, cols] row-major.
V affine(const V& x, const V& h, const V& w, const V& b, int64_t cols) {
  V g(b);
  const V xh = [&] {
    V v(x);
    v.insert(v.end(), h.begin(), h.end());
    return v;
  }();
  for (size_t r = 0; r < xh.size(); ++r)
    for (int64_t c = 0; c < cols; ++c) g[c] += xh[r] * w[r * cols + c];
  return g;
}

struct RefOut {
  V seq, h, c;  // [B, T, H], [B, H], [B, H]
};

// One direction over x [B, T, F] with lengths n; gru selects the cell.
RefOut reference(const V& x, const std::vector<int64_t>& n, int64_t bsz, int64_t t, int64_t f,
                 int64_t hid, bool reverse, bool gru, const V& k1, const V& b1, const V& k2,
                 const V& b2) {
  RefOut o{V(bsz * t * hid, 0.0), V(bsz * hid, 0.0), V(bsz * hid, 0.0)};
  for (int64_t b = 0; b < bsz; ++b) {
    const int64_t len = std::clamp<int64_t>(n[b], 0, t);
    // tf.reverse_sequence: the first len frames reversed, the rest kept.
    auto src = [&](int64_t s) { return reverse && s < len ? len - 1 - s : s; };
    V h(hid, 0.0), c(hid, 0.0);
    for (int64_t s = 0; s < len; ++s) {
      const V xt(x.begin() + (b * t + src(s)) * f, x.begin() + (b * t + src(s) + 1) * f);
      if (!gru) {
        const V g = affine(xt, h, k1, b1, 4 * hid);
        for (int64_t j = 0; j < hid; ++j) {
          c[j] = c[j] * sig(g[2 * hid + j] + 1.0) + sig(g[j]) * std::tanh(g[hid + j]);
          h[j] = sig(g[3 * hid + j]) * std::tanh(c[j]);
        }
      } else {
        const V g = affine(xt, h, k1, b1, 2 * hid);
        V rh(hid);
        for (int64_t j = 0; j < hid; ++j) rh[j] = sig(g[j]) * h[j];
        const V cc = affine(xt, rh, k2, b2, hid);
        for (int64_t j = 0; j < hid; ++j) {
          const double u = sig(g[hid + j]);
          h[j] = u * h[j] + (1 - u) * std::tanh(cc[j]);
        }
      }
      // dynamic_rnn output at step s, reversed back to position src(s).
      for (int64_t j = 0; j < hid; ++j) o.seq[(b * t + src(s)) * hid + j] = h[j];
    }
    for (int64_t j = 0; j < hid; ++j) {
      o.h[b * hid + j] = h[j];
      o.c[b * hid + j] = c[j];
    }
  }
  return o;
}

void expect_near(const Tensor& got, const V& want, const std::string& what) {
  const V g = got.to_vector<double>();
  ASSERT_EQ(g.size(), want.size()) << what;
  for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], want[i], 1e-12) << what << " at " << i;
}

TEST(RnnOps, LstmMatchesStepwiseReferenceBothDirections) {
  const int64_t b = 4, t = 6, f = 5, h = 3;
  const std::vector<int64_t> n = {6, 3, 0, 9};
  const Tensor x = uniform({b, t, f}, 1), nf = ints(n, {b});
  const Tensor k = uniform({f + h, 4 * h}, 2, -0.6, 0.6), bias = uniform({4 * h}, 3, -0.5, 0.5);
  for (bool rev : {false, true}) {
    const RefOut r = reference(x.to_vector<double>(), n, b, t, f, h, rev, false,
                               k.to_vector<double>(), bias.to_vector<double>(), {}, {});
    expect_near(lstm(x, nf, k, bias, rev, "sequence"), r.seq, "sequence");
    expect_near(lstm(x, nf, k, bias, rev, "final_h"), r.h, "final_h");
    expect_near(lstm(x, nf, k, bias, rev, "final_c"), r.c, "final_c");
  }
}

TEST(RnnOps, GruMatchesStepwiseReferenceBothDirections) {
  const int64_t b = 4, t = 6, f = 5, h = 3;
  const std::vector<int64_t> n = {6, 3, 0, 9};
  const Tensor x = uniform({b, t, f}, 11), nf = ints(n, {b});
  const Tensor gk = uniform({f + h, 2 * h}, 12, -0.6, 0.6), gb = uniform({2 * h}, 13, 0.5, 1.5);
  const Tensor ck = uniform({f + h, h}, 14, -0.6, 0.6), cb = uniform({h}, 15, -0.5, 0.5);
  for (bool rev : {false, true}) {
    const RefOut r =
        reference(x.to_vector<double>(), n, b, t, f, h, rev, true, gk.to_vector<double>(),
                  gb.to_vector<double>(), ck.to_vector<double>(), cb.to_vector<double>());
    expect_near(gru(x, nf, gk, gb, ck, cb, rev, "sequence"), r.seq, "sequence");
    expect_near(gru(x, nf, gk, gb, ck, cb, rev, "final_h"), r.h, "final_h");
  }
}

TEST(RnnOps, Errors) {
  const Tensor x = uniform({2, 3, 4}, 1), nf = ints({3, 1}, {2});
  const Tensor k = uniform({6, 8}, 2), bias = uniform({8}, 3);
  testing::expect_error([&] { lstm(x, nf, k, bias, false, "final"); }, {"lstm", "output", "final"});
  testing::expect_error(
      [&] {
        lstm(x, nf, uniform({5, 8}, 2), bias, false, "sequence");
      },
      {"lstm", "kernel", "[6, 8]"});
  testing::expect_error([&] { lstm(x, ints({3}, {1}), k, bias, false, "sequence"); },
                        {"lstm", "num_frames"});
  const Tensor gk = uniform({6, 4}, 4), gb = uniform({4}, 5), ck = uniform({6, 2}, 6),
               cb = uniform({2}, 7);
  testing::expect_error([&] { gru(x, nf, gk, gb, ck, cb, false, "final_c"); }, {"gru", "output"});
  testing::expect_error([&] { gru(x, nf, gk, uniform({3}, 5), ck, cb, false, "final_h"); },
                        {"gru", "gates_bias"});
}

}  // namespace
}  // namespace y8m::ops
