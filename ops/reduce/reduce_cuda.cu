// CUDA kernels of the reduce family. Deterministic: no atomics, every sum in a fixed order.
//
// Row kernels (reduced axis last, at least a warp long): kThreads threads per row and kRows rows
// per block (a warp per row up to 1024 elements, a 256-thread block per row beyond). Each thread
// scans its strided share of the row; a butterfly over the warp and a fixed-order pass over the
// warps' partials (row_allreduce) then give every thread the same result.
//
// Strided kernels (a middle axis, or rows shorter than a warp): one thread per output scans
// j = 0..n-1 sequentially, the CPU's order over a middle axis (bit-identical results there).
//
// Sums accumulate in double (reduce_math.h); products of two floats are exact in double, so FMA
// contraction of `acc += a * b` changes nothing.
#include "engine/cuda_context.h"
#include "ops/reduce/reduce_kernels.h"

#include <cstdint>
#include <type_traits>

namespace y8m::ops::cuda {

namespace {

constexpr int kWarp = 32;
constexpr int kBlock = 256;  // block size of the element-wise and strided kernels
using engine::cuda::grid_for;

struct Sum2 {
  double a, b;
};

__device__ __forceinline__ float shfl_xor(float v, int m) {
  return __shfl_xor_sync(0xffffffffu, v, m);
}
__device__ __forceinline__ double shfl_xor(double v, int m) {
  return __shfl_xor_sync(0xffffffffu, v, m);
}
__device__ __forceinline__ Sum2 shfl_xor(Sum2 v, int m) {
  return {shfl_xor(v.a, m), shfl_xor(v.b, m)};
}
__device__ __forceinline__ MaxArg<float> shfl_xor(MaxArg<float> v, int m) {
  return {shfl_xor(v.v, m),
          static_cast<int64_t>(__shfl_xor_sync(0xffffffffu, static_cast<long long>(v.i), m))};
}

struct SumOp {
  __device__ double operator()(double a, double b) const { return a + b; }
};
struct Sum2Op {
  __device__ Sum2 operator()(Sum2 x, Sum2 y) const { return {x.a + y.a, x.b + y.b}; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct MaxArgOp {
  __device__ MaxArg<float> operator()(MaxArg<float> a, MaxArg<float> b) const {
    return max_arg_combine(a, b);
  }
};

// Combines v over the kThreads threads of a row (threadIdx.x); every thread gets the result. The
// butterfly is symmetric (op is commutative), so all lanes hold identical values. kThreads > 32
// requires one row per block (the __syncthreads are block-wide).
template <int kThreads, class T, class Op>
__device__ T row_allreduce(T v, Op op) {
  for (int m = kWarp / 2; m > 0; m >>= 1) v = op(v, shfl_xor(v, m));
  if constexpr (kThreads == kWarp) {
    return v;
  } else {
    __shared__ T part[kThreads / kWarp];
    const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    T r = part[0];
    for (int w = 1; w < kThreads / kWarp; ++w) r = op(r, part[w]);
    __syncthreads();  // part is reused by the next call
    return r;
  }
}

// Grid-stride loop over rows, kRows per block; row index uniform across the threads of a row.
#define Y8M_FOR_EACH_ROW(r, rows)                                         \
  for (int64_t r = blockIdx.x * (int64_t)kRows + threadIdx.y; r < (rows); \
       r += (int64_t)gridDim.x * kRows)

template <int kThreads, int kRows>
__global__ void reduce_rows_kernel(ReduceKind k, const float* x, float* y, int64_t* argmax,
                                   int64_t rows, int64_t n) {
  Y8M_FOR_EACH_ROW(r, rows) {
    const float* xr = x + r * n;
    if (k == ReduceKind::max) {
      MaxArg<float> b{-INFINITY, INT64_MAX};  // loses every tie: n > 0 gives a real element
      for (int64_t j = threadIdx.x; j < n; j += kThreads)
        b = max_arg_combine(b, MaxArg<float>{xr[j], j});
      b = row_allreduce<kThreads>(b, MaxArgOp());
      if (threadIdx.x == 0) {
        y[r] = b.v;
        if (argmax != nullptr) argmax[r] = b.i;
      }
    } else {
      double s = 0;
      for (int64_t j = threadIdx.x; j < n; j += kThreads) s += static_cast<double>(xr[j]);
      s = row_allreduce<kThreads>(s, SumOp());
      if (threadIdx.x == 0) y[r] = reduce_finish<float>(k, s, n);
    }
  }
}

__global__ void reduce_strided_kernel(ReduceKind k, const float* x, float* y, int64_t* argmax,
                                      int64_t outer, int64_t n, int64_t inner) {
  const int64_t total = outer * inner;
  for (int64_t t = blockIdx.x * (int64_t)kBlock + threadIdx.x; t < total;
       t += (int64_t)gridDim.x * kBlock) {
    const float* xp = x + (t / inner) * n * inner + t % inner;
    if (k == ReduceKind::max) {
      MaxArg<float> b{xp[0], 0};
      for (int64_t j = 1; j < n; ++j) b = max_arg_combine(b, MaxArg<float>{xp[j * inner], j});
      y[t] = b.v;
      if (argmax != nullptr) argmax[t] = b.i;
    } else {
      double s = 0;
      for (int64_t j = 0; j < n; ++j) s += static_cast<double>(xp[j * inner]);
      y[t] = reduce_finish<float>(k, s, n);
    }
  }
}

// dx[o, j, i] from dy[o, i]: scaled copy (sum, mean) or scatter to the saved argmax (max).
__global__ void broadcast_axis_kernel(const float* dy, const int64_t* argmax, float* dx,
                                      int64_t total, int64_t n, int64_t inner, float scale) {
  for (int64_t e = blockIdx.x * (int64_t)kBlock + threadIdx.x; e < total;
       e += (int64_t)gridDim.x * kBlock) {
    const int64_t o = e / (n * inner), j = (e / inner) % n, i = e % inner;
    const int64_t src = o * inner + i;
    if (argmax == nullptr) {
      dx[e] = dy[src] * scale;
    } else {
      dx[e] = argmax[src] == j ? dy[src] : 0.0f;
    }
  }
}

template <int kThreads, int kRows>
__global__ void softmax_forward_kernel(const float* x, float* y, int64_t rows, int64_t n) {
  Y8M_FOR_EACH_ROW(r, rows) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    float m = -INFINITY;
    for (int64_t j = threadIdx.x; j < n; j += kThreads) m = fmaxf(m, xr[j]);
    m = row_allreduce<kThreads>(m, MaxOp());
    double s = 0;
    for (int64_t j = threadIdx.x; j < n; j += kThreads) s += static_cast<double>(expf(xr[j] - m));
    s = row_allreduce<kThreads>(s, SumOp());
    const float inv = static_cast<float>(1.0 / s);
    // Recomputing exp (instead of a third pass over y) reads the row from cache, not DRAM.
    for (int64_t j = threadIdx.x; j < n; j += kThreads) yr[j] = expf(xr[j] - m) * inv;
  }
}

template <int kThreads, int kRows>
__global__ void softmax_backward_kernel(const float* y, const float* dy, float* dx, int64_t rows,
                                        int64_t n) {
  Y8M_FOR_EACH_ROW(r, rows) {
    const float* yr = y + r * n;
    const float* gr = dy + r * n;
    float* dr = dx + r * n;
    double dot = 0;
    for (int64_t j = threadIdx.x; j < n; j += kThreads)
      dot += static_cast<double>(gr[j]) * static_cast<double>(yr[j]);
    const float d = static_cast<float>(row_allreduce<kThreads>(dot, SumOp()));
    for (int64_t j = threadIdx.x; j < n; j += kThreads) dr[j] = yr[j] * (gr[j] - d);
  }
}

template <int kThreads, int kRows>
__global__ void l2_forward_rows_kernel(const float* x, float* y, int64_t rows, int64_t n) {
  Y8M_FOR_EACH_ROW(r, rows) {
    const float* xr = x + r * n;
    double s = 0;
    for (int64_t j = threadIdx.x; j < n; j += kThreads) {
      const double v = xr[j];
      s += v * v;
    }
    const float inv = l2_inv_norm<float>(row_allreduce<kThreads>(s, SumOp()));
    for (int64_t j = threadIdx.x; j < n; j += kThreads) y[r * n + j] = xr[j] * inv;
  }
}

template <int kThreads, int kRows>
__global__ void l2_backward_rows_kernel(const float* x, const float* dy, float* dx, int64_t rows,
                                        int64_t n) {
  Y8M_FOR_EACH_ROW(r, rows) {
    const float* xr = x + r * n;
    const float* gr = dy + r * n;
    Sum2 sp{0, 0};  // sum x^2, sum dy * x
    for (int64_t j = threadIdx.x; j < n; j += kThreads) {
      const double v = xr[j];
      sp.a += v * v;
      sp.b += v * static_cast<double>(gr[j]);
    }
    sp = row_allreduce<kThreads>(sp, Sum2Op());
    const float inv = l2_inv_norm<float>(sp.a), coef = l2_backward_coef<float>(sp.a, sp.b);
    // __fmul_rn keeps x * coef from fusing into an FMA, as on the CPU.
    for (int64_t j = threadIdx.x; j < n; j += kThreads)
      dx[r * n + j] = (gr[j] - __fmul_rn(xr[j], coef)) * inv;
  }
}

// l2_normalize over a middle axis (or short rows): one thread per (o, i), CPU order.
__global__ void l2_strided_kernel(const float* x, const float* dy, float* out, int64_t outer,
                                  int64_t n, int64_t inner) {
  const int64_t total = outer * inner;
  for (int64_t t = blockIdx.x * (int64_t)kBlock + threadIdx.x; t < total;
       t += (int64_t)gridDim.x * kBlock) {
    const int64_t base = (t / inner) * n * inner + t % inner;
    double s = 0, p = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double v = x[base + j * inner];
      s += v * v;
      if (dy != nullptr) p += v * static_cast<double>(dy[base + j * inner]);
    }
    const float inv = l2_inv_norm<float>(s);
    if (dy == nullptr) {  // forward
      for (int64_t j = 0; j < n; ++j) out[base + j * inner] = x[base + j * inner] * inv;
    } else {  // backward
      const float coef = l2_backward_coef<float>(s, p);
      for (int64_t j = 0; j < n; ++j) {
        const int64_t e = base + j * inner;
        out[e] = (dy[e] - __fmul_rn(x[e], coef)) * inv;
      }
    }
  }
}

// Row kernels pay off from a warp's worth of elements; below that one thread per row is better.
constexpr int64_t kMinRowLen = 32;

bool use_rows(int64_t n, int64_t inner) { return inner == 1 && n >= kMinRowLen; }

// Calls launch(kThreads, kRows) as integral constants: a warp per row (8 rows per block) up to 1024
// elements, a 256-thread block per row beyond.
template <class Launch>
void dispatch_rows(int64_t n, const Launch& launch) {
  if (n > 1024) {
    launch(std::integral_constant<int, 256>{}, std::integral_constant<int, 1>{});
  } else {
    launch(std::integral_constant<int, kWarp>{}, std::integral_constant<int, 8>{});
  }
}

}  // namespace

void reduce_axis(ReduceKind k, const float* x, float* y, int64_t* argmax, int64_t outer, int64_t n,
                 int64_t inner, cudaStream_t st) {
  if (outer * inner == 0) return;
  if (use_rows(n, inner)) {
    dispatch_rows(n, [&](auto t, auto r) {
      constexpr int kT = decltype(t)::value, kR = decltype(r)::value;
      reduce_rows_kernel<kT, kR>
          <<<grid_for(outer, kR), dim3(kT, kR), 0, st>>>(k, x, y, argmax, outer, n);
    });
  } else {
    reduce_strided_kernel<<<grid_for(outer * inner, kBlock), kBlock, 0, st>>>(k, x, y, argmax,
                                                                              outer, n, inner);
  }
  Y8M_CUDA_LAUNCH_CHECK("reduce_axis");
}

void broadcast_axis(const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner,
                    float scale, cudaStream_t st) {
  const int64_t total = outer * n * inner;
  if (total == 0) return;
  broadcast_axis_kernel<<<grid_for(total, kBlock), kBlock, 0, st>>>(dy, nullptr, dx, total, n,
                                                                    inner, scale);
  Y8M_CUDA_LAUNCH_CHECK("broadcast_axis");
}

void max_backward(const float* dy, const int64_t* argmax, float* dx, int64_t outer, int64_t n,
                  int64_t inner, cudaStream_t st) {
  const int64_t total = outer * n * inner;
  if (total == 0) return;
  broadcast_axis_kernel<<<grid_for(total, kBlock), kBlock, 0, st>>>(dy, argmax, dx, total, n, inner,
                                                                    1.0f);
  Y8M_CUDA_LAUNCH_CHECK("max_backward");
}

void softmax_forward(const float* x, float* y, int64_t rows, int64_t n, cudaStream_t st) {
  if (rows * n == 0) return;
  dispatch_rows(n, [&](auto t, auto r) {
    constexpr int kT = decltype(t)::value, kR = decltype(r)::value;
    softmax_forward_kernel<kT, kR><<<grid_for(rows, kR), dim3(kT, kR), 0, st>>>(x, y, rows, n);
  });
  Y8M_CUDA_LAUNCH_CHECK("softmax_forward");
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t n,
                      cudaStream_t st) {
  if (rows * n == 0) return;
  dispatch_rows(n, [&](auto t, auto r) {
    constexpr int kT = decltype(t)::value, kR = decltype(r)::value;
    softmax_backward_kernel<kT, kR>
        <<<grid_for(rows, kR), dim3(kT, kR), 0, st>>>(y, dy, dx, rows, n);
  });
  Y8M_CUDA_LAUNCH_CHECK("softmax_backward");
}

void l2_normalize_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner,
                          cudaStream_t st) {
  if (outer * n * inner == 0) return;
  if (use_rows(n, inner)) {
    dispatch_rows(n, [&](auto t, auto r) {
      constexpr int kT = decltype(t)::value, kR = decltype(r)::value;
      l2_forward_rows_kernel<kT, kR><<<grid_for(outer, kR), dim3(kT, kR), 0, st>>>(x, y, outer, n);
    });
  } else {
    l2_strided_kernel<<<grid_for(outer * inner, kBlock), kBlock, 0, st>>>(x, nullptr, y, outer, n,
                                                                          inner);
  }
  Y8M_CUDA_LAUNCH_CHECK("l2_normalize_forward");
}

void l2_normalize_backward(const float* x, const float* dy, float* dx, int64_t outer, int64_t n,
                           int64_t inner, cudaStream_t st) {
  if (outer * n * inner == 0) return;
  if (use_rows(n, inner)) {
    dispatch_rows(n, [&](auto t, auto r) {
      constexpr int kT = decltype(t)::value, kR = decltype(r)::value;
      l2_backward_rows_kernel<kT, kR>
          <<<grid_for(outer, kR), dim3(kT, kR), 0, st>>>(x, dy, dx, outer, n);
    });
  } else {
    l2_strided_kernel<<<grid_for(outer * inner, kBlock), kBlock, 0, st>>>(x, dy, dx, outer, n,
                                                                          inner);
  }
  Y8M_CUDA_LAUNCH_CHECK("l2_normalize_backward");
}

}  // namespace y8m::ops::cuda
