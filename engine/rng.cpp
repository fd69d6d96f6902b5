#include "engine/rng.h"

#include "engine/parallel.h"
#include "engine/rng_math.h"

#ifdef Y8M_WITH_CUDA
#include "engine/cuda_context.h"
#include "engine/rng_cuda.h"
#endif

namespace y8m::engine {

namespace {
void check_float(const Tensor& t, const char* what) {
  Y8M_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64,
            "{}: needs an f32 or f64 tensor, got {}", what, t.str());
}
}  // namespace

void fill_uniform(Tensor& t, uint64_t seed, uint64_t offset, double lo, double hi) {
  check_float(t, "fill_uniform");
  const int64_t n = t.numel();
  if (t.device().is_cuda()) {
#ifdef Y8M_WITH_CUDA
    cuda::set_device(t.device().index);
    cuda::fill_uniform(t.dtype(), t.data_ptr(), n, seed, offset, lo, hi,
                       cuda::compute_stream(t.device().index));
#endif
    return;
  }
  parallel_for(0, n, 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const double u = philox::uniform_at(seed, offset, static_cast<uint64_t>(i));
      if (t.dtype() == DType::f32) {
        t.data<float>()[i] = philox::uniform_value<float>(u, lo, hi);
      } else {
        t.data<double>()[i] = philox::uniform_value<double>(u, lo, hi);
      }
    }
  });
}

void fill_normal(Tensor& t, uint64_t seed, uint64_t offset, double mean, double stddev) {
  check_float(t, "fill_normal");
  const int64_t n = t.numel();
  if (t.device().is_cuda()) {
#ifdef Y8M_WITH_CUDA
    cuda::set_device(t.device().index);
    cuda::fill_normal(t.dtype(), t.data_ptr(), n, seed, offset, mean, stddev,
                      cuda::compute_stream(t.device().index));
#endif
    return;
  }
  parallel_for(0, n, 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const double z = philox::mul_add_rn(
          stddev, philox::normal_at(seed, offset, static_cast<uint64_t>(i)), mean);
      if (t.dtype() == DType::f32) {
        t.data<float>()[i] = static_cast<float>(z);
      } else {
        t.data<double>()[i] = z;
      }
    }
  });
}

void fill_uniform(Tensor& t, Generator& g, double lo, double hi) {
  fill_uniform(t, g.seed(), g.advance(uniform_counters(t.numel())), lo, hi);
}

void fill_normal(Tensor& t, Generator& g, double mean, double stddev) {
  fill_normal(t, g.seed(), g.advance(normal_counters(t.numel())), mean, stddev);
}

}  // namespace y8m::engine
