// Kernel declarations of the shape family: CPU (shape_cpu.cpp) and CUDA launchers (shape_cuda.cu).
// Raw pointers and sizes only. The data-movement kernels work on bytes, so they serve every dtype.
#pragma once
#include "ops/ops_layer.h"

#include "ops/cuda_launcher.h"

#include <cstddef>
#include <cstdint>

namespace y8m::ops {

namespace cpu {
// Copies `rows` blocks of `row_bytes` bytes: block r goes from src + r*src_ld to dst + r*dst_ld
// (byte strides). concat, split and slice are all this copy on an [outer, axis, inner] view.
void copy_rows(const void* src, int64_t src_ld, void* dst, int64_t dst_ld, int64_t rows,
               int64_t row_bytes);
// y[b] = x[b]ᵀ for x [batch, m, n] and y [batch, n, m].
template <class T>
void transpose(const T* x, T* y, int64_t batch, int64_t m, int64_t n);
// Row r of out = row index[r] of x (rows of row_bytes bytes; indices already validated).
template <class I>
void gather_rows(const void* x, const I* index, void* out, int64_t m, int64_t row_bytes);
// dx [n_rows, d] = 0, then dx[index[i]] += dy[i] for i = 0, 1, ..., m-1 in that order.
template <class T, class I>
void gather_rows_backward(const I* index, const T* dy, T* dx, int64_t m, int64_t n_rows, int64_t d);
}  // namespace cpu

namespace cuda {
Y8M_CUDA_LAUNCHER(void copy_rows(const void* src, int64_t src_ld, void* dst, int64_t dst_ld,
                                 int64_t rows, int64_t row_bytes, cudaStream_t st));
// Tiled through shared memory (32x33 tiles: the padding column avoids bank conflicts).
Y8M_CUDA_LAUNCHER(void transpose(const float* x, float* y, int64_t batch, int64_t m, int64_t n,
                                 cudaStream_t st));
// `index` is i64 when index_i64, else i32; x has n_rows rows. An index outside [0, n_rows) gives
// a zero row (and no gradient): the callers check indices where they are built, and the kernel
// only keeps a bad one from reading out of bounds.
Y8M_CUDA_LAUNCHER(void gather_rows(const void* x, const void* index, bool index_i64, void* out,
                                   int64_t m, int64_t n_rows, int64_t row_bytes, cudaStream_t st));
// Workspace bytes gather_rows_backward needs for m indices into n_rows rows.
Y8M_CUDA_LAUNCHER(size_t gather_rows_backward_workspace(int64_t m, int64_t n_rows));
// Deterministic scatter-add without atomics: a stable radix sort of (index, position) pairs groups
// the positions of each row in increasing order; each dx element then sums its run in that order,
// which is the CPU kernel's order (bit-identical results).
Y8M_CUDA_LAUNCHER(void gather_rows_backward(const void* index, bool index_i64, const float* dy,
                                            float* dx, int64_t m, int64_t n_rows, int64_t d,
                                            void* workspace, size_t workspace_bytes,
                                            cudaStream_t st));
}  // namespace cuda

}  // namespace y8m::ops
