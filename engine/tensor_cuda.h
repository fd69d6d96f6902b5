// CUDA launchers for the engine's raw tensor helpers (engine/tensor_cuda.cu). Pointers are device
// pointers; every launcher queues on `stream` and returns without synchronizing.
#pragma once
#include "engine/engine_layer.h"

#include "engine/dtype.h"

#include <cuda_runtime.h>

#include <cstdint>

namespace y8m::engine::cuda {

// Writes `elem_bytes`-byte pattern `pattern` to n elements.
void fill_pattern(void* dst, int64_t n, int elem_bytes, uint64_t pattern, cudaStream_t stream);
void add(DType dtype, const void* a, const void* b, void* out, int64_t n, cudaStream_t stream);
void scale(DType dtype, void* data, int64_t n, double s, cudaStream_t stream);
// Supported pairs: f32 <-> f64, f16, bf16. Returns false for other pairs.
bool cast(DType from, DType to, const void* src, void* dst, int64_t n, cudaStream_t stream);

}  // namespace y8m::engine::cuda
