// Formulas of the reduce family shared by the CPU and CUDA kernels, so both backends compute the
// same thing. Every sum (sum, mean, softmax's denominator, the squared norm, the dot products of
// the backward passes) accumulates in double on both backends. The two backends add in different
// (fixed) orders along rows, but with a double accumulator both round to (nearly always) the same
// f32 value, well inside STYLE.md's 1e-5 + 1e-5*|ref| for reductions.
#pragma once

#include "engine/philox.h"  // Y8M_HD

#include <cmath>
#include <cstdint>

namespace y8m::ops {

enum class ReduceKind : int { sum, mean, max };

// The accumulator of every sum.
using ReduceAcc = double;

// tf.nn.l2_normalize's epsilon on the squared norm (SPEC §2.2).
constexpr double kL2NormEps = 1e-12;

// A candidate maximum: value and index along the reduced axis.
template <class T>
struct MaxArg {
  T v;
  int64_t i;
};

// The better of two candidates: NaN beats numbers (max propagates NaN), a larger value beats a
// smaller one, and ties go to the smaller index. Commutative, so any fixed combination order (the
// CPU's sequential scan, CUDA's butterfly) picks the first maximal element.
template <class T>
Y8M_HD MaxArg<T> max_arg_combine(MaxArg<T> a, MaxArg<T> b) {
  const bool na = a.v != a.v, nb = b.v != b.v;
  if (na != nb) return na ? a : b;
  if (!na && a.v != b.v) return a.v > b.v ? a : b;
  return a.i < b.i ? a : b;
}

// Sum or mean from the accumulated sum over n elements. mean over n = 0 is 0/0 = NaN.
template <class T>
Y8M_HD T reduce_finish(ReduceKind k, ReduceAcc s, int64_t n) {
  return k == ReduceKind::mean ? static_cast<T>(s / static_cast<ReduceAcc>(n)) : static_cast<T>(s);
}

// l2_normalize forward scale: 1 / sqrt(max(s, eps)) for the squared norm s.
template <class T>
Y8M_HD T l2_inv_norm(ReduceAcc s) {
  return static_cast<T>(1.0 / std::sqrt(s > kL2NormEps ? s : kL2NormEps));
}

// l2_normalize backward, from s = sum x^2 and p = sum dy*x over the axis:
//   dx = (dy - x * p / s) / sqrt(s)   when s > eps (y = x / sqrt(s), so sum(dy*y) * y = x * p / s);
//   dx = dy / sqrt(eps)               when clamped (the denominator is a constant).
// Written as dx = (dy - x * coef) * inv; this returns coef (0 when clamped).
template <class T>
Y8M_HD T l2_backward_coef(ReduceAcc s, ReduceAcc p) {
  return s > kL2NormEps ? static_cast<T>(p / s) : T(0);
}

}  // namespace y8m::ops
