// CUDA kernels of the engine: fills, add, scale, dtype casts and the Philox random fills. One unit
// to keep the CUDA compile light.
#include "engine/cuda_context.h"
#include "engine/rng_cuda.h"
#include "engine/rng_math.h"
#include "engine/tensor_cuda.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace y8m::engine::cuda {

namespace {

constexpr int kBlock = 256;

template <class T>
__global__ void fill_kernel(T* dst, int64_t n, T value) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    dst[i] = value;
}

template <class T>
__global__ void add_kernel(const T* a, const T* b, T* out, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] = a[i] + b[i];
}

template <class T>
__global__ void scale_kernel(T* p, int64_t n, T s) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    p[i] = p[i] * s;
}

// Element conversion; Load/Store convert through float (or double for f64).
__device__ __forceinline__ float load_f(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ double load_f(const double* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load_f(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ float load_f(const __nv_bfloat16* p, int64_t i) {
  return __bfloat162float(p[i]);
}
__device__ __forceinline__ void store_f(float* p, int64_t i, double v) {
  p[i] = static_cast<float>(v);
}
__device__ __forceinline__ void store_f(double* p, int64_t i, double v) { p[i] = v; }
__device__ __forceinline__ void store_f(__half* p, int64_t i, double v) {
  p[i] = __float2half_rn(static_cast<float>(v));
}
__device__ __forceinline__ void store_f(__nv_bfloat16* p, int64_t i, double v) {
  p[i] = __float2bfloat16_rn(static_cast<float>(v));
}

template <class From, class To>
__global__ void cast_kernel(const From* src, To* dst, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    store_f(dst, i, static_cast<double>(load_f(src, i)));
}

template <class T>
__global__ void uniform_kernel(T* dst, int64_t n, uint64_t seed, uint64_t offset, double lo,
                               double hi) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    const double u = philox::uniform_at(seed, offset, static_cast<uint64_t>(i));
    dst[i] = philox::uniform_value<T>(u, lo, hi);
  }
}

template <class T>
__global__ void normal_kernel(T* dst, int64_t n, uint64_t seed, uint64_t offset, double mean,
                              double stddev) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    dst[i] = static_cast<T>(philox::mul_add_rn(
        stddev, philox::normal_at(seed, offset, static_cast<uint64_t>(i)), mean));
}

template <class From, class To>
void launch_cast(const void* src, void* dst, int64_t n, cudaStream_t s) {
  cast_kernel<From, To><<<grid_for(n, kBlock), kBlock, 0, s>>>(static_cast<const From*>(src),
                                                               static_cast<To*>(dst), n);
  Y8M_CUDA_LAUNCH_CHECK("cast");
}

}  // namespace

void fill_pattern(void* dst, int64_t n, int elem_bytes, uint64_t pattern, cudaStream_t s) {
  if (n == 0) return;
  const unsigned g = grid_for(n, kBlock);
  switch (elem_bytes) {
    case 1:
      fill_kernel<<<g, kBlock, 0, s>>>(static_cast<uint8_t*>(dst), n,
                                       static_cast<uint8_t>(pattern));
      break;
    case 2:
      fill_kernel<<<g, kBlock, 0, s>>>(static_cast<uint16_t*>(dst), n,
                                       static_cast<uint16_t>(pattern));
      break;
    case 4:
      fill_kernel<<<g, kBlock, 0, s>>>(static_cast<uint32_t*>(dst), n,
                                       static_cast<uint32_t>(pattern));
      break;
    case 8:
      fill_kernel<<<g, kBlock, 0, s>>>(static_cast<uint64_t*>(dst), n, pattern);
      break;
    default:
      Y8M_ASSERT(false, "fill: element size {}", elem_bytes);
  }
  Y8M_CUDA_LAUNCH_CHECK("fill");
}

void add(DType dtype, const void* a, const void* b, void* out, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  const unsigned g = grid_for(n, kBlock);
  if (dtype == DType::f32) {
    add_kernel<<<g, kBlock, 0, s>>>(static_cast<const float*>(a), static_cast<const float*>(b),
                                    static_cast<float*>(out), n);
  } else if (dtype == DType::f64) {
    add_kernel<<<g, kBlock, 0, s>>>(static_cast<const double*>(a), static_cast<const double*>(b),
                                    static_cast<double*>(out), n);
  } else {
    Y8M_FAIL("add: unsupported dtype {} on CUDA", dtype_name(dtype));
  }
  Y8M_CUDA_LAUNCH_CHECK("add");
}

void scale(DType dtype, void* data, int64_t n, double sc, cudaStream_t s) {
  if (n == 0) return;
  const unsigned g = grid_for(n, kBlock);
  if (dtype == DType::f32) {
    scale_kernel<<<g, kBlock, 0, s>>>(static_cast<float*>(data), n, static_cast<float>(sc));
  } else if (dtype == DType::f64) {
    scale_kernel<<<g, kBlock, 0, s>>>(static_cast<double*>(data), n, sc);
  } else {
    Y8M_FAIL("scale: unsupported dtype {} on CUDA", dtype_name(dtype));
  }
  Y8M_CUDA_LAUNCH_CHECK("scale");
}

bool cast(DType from, DType to, const void* src, void* dst, int64_t n, cudaStream_t s) {
  if (n == 0) return true;
  if (from == DType::f32) {
    switch (to) {
      case DType::f64:
        launch_cast<float, double>(src, dst, n, s);
        return true;
      case DType::f16:
        launch_cast<float, __half>(src, dst, n, s);
        return true;
      case DType::bf16:
        launch_cast<float, __nv_bfloat16>(src, dst, n, s);
        return true;
      default:
        return false;
    }
  }
  if (to == DType::f32) {
    switch (from) {
      case DType::f64:
        launch_cast<double, float>(src, dst, n, s);
        return true;
      case DType::f16:
        launch_cast<__half, float>(src, dst, n, s);
        return true;
      case DType::bf16:
        launch_cast<__nv_bfloat16, float>(src, dst, n, s);
        return true;
      default:
        return false;
    }
  }
  return false;
}

void fill_uniform(DType dtype, void* data, int64_t n, uint64_t seed, uint64_t offset, double lo,
                  double hi, cudaStream_t s) {
  if (n == 0) return;
  const unsigned g = grid_for(n, kBlock);
  if (dtype == DType::f32) {
    uniform_kernel<<<g, kBlock, 0, s>>>(static_cast<float*>(data), n, seed, offset, lo, hi);
  } else {
    uniform_kernel<<<g, kBlock, 0, s>>>(static_cast<double*>(data), n, seed, offset, lo, hi);
  }
  Y8M_CUDA_LAUNCH_CHECK("fill_uniform");
}

void fill_normal(DType dtype, void* data, int64_t n, uint64_t seed, uint64_t offset, double mean,
                 double stddev, cudaStream_t s) {
  if (n == 0) return;
  const unsigned g = grid_for(n, kBlock);
  if (dtype == DType::f32) {
    normal_kernel<<<g, kBlock, 0, s>>>(static_cast<float*>(data), n, seed, offset, mean, stddev);
  } else {
    normal_kernel<<<g, kBlock, 0, s>>>(static_cast<double*>(data), n, seed, offset, mean, stddev);
  }
  Y8M_CUDA_LAUNCH_CHECK("fill_normal");
}

}  // namespace y8m::engine::cuda
