// CUDA launchers for the random fills (engine/rng_cuda.cu); formulas in engine/rng_math.h.
#pragma once
#include "engine/engine_layer.h"

#include "engine/dtype.h"

#include <cuda_runtime.h>

#include <cstdint>

namespace y8m::engine::cuda {

void fill_uniform(DType dtype, void* data, int64_t n, uint64_t seed, uint64_t offset, double lo,
                  double hi, cudaStream_t stream);
void fill_normal(DType dtype, void* data, int64_t n, uint64_t seed, uint64_t offset, double mean,
                 double stddev, cudaStream_t stream);

}  // namespace y8m::engine::cuda
