// Targeted matmul tests: exact small-integer GEMMs (forward and both gradients) for every transpose
// combination and batched/broadcast form against a naive loop, TF32 off by default, and error
// messages.
#include "ops/matmul/matmul.h"
#include "tests/ops/op_harness.h"

#include "autograd/variable.h"
#include "engine/device.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>

namespace y8m::testing {
namespace {

// Element (row, col) of op(X) for batch entry b of X (a 2-D X is shared by every batch entry).
double op_at(const std::vector<double>& x, const Shape& s, bool t, int64_t b, int64_t row,
             int64_t col) {
  const bool batched = s.size() == 3;
  const int64_t r = s[s.size() - 2], c = s[s.size() - 1];
  const int64_t base = batched ? b * r * c : 0;
  return t ? x[static_cast<size_t>(base + col * c + row)]
           : x[static_cast<size_t>(base + row * c + col)];
}

struct Naive {
  Tensor c, da, db;
};

// C = op(A)·op(B), dA and dB for upstream dC, with the header's batching, by plain loops in double.
Naive naive(const Tensor& a, const Tensor& b, bool ta, bool tb, const Tensor& dc) {
  const std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>(),
                            dv = dc.to_vector<double>();
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  const int64_t batch = sa.size() == 3 ? sa[0] : (sb.size() == 3 ? sb[0] : 1);
  const int64_t m = ta ? a.size(-1) : a.size(-2), k = ta ? a.size(-2) : a.size(-1);
  const int64_t n = tb ? b.size(-2) : b.size(-1);
  std::vector<double> c(static_cast<size_t>(batch * m * n), 0.0);
  std::vector<double> da(av.size(), 0.0), db(bv.size(), 0.0);
  auto store = [](std::vector<double>& g, const Shape& s, bool t, int64_t bi, int64_t row,
                  int64_t col, double v) {
    const int64_t r = s[s.size() - 2], cc = s[s.size() - 1];
    const int64_t base = s.size() == 3 ? bi * r * cc : 0;
    g[static_cast<size_t>(t ? base + col * cc + row : base + row * cc + col)] += v;
  };
  for (int64_t bi = 0; bi < batch; ++bi) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += op_at(av, sa, ta, bi, i, p) * op_at(bv, sb, tb, bi, p, j);
        c[static_cast<size_t>((bi * m + i) * n + j)] = acc;
        const double g = dv[static_cast<size_t>((bi * m + i) * n + j)];
        for (int64_t p = 0; p < k; ++p) {
          store(da, sa, ta, bi, i, p, g * op_at(bv, sb, tb, bi, p, j));  // d op(A)[i, p]
          store(db, sb, tb, bi, p, j, g * op_at(av, sa, ta, bi, i, p));  // d op(B)[p, j]
        }
      }
    }
  }
  const Shape sc = (sa.size() == 3 || sb.size() == 3) ? Shape{batch, m, n} : Shape{m, n};
  return {Tensor::from_vector(c, sc), Tensor::from_vector(da, sa), Tensor::from_vector(db, sb)};
}

// Small-integer f32 operands on `dev`: forward and gradients must equal the naive loop exactly.
void check_exact(const Shape& sa, const Shape& sb, bool ta, bool tb, Device dev) {
  SCOPED_TRACE(engine::shape_str(sa) + " x " + engine::shape_str(sb) + (ta ? " ta" : "") +
               (tb ? " tb" : ""));
  static uint64_t seed = 1000;
  const Tensor a64 = small_ints(sa, seed++), b64 = small_ints(sb, seed++);
  Tensor a = a64.to(DType::f32).to(dev), b = b64.to(DType::f32).to(dev);
  autograd::set_requires_grad(a, true);
  autograd::set_requires_grad(b, true);
  Tensor c = ops::matmul(a, b, ta, tb);
  const Tensor dc64 = small_ints(c.shape(), seed++);
  const Naive want = naive(a64, b64, ta, tb, dc64);
  autograd::backward(c, dc64.to(DType::f32).to(dev));
  EXPECT_EQ(compare(c, want.c, 0, 0), "");
  EXPECT_EQ(compare(autograd::grad(a), want.da, 0, 0), "");
  EXPECT_EQ(compare(autograd::grad(b), want.db, 0, 0), "");
}

struct Form {
  Shape op_a, op_b;  // shapes of op(A) [.., m, k] and op(B) [.., k, n]
};

// Stored shape of X given op(X)'s shape: the last two dimensions swap when transposed.
Shape stored(Shape s, bool t) {
  if (t) std::swap(s[s.size() - 2], s[s.size() - 1]);
  return s;
}

void check_all_forms(Device dev) {
  const std::vector<Form> forms = {
      {{5, 7}, {7, 3}},        // 2-D
      {{4, 33}, {33, 31}},     // odd sizes around the vector width
      {{1, 1}, {1, 1}},        // ones
      {{3, 5, 7}, {3, 7, 4}},  // batched 3-D x 3-D
      {{3, 5, 7}, {7, 4}},     // 3-D x 2-D (B broadcast)
      {{5, 7}, {3, 7, 4}},     // 2-D x 3-D (A broadcast)
      {{2, 0, 7}, {7, 4}},     // zero rows
      {{2, 5, 0}, {2, 0, 4}},  // empty inner dimension: C = 0
  };
  for (const Form& f : forms)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        check_exact(stored(f.op_a, ta), stored(f.op_b, tb), ta, tb, dev);
}

TEST(Matmul, ExactSmallIntegersCpu) { check_all_forms(Device::cpu()); }

TEST(Matmul, ExactSmallIntegersCuda) {
  Y8M_REQUIRE_CUDA();
  check_all_forms(Device::cuda(0));
}

TEST(Matmul, F64Cpu) {
  const Tensor a = small_ints({3, 4, 5}, 1), b = small_ints({5, 6}, 2);
  const Naive want = naive(a, b, false, false, Tensor::zeros({3, 4, 6}, DType::f64));
  EXPECT_EQ(compare(ops::matmul(a, b), want.c, 0, 0), "");
}

using testing::expect_error;

// The first CPU GEMM shortens OpenBLAS's idle-spin timeout (ops/matmul/matmul_kernels.h) unless the
// user chose one: ctest does not set it, so after a matmul it is OpenBLAS's minimum.
TEST(Matmul, CpuGemmSetsTheOpenBlasThreadTimeout) {
  const char* before = std::getenv("OPENBLAS_THREAD_TIMEOUT");
  const std::string user = before != nullptr ? before : "";
  const Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(ops::matmul(a, a).to_vector<float>(), (std::vector<float>{7, 10, 15, 22}));
  const char* after = std::getenv("OPENBLAS_THREAD_TIMEOUT");
  ASSERT_NE(after, nullptr) << "OpenBLAS is the CPU BLAS of every supported build";
  EXPECT_EQ(std::string(after), user.empty() ? "4" : user);
}

TEST(Matmul, Errors) {
  const Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  expect_error([&] { ops::matmul(a, b); },
               {"matmul", "inner dimensions", "K=3", "K=4", "f32[4, 5]"});
  expect_error([&] { ops::matmul(a, b, false, true); }, {"matmul", "inner dimensions"});
  expect_error(
      [&] {
        ops::matmul(a, Tensor::zeros({3, 5}, DType::f64));
      },
      {"matmul", "dtype mismatch"});
  expect_error([&] { ops::matmul(a, Tensor::zeros({3, 5}, DType::i32)); }, {"matmul", "i32"});
  expect_error([&] { ops::matmul(Tensor::zeros({3}), b); }, {"matmul", "2-D or 3-D"});
  expect_error(
      [&] {
        ops::matmul(Tensor::zeros({2, 2, 3}), Tensor::zeros({3, 3, 5}));
      },
      {"matmul", "batch sizes differ"});
  if (engine::cuda_device_count() > 0) {
    expect_error(
        [&] {
          ops::matmul(a, Tensor::zeros({3, 5}, DType::f32, Device::cuda(0)));
        },
        {"matmul", "device mismatch"});
    expect_error(
        [&] {
          ops::matmul(a.to(DType::f64).to(Device::cuda(0)), Tensor::zeros({3, 5}, DType::f64));
        },
        {"matmul"});
  }
}

}  // namespace
}  // namespace y8m::testing
