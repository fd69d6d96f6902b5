// CUDA kernels of the shape family: word-sized block copies (concat/split/slice/gather), a tiled
// transpose, and the sort-based deterministic scatter-add of gather_rows' backward.
#include "engine/cuda_context.h"
#include "ops/shape/shape_kernels.h"

#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <cstdint>

namespace y8m::ops::cuda {

namespace {
constexpr int kBlock = 256;
constexpr int kTile = 32;  // transpose tile edge
constexpr int kTileRows =
    8;  // threads per tile column: each thread moves kTile / kTileRows elements
constexpr size_t kAlign = 256;  // workspace sub-buffer alignment
using engine::cuda::grid_for;

// Row r of dst (stride dst_ld words) = row src_row(r) of src (stride src_ld words), row_words
// words. A null `index` means src_row(r) = r; an index outside [0, src_rows) yields a zero row
// (the index is checked where it is built, not here: a bad one must not read out of bounds).
template <class W, class I>
__global__ void copy_rows_kernel(const W* __restrict__ src, long long src_ld, W* __restrict__ dst,
                                 long long dst_ld, const I* __restrict__ index, long long rows,
                                 long long row_words, long long src_rows) {
  const long long total = rows * row_words;
  for (long long i = blockIdx.x * (long long)kBlock + threadIdx.x; i < total;
       i += (long long)gridDim.x * kBlock) {
    const long long r = i / row_words, c = i - r * row_words;
    const long long sr = index != nullptr ? static_cast<long long>(index[r]) : r;
    dst[r * dst_ld + c] = sr >= 0 && sr < src_rows ? src[sr * src_ld + c] : W{};
  }
}

// The widest word (16, 8, 4, 2 or 1 bytes) dividing every pointer, stride and row length.
int word_bytes(const void* src, const void* dst, int64_t src_ld, int64_t dst_ld,
               int64_t row_bytes) {
  const uint64_t bits = reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst) |
                        static_cast<uint64_t>(src_ld) | static_cast<uint64_t>(dst_ld) |
                        static_cast<uint64_t>(row_bytes);
  for (int w = 16; w > 1; w /= 2)
    if (bits % static_cast<uint64_t>(w) == 0) return w;
  return 1;
}

template <class W, class I>
void launch_copy(const void* src, int64_t src_ld, void* dst, int64_t dst_ld, const I* index,
                 int64_t rows, int64_t row_bytes, int64_t src_rows, cudaStream_t st) {
  const long long w = sizeof(W), row_words = row_bytes / w;
  copy_rows_kernel<W, I><<<grid_for(rows * row_words, kBlock), kBlock, 0, st>>>(
      static_cast<const W*>(src), src_ld / w, static_cast<W*>(dst), dst_ld / w, index, rows,
      row_words, src_rows);
  Y8M_CUDA_LAUNCH_CHECK("copy_rows");
}

template <class I>
void copy_dispatch(const void* src, int64_t src_ld, void* dst, int64_t dst_ld, const I* index,
                   int64_t rows, int64_t row_bytes, int64_t src_rows, cudaStream_t st) {
  if (rows == 0 || row_bytes == 0) return;
  switch (word_bytes(src, dst, src_ld, dst_ld, row_bytes)) {
    case 16:
      return launch_copy<uint4>(src, src_ld, dst, dst_ld, index, rows, row_bytes, src_rows, st);
    case 8:
      return launch_copy<uint2>(src, src_ld, dst, dst_ld, index, rows, row_bytes, src_rows, st);
    case 4:
      return launch_copy<uint32_t>(src, src_ld, dst, dst_ld, index, rows, row_bytes, src_rows, st);
    case 2:
      return launch_copy<uint16_t>(src, src_ld, dst, dst_ld, index, rows, row_bytes, src_rows, st);
    default:
      return launch_copy<uint8_t>(src, src_ld, dst, dst_ld, index, rows, row_bytes, src_rows, st);
  }
}

// Block (kTile, kTileRows) moves one kTile x kTile tile: coalesced reads of x rows into shared
// memory, coalesced writes of y rows from its columns. Grid y and z loop so any m and batch fit.
__global__ void transpose_kernel(const float* __restrict__ x, float* __restrict__ y,
                                 long long batch, long long m, long long n) {
  __shared__ float tile[kTile][kTile + 1];
  const long long tiles_m = (m + kTile - 1) / kTile;
  const long long c0 = static_cast<long long>(blockIdx.x) * kTile;
  for (long long b = blockIdx.z; b < batch; b += gridDim.z) {
    const float* xb = x + b * m * n;
    float* yb = y + b * m * n;
    for (long long t = blockIdx.y; t < tiles_m; t += gridDim.y) {
      const long long r0 = t * kTile;
      for (int j = threadIdx.y; j < kTile; j += kTileRows) {
        const long long r = r0 + j, c = c0 + threadIdx.x;
        if (r < m && c < n) tile[j][threadIdx.x] = xb[r * n + c];
      }
      __syncthreads();
      for (int j = threadIdx.y; j < kTile; j += kTileRows) {
        const long long c = c0 + j, r = r0 + threadIdx.x;  // y[c, r] = x[r, c]
        if (c < n && r < m) yb[c * m + r] = tile[threadIdx.x][j];
      }
      __syncthreads();
    }
  }
}

// keys[i] = index[i], positions[i] = i: the pairs the radix sort orders. An index outside
// [0, n_rows) gets the key n_rows, whose run no dx row reads (the forward gave it a zero row).
template <class I>
__global__ void init_pairs_kernel(const I* __restrict__ index, int* __restrict__ keys,
                                  int* __restrict__ positions, long long m, long long n_rows) {
  for (long long i = blockIdx.x * (long long)kBlock + threadIdx.x; i < m;
       i += (long long)gridDim.x * kBlock) {
    const long long k = static_cast<long long>(index[i]);
    keys[i] = static_cast<int>(k >= 0 && k < n_rows ? k : n_rows);
    positions[i] = static_cast<int>(i);
  }
}

// Row k's run in the sorted keys is [start[k], end[k]); rows never indexed keep the zero-filled
// empty run [0, 0).
__global__ void mark_runs_kernel(const int* __restrict__ keys, int* __restrict__ start,
                                 int* __restrict__ end, long long m) {
  for (long long j = blockIdx.x * (long long)kBlock + threadIdx.x; j < m;
       j += (long long)gridDim.x * kBlock) {
    const int k = keys[j];
    if (j == 0 || keys[j - 1] != k) start[k] = static_cast<int>(j);
    if (j == m - 1 || keys[j + 1] != k) end[k] = static_cast<int>(j + 1);
  }
}

// dx[r, c] = sum of dy[p, c] over the sorted positions p of row r, in increasing p. Consecutive
// threads take consecutive columns, so the dy reads of a warp are coalesced.
__global__ void sum_runs_kernel(const int* __restrict__ positions, const int* __restrict__ start,
                                const int* __restrict__ end, const float* __restrict__ dy,
                                float* __restrict__ dx, long long n_rows, long long d) {
  const long long total = n_rows * d;
  for (long long i = blockIdx.x * (long long)kBlock + threadIdx.x; i < total;
       i += (long long)gridDim.x * kBlock) {
    const long long r = i / d, c = i - r * d;
    float acc = 0.0f;
    for (int j = start[r]; j < end[r]; ++j) acc += dy[static_cast<long long>(positions[j]) * d + c];
    dx[i] = acc;
  }
}

// Bits the radix sort has to look at for keys in [0, n_rows).
int key_bits(int64_t n_rows) {
  int bits = 1;
  while (bits < 31 && (int64_t{1} << bits) < n_rows) ++bits;
  return bits;
}

size_t align_up(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

size_t sort_temp_bytes(int64_t m, int64_t n_rows) {
  size_t bytes = 0;
  Y8M_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      nullptr, bytes, static_cast<const int*>(nullptr), static_cast<int*>(nullptr),
      static_cast<const int*>(nullptr), static_cast<int*>(nullptr), static_cast<int>(m), 0,
      key_bits(n_rows)));
  return bytes;
}

}  // namespace

void copy_rows(const void* src, int64_t src_ld, void* dst, int64_t dst_ld, int64_t rows,
               int64_t row_bytes, cudaStream_t st) {
  copy_dispatch<int>(src, src_ld, dst, dst_ld, nullptr, rows, row_bytes, rows, st);
}

void transpose(const float* x, float* y, int64_t batch, int64_t m, int64_t n, cudaStream_t st) {
  if (batch == 0 || m == 0 || n == 0) return;
  const long long tiles_n = (n + kTile - 1) / kTile, tiles_m = (m + kTile - 1) / kTile;
  Y8M_CHECK(tiles_n <= 0x7fffffffLL, "transpose: {} columns exceed the grid", n);
  const dim3 grid(static_cast<unsigned>(tiles_n), static_cast<unsigned>(std::min(tiles_m, 65535LL)),
                  static_cast<unsigned>(std::min<long long>(batch, 65535LL)));
  transpose_kernel<<<grid, dim3(kTile, kTileRows), 0, st>>>(x, y, batch, m, n);
  Y8M_CUDA_LAUNCH_CHECK("transpose");
}

void gather_rows(const void* x, const void* index, bool index_i64, void* out, int64_t m,
                 int64_t n_rows, int64_t row_bytes, cudaStream_t st) {
  if (index_i64) {
    copy_dispatch(x, row_bytes, out, row_bytes, static_cast<const int64_t*>(index), m, row_bytes,
                  n_rows, st);
  } else {
    copy_dispatch(x, row_bytes, out, row_bytes, static_cast<const int32_t*>(index), m, row_bytes,
                  n_rows, st);
  }
}

// Keys lie in [0, n_rows]: n_rows is the run of the indices outside [0, n_rows), which no dx row
// reads.
size_t gather_rows_backward_workspace(int64_t m, int64_t n_rows) {
  if (m == 0) return 0;
  const size_t mi = align_up(static_cast<size_t>(m) * sizeof(int));
  const size_t ni = align_up(static_cast<size_t>(n_rows + 1) * sizeof(int));
  return align_up(sort_temp_bytes(m, n_rows + 1)) + 4 * mi + 2 * ni;
}

void gather_rows_backward(const void* index, bool index_i64, const float* dy, float* dx, int64_t m,
                          int64_t n_rows, int64_t d, void* workspace, size_t workspace_bytes,
                          cudaStream_t st) {
  if (n_rows == 0 || d == 0) return;
  if (m == 0) {
    Y8M_CUDA_CHECK(cudaMemsetAsync(dx, 0, static_cast<size_t>(n_rows * d) * sizeof(float), st));
    return;
  }
  // Carve the workspace: sort temp, keys in/out, positions in/out, run start/end per row (and
  // for the out-of-range key n_rows).
  size_t temp_bytes = sort_temp_bytes(m, n_rows + 1);
  Y8M_ASSERT(workspace_bytes >= gather_rows_backward_workspace(m, n_rows),
             "gather_rows_backward: workspace of {} bytes is too small", workspace_bytes);
  char* p = static_cast<char*>(workspace);
  void* temp = p;
  p += align_up(temp_bytes);
  const size_t mi = align_up(static_cast<size_t>(m) * sizeof(int));
  const size_t ni = align_up(static_cast<size_t>(n_rows + 1) * sizeof(int));
  int* keys_in = reinterpret_cast<int*>(p);
  int* keys_out = reinterpret_cast<int*>(p + mi);
  int* pos_in = reinterpret_cast<int*>(p + 2 * mi);
  int* pos_out = reinterpret_cast<int*>(p + 3 * mi);
  int* start = reinterpret_cast<int*>(p + 4 * mi);
  int* end = reinterpret_cast<int*>(p + 4 * mi + ni);

  const unsigned grid_m = grid_for(m, kBlock);
  if (index_i64) {
    init_pairs_kernel<<<grid_m, kBlock, 0, st>>>(static_cast<const int64_t*>(index), keys_in,
                                                 pos_in, m, n_rows);
  } else {
    init_pairs_kernel<<<grid_m, kBlock, 0, st>>>(static_cast<const int32_t*>(index), keys_in,
                                                 pos_in, m, n_rows);
  }
  Y8M_CUDA_LAUNCH_CHECK("gather_rows_backward/init_pairs");
  // Stable: equal keys keep increasing positions, which fixes the summation order.
  Y8M_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, keys_in, keys_out, pos_in,
                                                 pos_out, static_cast<int>(m), 0,
                                                 key_bits(n_rows + 1), st));
  Y8M_CUDA_CHECK(cudaMemsetAsync(start, 0, 2 * ni, st));  // start and end are adjacent
  mark_runs_kernel<<<grid_m, kBlock, 0, st>>>(keys_out, start, end, m);
  Y8M_CUDA_LAUNCH_CHECK("gather_rows_backward/mark_runs");
  sum_runs_kernel<<<grid_for(n_rows * d, kBlock), kBlock, 0, st>>>(pos_out, start, end, dy, dx,
                                                                   n_rows, d);
  Y8M_CUDA_LAUNCH_CHECK("gather_rows_backward/sum_runs");
}

}  // namespace y8m::ops::cuda
