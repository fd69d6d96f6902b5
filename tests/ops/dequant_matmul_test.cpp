// dequant_matmul and dequantize (ops/fused/dequant_matmul.h, SPEC §11): the lookup is bit-identical
// to the codebook entry (special values included); the fused op against the composite oracle
// (dequantize -> matmul -> add) for B in {1, 16, 33, 200}, with and without bias, odd K and N,
// several CPU chunks, forward and gradients in f32 and f64; a hand-computed case; edge shapes;
// errors naming the op; and CUDA against the CPU (skipped without a GPU), bit-exact on integer
// data, run-to-run identical, through every streaming pass size, the unaligned kernels and the GEMM
// path.
#include "ops/fused/dequant_matmul.h"

#include "autograd/variable.h"
#include "engine/device.h"
#include "tests/common/test_util.h"
#include "tests/ops/op_harness.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace y8m::testing {
namespace {

using DqFn = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&);

Tensor random_indices(const Shape& shape, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<uint8_t> v(static_cast<size_t>(engine::shape_numel(shape)));
  for (size_t i = 0; i < v.size(); i += 8) {  // 8 indices per draw: real sizes stay fast
    const uint64_t r = gen();
    for (size_t j = 0; j < 8 && i + j < v.size(); ++j)
      v[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  return Tensor::from_vector(v, shape);
}

// Inputs of one case, f32 on the CPU (the codebook always f32).
struct DqInputs {
  Tensor x, wq, cb, bias, dy;
  DqInputs(int64_t b, int64_t k, int64_t n, bool with_bias, bool ints, uint64_t seed) {
    x = (ints ? small_ints({b, k}, seed) : uniform({b, k}, seed)).to(DType::f32);
    wq = random_indices({k, n}, seed + 1);
    std::vector<float> c(256);
    for (int i = 0; i < 256; ++i)
      c[static_cast<size_t>(i)] = ints ? static_cast<float>(i * 37 % 7 - 3) : -0.9f + i / 127.5f;
    cb = Tensor::from_vector(c, {256});
    if (with_bias)
      bias = (ints ? small_ints({n}, seed + 2) : uniform({n}, seed + 2)).to(DType::f32);
    dy = (ints ? small_ints({b, n}, seed + 3) : uniform({b, n}, seed + 3)).to(DType::f32);
  }
  DqInputs to(DType dt) const {
    DqInputs r = *this;
    r.x = x.to(dt);
    r.dy = dy.to(dt);
    if (bias.defined()) r.bias = bias.to(dt);
    return r;
  }
};

struct DqResult {
  Tensor y, dx, dbias;  // gradients undefined unless requested
};

DqResult run_dq(DqFn f, const DqInputs& in, Device dev = Device::cpu(), bool grads = true) {
  Tensor x = in.x.to(dev).clone();
  Tensor bias = in.bias.defined() ? in.bias.to(dev).clone() : Tensor();
  if (grads) {
    autograd::set_requires_grad(x, true);
    if (bias.defined()) autograd::set_requires_grad(bias, true);
  }
  DqResult r;
  r.y = f(x, in.wq.to(dev), in.cb.to(dev), bias);
  if (grads) {
    autograd::backward(r.y, in.dy.to(dev));
    r.dx = autograd::grad(x);
    if (bias.defined()) r.dbias = autograd::grad(bias);
  }
  return r;
}

void expect_close(const Tensor& got, const Tensor& want, double atol, double rtol,
                  const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_TRUE(want.defined()) << what;
  EXPECT_EQ(compare(got.to(Device::cpu()), want.to(Device::cpu()), atol, rtol), "") << what;
}

void expect_results_close(const DqResult& got, const DqResult& want, double atol, double rtol,
                          const std::string& what) {
  expect_close(got.y, want.y, atol, rtol, what + " forward");
  if (want.dx.defined()) expect_close(got.dx, want.dx, atol, rtol, what + " dX");
  if (want.dbias.defined()) expect_close(got.dbias, want.dbias, atol, rtol, what + " dbias");
}

std::string label(int64_t b, int64_t k, int64_t n, bool bias) {
  return "[" + std::to_string(b) + ", " + std::to_string(k) + "] x [" + std::to_string(k) + ", " +
         std::to_string(n) + "]" + (bias ? " + bias" : "");
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

// A codebook with every special value: signed zeros, subnormals, infinities, a NaN with a payload,
// the extremes, then random bit patterns (some are NaNs too).
Tensor special_codebook() {
  std::vector<float> c(256);
  const float specials[] = {0.0f,
                            -0.0f,
                            std::numeric_limits<float>::denorm_min(),
                            -std::numeric_limits<float>::denorm_min(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::lowest(),
                            std::numeric_limits<float>::min()};
  std::mt19937 gen(5);
  for (size_t i = 0; i < c.size(); ++i) {
    const uint32_t u = i == 9 ? 0x7fc01234u : static_cast<uint32_t>(gen());  // 9: payload NaN
    std::memcpy(&c[i], &u, sizeof(u));
    if (i < std::size(specials)) c[i] = specials[i];
  }
  return Tensor::from_vector(c, {256});
}

void expect_lookup_exact(const Tensor& cb, const Tensor& idx, const Tensor& out) {
  ASSERT_EQ(out.dtype(), DType::f32);
  ASSERT_EQ(out.shape(), idx.shape());
  const std::vector<float> c = cb.to_vector<float>(), o = out.to(Device::cpu()).to_vector<float>();
  const std::vector<uint8_t> q = idx.to(Device::cpu()).to_vector<uint8_t>();
  for (size_t i = 0; i < q.size(); ++i)
    ASSERT_EQ(bits(o[i]), bits(c[q[i]])) << "element " << i << " index " << int(q[i]);
}

TEST(Dequantize, BitIdenticalToTheCodebook) {
  const Tensor cb = special_codebook();
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[static_cast<size_t>(i)] = static_cast<uint8_t>(255 - i);
  const Tensor every = Tensor::from_vector(all, {16, 16});
  expect_lookup_exact(cb, every, ops::dequantize(cb, every));
  const Tensor idx = random_indices({3, 1031}, 7);
  expect_lookup_exact(cb, idx, ops::dequantize(cb, idx));
  EXPECT_EQ(ops::dequantize(cb, random_indices({0, 5}, 1)).shape(), (Shape{0, 5}));
}

TEST(DequantMatmul, HandComputed) {
  // W = [[c0, c1, c2], [c3, c4, c5]] with c_i = codebook[Wq] and y = x·W + bias.
  std::vector<float> c(256, 0.0f);
  c[1] = 0.5f, c[7] = -2.0f, c[200] = 3.0f, c[255] = 0.25f;
  const Tensor cb = Tensor::from_vector(c, {256});
  const Tensor wq = Tensor::from_vector(std::vector<uint8_t>{1, 7, 200, 255, 0, 1}, {2, 3});
  const Tensor x = Tensor::from_vector(std::vector<float>{1, 2, -1, 4}, {2, 2});
  const Tensor bias = Tensor::from_vector(std::vector<float>{10, 20, 30}, {3});
  // Row 0: [1*0.5 + 2*0.25, 1*-2 + 2*0, 1*3 + 2*0.5] = [1, -2, 4]; row 1: [0.5, 2, -1].
  const std::vector<float> want{11, 18, 34, 10.5f, 22, 29};
  EXPECT_EQ(ops::dequant_matmul(x, wq, cb, bias).to_vector<float>(), want);
  EXPECT_EQ(ops::dequant_matmul_composite(x, wq, cb, bias).to_vector<float>(), want);
}

TEST(DequantMatmul, MatchesCompositeF32) {
  // B from the issue; K x N: the projection, odd sizes around the vector widths, and a K x N over
  // one CPU chunk (1M elements) so that several GEMMs accumulate.
  const std::pair<int64_t, int64_t> kn[] = {{1152, 256}, {1031, 257}, {33, 31}, {8200, 257}};
  uint64_t seed = 100;
  for (int64_t b : {1, 16, 33, 200}) {
    for (const auto& [k, n] : kn) {
      for (bool bias : {false, true}) {
        const DqInputs in(b, k, n, bias, false, seed += 4);
        const DqResult f = run_dq(ops::dequant_matmul, in);
        const DqResult c = run_dq(ops::dequant_matmul_composite, in);
        expect_results_close(f, c, 1e-4, 1e-4, label(b, k, n, bias));
      }
    }
  }
}

TEST(DequantMatmul, MatchesCompositeF64) {
  uint64_t seed = 300;
  for (int64_t b : {1, 16, 33}) {
    for (const auto& [k, n] : {std::pair<int64_t, int64_t>{1031, 257}, {8200, 129}}) {
      const DqInputs in = DqInputs(b, k, n, true, false, seed += 4).to(DType::f64);
      const DqResult f = run_dq(ops::dequant_matmul, in);
      EXPECT_EQ(f.y.dtype(), DType::f64);
      expect_results_close(f, run_dq(ops::dequant_matmul_composite, in), 1e-11, 1e-12,
                           label(b, k, n, true) + " f64");
    }
  }
}

TEST(DequantMatmul, ExactOnIntegers) {
  // Small integers: every sum is exact in fp32, so fused and composite agree bit for bit even
  // though the fused op sums K in several chunks.
  for (int64_t b : {1, 33}) {
    const DqInputs in(b, 8200, 257, true, true, 400 + static_cast<uint64_t>(b));
    expect_results_close(run_dq(ops::dequant_matmul, in), run_dq(ops::dequant_matmul_composite, in),
                         0, 0, label(b, 8200, 257, true) + " ints");
  }
}

TEST(DequantMatmul, CodebookAndIndicesGetNoGradient) {
  const DqInputs in(3, 40, 9, true, false, 500);
  Tensor x = in.x.clone(), cb = in.cb.clone();
  autograd::set_requires_grad(x, true);
  autograd::set_requires_grad(cb, true);
  autograd::backward(ops::dequant_matmul(x, in.wq, cb, in.bias), in.dy);
  EXPECT_TRUE(autograd::grad(x).defined());
  // The op returns no gradient for it; the engine zero-fills a leaf that nothing reached.
  const Tensor dcb = autograd::grad(cb);
  if (dcb.defined()) {
    EXPECT_EQ(dcb.to_vector<float>(), std::vector<float>(256, 0.0f));
  }
  // Nothing requiring grad among X and the bias: no node, even with a codebook that requires grad.
  EXPECT_FALSE(autograd::requires_grad(ops::dequant_matmul(in.x, in.wq, cb, in.bias)));
}

TEST(DequantMatmul, EdgeShapes) {
  // Zero rows.
  DqResult r = run_dq(ops::dequant_matmul, DqInputs(0, 33, 7, true, false, 600));
  EXPECT_EQ(r.y.shape(), (Shape{0, 7}));
  EXPECT_EQ(r.dx.shape(), (Shape{0, 33}));
  EXPECT_EQ(r.dbias.to_vector<float>(), std::vector<float>(7, 0.0f));
  // K = 0: Y is the bias, dX is empty.
  const DqInputs k0(3, 0, 5, true, false, 601);
  r = run_dq(ops::dequant_matmul, k0);
  std::vector<float> want;
  for (int b = 0; b < 3; ++b)
    for (float v : k0.bias.to_vector<float>()) want.push_back(v);
  EXPECT_EQ(r.y.to_vector<float>(), want);
  EXPECT_EQ(r.dx.shape(), (Shape{3, 0}));
  expect_close(r.dbias, run_dq(ops::dequant_matmul_composite, k0).dbias, 0, 0, "K = 0 dbias");
  // N = 0: empty output, dX is zero.
  r = run_dq(ops::dequant_matmul, DqInputs(2, 6, 0, false, false, 602));
  EXPECT_EQ(r.y.shape(), (Shape{2, 0}));
  EXPECT_EQ(r.dx.to_vector<float>(), std::vector<float>(12, 0.0f));
}

void expect_error(const std::function<void()>& f, const std::string& op, const std::string& what) {
  const std::string msg = error_of(f);
  EXPECT_NE(msg.find(op), std::string::npos) << what << ": " << msg;
}

TEST(DequantMatmul, ErrorsNameTheOp) {
  const Tensor x = Tensor::zeros({2, 6}), wq = Tensor::zeros({6, 4}, DType::u8);
  const Tensor cb = Tensor::zeros({256}), bias = Tensor::zeros({4});
  for (DqFn f : {ops::dequant_matmul, ops::dequant_matmul_composite}) {
    EXPECT_NO_THROW(f(x, wq, cb, bias));
    EXPECT_NO_THROW(f(x, wq, cb, Tensor()));
    const std::string op = "dequant_matmul";
    expect_error([&] { f(x, Tensor::zeros({6, 4}, DType::i8), cb, bias); }, op, "i8 Wq");
    expect_error([&] { f(x, Tensor::zeros({6, 4}), cb, bias); }, op, "f32 Wq");
    expect_error([&] { f(x, Tensor::zeros({24}, DType::u8), cb, bias); }, op, "1-D Wq");
    expect_error([&] { f(x, Tensor::zeros({1, 6, 4}, DType::u8), cb, bias); }, op, "3-D Wq");
    expect_error([&] { f(x, Tensor::zeros({5, 4}, DType::u8), cb, bias); }, op, "K mismatch");
    expect_error([&] { f(x, wq, Tensor::zeros({255}), bias); }, op, "codebook of 255");
    expect_error([&] { f(x, wq, Tensor::zeros({2, 128}), bias); }, op, "2-D codebook");
    expect_error([&] { f(x, wq, Tensor::zeros({256}, DType::f64), bias); }, op, "f64 codebook");
    expect_error([&] { f(x, wq, cb, Tensor::zeros({5})); }, op, "bias [5]");
    expect_error([&] { f(x, wq, cb, Tensor::zeros({1, 4})); }, op, "bias [1, 4]");
    expect_error([&] { f(x, wq, cb, Tensor::zeros({4}, DType::f64)); }, op, "f64 bias");
    expect_error([&] { f(Tensor::zeros({12}), wq, cb, bias); }, op, "1-D X");
    expect_error([&] { f(Tensor::zeros({2, 6}, DType::i32), wq, cb, bias); }, op, "i32 X");
    expect_error([&] { f(x, Tensor(), cb, bias); }, op, "undefined Wq");
  }
  expect_error([&] { ops::dequantize(cb, Tensor::zeros({3}, DType::i32)); }, "dequantize", "i32");
  expect_error([&] { ops::dequantize(Tensor::zeros({16}), wq); }, "dequantize", "codebook [16]");
}

// ---- CUDA ----

TEST(Dequantize, CudaBitIdentical) {
  Y8M_REQUIRE_CUDA();
  const Device gpu = Device::cuda(0);
  const Tensor cb = special_codebook();
  for (int64_t n : {1, 3, 4, 1031, 1 << 20}) {
    const Tensor idx = random_indices({n + 1}, 8 + static_cast<uint64_t>(n));
    const Tensor g = idx.to(gpu);
    expect_lookup_exact(cb, idx, ops::dequantize(cb.to(gpu), g));
    // A view one byte in: the unaligned (byte) kernel.
    expect_lookup_exact(cb, idx.slice_rows(1, n + 1),
                        ops::dequantize(cb.to(gpu), g.slice_rows(1, n + 1)));
  }
}

// CUDA against the CPU, and a second CUDA run against the first (bit for bit: no atomics).
void check_cuda(const DqInputs& in, double tol, const std::string& what, bool grads = true) {
  const Device gpu = Device::cuda(0);
  const DqResult cpu = run_dq(ops::dequant_matmul, in, Device::cpu(), grads);
  const DqResult g1 = run_dq(ops::dequant_matmul, in, gpu, grads);
  expect_results_close(g1, cpu, tol, tol, what);
  const DqResult g2 = run_dq(ops::dequant_matmul, in, gpu, grads);
  expect_results_close(g2, g1, 0, 0, what + " (run to run)");
}

TEST(DequantMatmul, CudaMatchesCpu) {
  Y8M_REQUIRE_CUDA();
  // Every streaming pass size (1, 2, 4, 8, 16 rows, several passes up to 64; 7 and 40 take the
  // 8-row kernel) and the GEMM path (65, 200); 1024 columns take the vector loads, 3862 and 257 the
  // byte loads.
  uint64_t seed = 700;
  for (int64_t b : {1, 2, 3, 5, 7, 8, 9, 16, 17, 33, 40, 64, 65, 200}) {
    for (bool bias : {false, true}) {
      // Integer data: exact on both devices, whatever the summation order.
      check_cuda(DqInputs(b, 4096, 1024, bias, true, seed += 4), 0,
                 label(b, 4096, 1024, bias) + " ints");
      check_cuda(DqInputs(b, 1152, 3862, bias, true, seed += 4), 0,
                 label(b, 1152, 3862, bias) + " ints");
      check_cuda(DqInputs(b, 1031, 257, bias, false, seed += 4), 1e-4, label(b, 1031, 257, bias));
    }
  }
}

TEST(DequantMatmul, CudaNetVladHiddenLayer) {
  Y8M_REQUIRE_CUDA();
  // [B, 278528]·[278528, 1024] (NetVLAD1's hidden layer) on integers: exact, so the many split-K
  // ranges must reproduce the CPU bit for bit. Forward only (the CPU backward costs seconds).
  for (int64_t b : {1, 16})
    check_cuda(DqInputs(b, 278528, 1024, true, true, 800 + static_cast<uint64_t>(b)), 0,
               label(b, 278528, 1024, true) + " ints", false);
}

TEST(DequantMatmul, CudaUnalignedWeights) {
  Y8M_REQUIRE_CUDA();
  // Wq one byte into its buffer: the byte-load kernels even though N = 1024 is a multiple of 16.
  const int64_t k = 1031, n = 1024;
  for (int64_t b : {1, 16, 200}) {
    DqInputs in(b, k, n, true, false, 900 + static_cast<uint64_t>(b));
    const Tensor buf = random_indices({k * n + 1}, 901).to(Device::cuda(0));
    const Tensor view = buf.slice_rows(1, k * n + 1).reshape({k, n});
    in.wq = view.to(Device::cpu());
    const DqResult cpu = run_dq(ops::dequant_matmul, in);
    Tensor x = in.x.to(Device::cuda(0));
    const Tensor y =
        ops::dequant_matmul(x, view, in.cb.to(Device::cuda(0)), in.bias.to(Device::cuda(0)));
    expect_close(y, cpu.y, 1e-4, 1e-4, label(b, k, n, true) + " unaligned Wq");
  }
}

TEST(DequantMatmul, CudaCompositeMatchesFused) {
  Y8M_REQUIRE_CUDA();
  for (int64_t b : {1, 16, 200}) {
    const DqInputs in(b, 1152, 1024, true, false, 1000 + static_cast<uint64_t>(b));
    const Device gpu = Device::cuda(0);
    expect_results_close(run_dq(ops::dequant_matmul, in, gpu),
                         run_dq(ops::dequant_matmul_composite, in, gpu), 1e-4, 1e-4,
                         label(b, 1152, 1024, true) + " fused vs composite on CUDA");
  }
}

}  // namespace
}  // namespace y8m::testing
