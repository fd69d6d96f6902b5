// Element-wise formulas shared by the CPU and CUDA kernels, so both backends compute the same
// thing.
#pragma once

#include "engine/philox.h"  // Y8M_HD
#include "ops/op_list.h"

#include <cmath>

namespace y8m::ops {

// The scalar ops, then the unary ops of Y8M_UNARY_OPS (ops/op_list.h), in list order.
#define Y8M_UNARY_KIND(X, name, lo, hi, forward, backward) name,
enum class UnaryKind : int { add_scalar, mul_scalar, Y8M_UNARY_OPS(Y8M_UNARY_KIND, _) };
#undef Y8M_UNARY_KIND
enum class BinaryKind : int { add, sub, mul, div };

// Forward: y = f(x) (s is the scalar of add_scalar / mul_scalar).
template <class T>
Y8M_HD T unary_forward(UnaryKind k, T x, T s) {
  switch (k) {
    case UnaryKind::add_scalar:
      return x + s;
    case UnaryKind::mul_scalar:
      return x * s;
#define Y8M_UNARY_FORWARD_CASE(X, name, lo, hi, forward, backward) \
  case UnaryKind::name:                                            \
    return forward;
      Y8M_UNARY_OPS(Y8M_UNARY_FORWARD_CASE, _)
#undef Y8M_UNARY_FORWARD_CASE
  }
  return T(0);
}

// Backward: dx from the input x, the output y and the output gradient dy.
template <class T>
Y8M_HD T unary_backward(UnaryKind k, T x, T y, T dy, T s) {
  switch (k) {
    case UnaryKind::add_scalar:
      return dy;
    case UnaryKind::mul_scalar:
      return dy * s;
#define Y8M_UNARY_BACKWARD_CASE(X, name, lo, hi, forward, backward) \
  case UnaryKind::name:                                             \
    return backward;
      Y8M_UNARY_OPS(Y8M_UNARY_BACKWARD_CASE, _)
#undef Y8M_UNARY_BACKWARD_CASE
  }
  return T(0);
}

template <class T>
Y8M_HD T binary_forward(BinaryKind k, T a, T b) {
  switch (k) {
    case BinaryKind::add:
      return a + b;
    case BinaryKind::sub:
      return a - b;
    case BinaryKind::mul:
      return a * b;
    case BinaryKind::div:
      return a / b;
  }
  return T(0);
}

// Strides (in elements) of each input over the output's index space; 0 where broadcast.
constexpr int kMaxDims = 8;
struct BroadcastIndex {
  int ndim = 0;
  long long shape[kMaxDims] = {};
  long long stride_a[kMaxDims] = {};
  long long stride_b[kMaxDims] = {};
};

// Offsets of output element i in a and b.
Y8M_HD void broadcast_offsets(const BroadcastIndex& bi, long long i, long long* oa, long long* ob) {
  long long a = 0, b = 0;
  for (int d = bi.ndim - 1; d >= 0; --d) {
    const long long idx = i % bi.shape[d];
    i /= bi.shape[d];
    a += idx * bi.stride_a[d];
    b += idx * bi.stride_b[d];
  }
  *oa = a;
  *ob = b;
}

// sum_to: output element j sums the input over a "reduced" index space. out_shape has 1 on reduced
// dims, red_shape has the input's extent on reduced dims and 1 elsewhere; in_stride are the input's
// strides.
struct SumToIndex {
  int ndim = 0;
  long long out_shape[kMaxDims] = {};
  long long red_shape[kMaxDims] = {};
  long long in_stride[kMaxDims] = {};
  long long n_reduced = 1;
};

// Sum for output j in a fixed order (row-major over the reduced dims): identical on every backend.
template <class T>
Y8M_HD T sum_to_element(const SumToIndex& si, const T* x, long long j) {
  long long base = 0;
  for (int d = si.ndim - 1; d >= 0; --d) {
    base += (j % si.out_shape[d]) * si.in_stride[d];
    j /= si.out_shape[d];
  }
  T acc = T(0);
  for (long long r = 0; r < si.n_reduced; ++r) {
    long long off = base, rr = r;
    for (int d = si.ndim - 1; d >= 0; --d) {
      off += (rr % si.red_shape[d]) * si.in_stride[d];
      rr /= si.red_shape[d];
    }
    acc += x[off];
  }
  return acc;
}

}  // namespace y8m::ops
