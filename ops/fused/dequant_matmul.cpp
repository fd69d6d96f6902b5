// Op entries of the dequant matmul (SPEC §11): checks, scratch allocation, dispatch, autograd node;
// the dequantize helper; and the composite oracle (dequantize -> matmul -> add).
#include "ops/fused/dequant_matmul.h"

#include "ops/elementwise/elementwise.h"
#include "ops/fused/dequant_matmul_kernels.h"
#include "ops/graph/trace.h"
#include "ops/matmul/matmul.h"
#include "ops/op_common.h"
#include "ops/reduce/reduce.h"

#include <climits>

namespace y8m::ops {

namespace {

constexpr const char* kOp = "dequant_matmul";
constexpr int64_t kCodebookSize = 256;

void check_codebook(const Tensor& codebook, const char* op) {
  Y8M_CHECK(codebook.defined(), "{}: undefined codebook", op);
  Y8M_CHECK(
      codebook.dtype() == DType::f32 && codebook.dim() == 1 && codebook.size(0) == kCodebookSize,
      "{}: the codebook must be f32 [{}], got {}", op, kCodebookSize, codebook.str());
}

// Checks shared by the fused op and the composite (messages name `op`); returns the sizes.
DequantMatmulSizes check_inputs(const Tensor& x, const Tensor& wq, const Tensor& codebook,
                                const Tensor& bias, const char* op) {
  check_float(x, op);
  check_dim(x, 2, op, "X");
  Y8M_CHECK(wq.defined(), "{}: undefined Wq", op);
  Y8M_CHECK(wq.dtype() == DType::u8 && wq.dim() == 2,
            "{}: Wq must be a u8 [K, N] matrix of codebook indices, got {}", op, wq.str());
  check_codebook(codebook, op);
  Y8M_CHECK(wq.device() == x.device() && codebook.device() == x.device(),
            "{}: X {}, Wq {} and the codebook {} must be on one device", op, x.str(), wq.str(),
            codebook.str());
  Y8M_CHECK(x.size(1) == wq.size(0),
            "{}: inner dimensions differ: X {} has K = {}, Wq {} has K = {}", op, x.str(),
            x.size(1), wq.str(), wq.size(0));
  DequantMatmulSizes d;
  d.b = x.size(0);
  d.k = x.size(1);
  d.n = wq.size(1);
  if (bias.defined()) {
    check_compatible(x, bias, op);
    Y8M_CHECK(bias.dim() == 1 && bias.size(0) == d.n, "{}: bias must be [N] = [{}], got {}", op,
              d.n, bias.str());
  }
  // BLAS and cuBLAS take int sizes.
  for (int64_t s : {d.b, d.k, d.n})
    Y8M_CHECK(s <= INT_MAX, "{}: X {} or Wq {} exceeds the BLAS int range", op, x.str(), wq.str());
  return d;
}

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

Tensor forward_raw(const Tensor& x, const Tensor& wq, const Tensor& codebook, const Tensor& bias,
                   const DequantMatmulSizes& d) {
  Tensor y = Tensor::empty({d.b, d.n}, x.dtype(), x.device());
  if (d.b == 0 || d.n == 0) return y;
  const uint8_t* q = wq.data<uint8_t>();
  const float* lut = codebook.data<float>();
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        const int64_t chunk = cpu::dequant_matmul_chunk_rows(d);
        Tensor scratch = Tensor::empty({chunk * d.n}, x.dtype());
        cpu::dequant_matmul_forward<T>(x.data<T>(), q, lut, ptr_or_null<T>(bias), y.data<T>(), d,
                                       scratch.data<T>(), chunk);
      },
      [&](cudaStream_t) {  // the launcher uses the device's compute stream and cuBLAS handle
        const int dev = x.device().index;
        Tensor ws = Tensor::empty({cuda::dequant_matmul_workspace(d, dev)}, DType::f32, x.device());
        cuda::dequant_matmul_forward(x.data<float>(), q, lut, ptr_or_null<float>(bias),
                                     y.data<float>(), d,
                                     ws.numel() > 0 ? ws.data<float>() : nullptr, ws.numel(), dev);
      });
  return y;
}

// dX = dY·Wᵀ into a fresh tensor.
Tensor backward_x_raw(const Tensor& dy, const Tensor& x, const Tensor& wq, const Tensor& codebook,
                      const DequantMatmulSizes& d) {
  if (d.n == 0) return Tensor::zeros(x.shape(), x.dtype(), x.device());
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (d.b == 0 || d.k == 0) return dx;
  const uint8_t* q = wq.data<uint8_t>();
  const float* lut = codebook.data<float>();
  dispatch(
      x,
      [&](auto t) {
        using T = decltype(t);
        const int64_t chunk = cpu::dequant_matmul_chunk_rows(d);
        Tensor scratch = Tensor::empty({chunk * d.n}, x.dtype());
        cpu::dequant_matmul_backward_x<T>(dy.data<T>(), q, lut, dx.data<T>(), d, scratch.data<T>(),
                                          chunk);
      },
      [&](cudaStream_t) {  // the launcher uses the device's compute stream and cuBLAS handle
        Tensor ws =
            Tensor::empty({cuda::dequant_matmul_backward_workspace(d)}, DType::f32, x.device());
        cuda::dequant_matmul_backward_x(dy.data<float>(), q, lut, dx.data<float>(), d,
                                        ws.data<float>(), ws.numel(), x.device().index);
      });
  return dx;
}

}  // namespace

Tensor dequantize(const Tensor& codebook, const Tensor& indices) {
  constexpr const char* op = "dequantize";
  check_codebook(codebook, op);
  Y8M_CHECK(indices.defined() && indices.dtype() == DType::u8,
            "{}: indices must be a u8 tensor, got {}", op,
            indices.defined() ? indices.str() : std::string("an undefined tensor"));
  Y8M_CHECK(indices.device() == codebook.device(),
            "{}: indices {} and the codebook {} must be on one device", op, indices.str(),
            codebook.str());
  Tensor out = Tensor::empty(indices.shape(), DType::f32, indices.device());
  const int64_t count = indices.numel();
  if (count > 0 && indices.device().is_cpu()) {
    cpu::dequantize<float>(codebook.data<float>(), indices.data<uint8_t>(), out.data<float>(),
                           count);
  } else if (count > 0) {
    cuda::dequantize(codebook.data<float>(), indices.data<uint8_t>(), out.data<float>(), count,
                     stream_of(indices));
  }
  Y8M_TRACE_OP(op, {}, {codebook, indices}, {out});
  return out;
}

Tensor dequant_matmul_composite(const Tensor& x, const Tensor& wq, const Tensor& codebook,
                                const Tensor& bias) {
  check_inputs(x, wq, codebook, bias, "dequant_matmul_composite");
  Tensor w = dequantize(codebook, wq);
  if (x.dtype() != DType::f32) w = w.to(x.dtype());  // exact: every f32 is a double
  Tensor y = matmul(x, w);
  return bias.defined() ? ops::add(y, bias) : y;
}

Tensor dequant_matmul(const Tensor& x, const Tensor& wq, const Tensor& codebook,
                      const Tensor& bias) {
  const DequantMatmulSizes d = check_inputs(x, wq, codebook, bias, kOp);
  Tensor y = forward_raw(x, wq, codebook, bias, d);
  if (autograd::any_requires_grad({x, bias})) {
    // Saved: the inputs (captured directly; the output is not needed). The codebook and the
    // indices are frozen: no gradient, whatever their requires_grad says.
    autograd::record(kOp, {x, wq, codebook, bias}, {y},
                     [x, wq, codebook, d](const std::vector<Tensor>& g, const Node& node) {
                       Tensor dx, dbias;
                       if (node.needs_input_grad(0)) dx = backward_x_raw(g[0], x, wq, codebook, d);
                       if (node.needs_input_grad(3)) dbias = ops::sum(g[0], 0);
                       return std::vector<Tensor>{dx, Tensor(), Tensor(), dbias};
                     });
  }
  Y8M_TRACE_OP(kOp, {}, {x, wq, codebook, bias}, {y});
  return y;
}

}  // namespace y8m::ops
