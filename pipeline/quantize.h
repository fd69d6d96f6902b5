// Quantization of archives (quantize.py, SPEC §11; DESIGN.md §4 "quantize" pass).
//
// Selection: an initializer is transformed iff it is f32 with MORE than min_elements (17000)
// elements and is not the codebook of an already quantized tensor; everything else (biases, batch
// norm parameters and statistics, small matrices, integer constants) is copied unchanged. Every
// transformed tensor gets its own codebook (per tensor, not per channel).
//
// Transforms (w: the tensor's values, flattened):
//   float16         stored as `<name>float16` f16 (round to nearest even); storage only: the
//                   executor widens f16 initializers to f32 when it loads them
//                   (ops/graph/executor.h), where the original added a cast to the graph. Values
//                   beyond the f16 range are refused.
//   quant_uniform   codebook c_i = min(w) + i·(max(w) − min(w))/255 (numpy.linspace: computed in
//                   double, c_255 = max(w) exactly), rounded to f32.
//   quant_quantile  codebook c_i = the quantile of w at probability p_i = i/255 with numpy's linear
//                   interpolation: h = p_i·(n − 1), s = sorted w, c_i = lerp(s[⌊h⌋], s[⌊h⌋+1],
//                   h − ⌊h⌋) in double, rounded to f32 (c_0 = min, c_255 = max).
//   quant_kmeans    codebook = the centres of a 1-D k-means (Lloyd) with 256 clusters on the values
//                   in double, sorted, rounded to f32 (kmeans_1d below). The original crashes here;
//                   this one is deterministic: three fixed starts instead of random restarts.
// The quant_* transforms store `<name>_quants` u8 (w's shape) holding for each value the index of
// the NEAREST codebook entry (|w − c| in double; a tie goes to the lower index, and equal entries
// resolve to the first), plus `<name>_space` f32 [256]. Every codebook is sorted ascending.
//
// Graph rewrite: a consumer matmul(x, W) (W the right operand, no transposes) becomes
// dequant_matmul(x, W_quants, W_space) with the same output (no bias is folded); every other
// consumer reads `W = dequantize(W_space, W_quants)`, one node inserted before the first such
// consumer (it recomputes the f32 tensor on each run, as TF's gather did, and the executor frees it
// after its last use). The archive's entry of `W_quants` names `W_space` as its codebook.
//
// Typical use (apps/y8m_quantize.cpp):
//   QuantizeOptions o;
//   o.transform = quant_transform_from_name("quant_uniform");
//   QuantizeSummary s = quantize_archive("run/inference_model.y8m", "q/inference_model.y8m", o);
#pragma once

#include "engine/tensor.h"
#include "ops/graph/graph.h"

#include <cstdint>
#include <string>
#include <vector>

namespace y8m::pipeline {

inline constexpr int64_t kCodebookSize = 256;
inline constexpr int64_t kDefaultMinElements = 17000;

enum class QuantTransform { float16, quant_uniform, quant_quantile, quant_kmeans };

// "float16", "quant_uniform", "quant_quantile", "quant_kmeans"; an unknown name is an error listing
// the valid ones.
QuantTransform quant_transform_from_name(const std::string& name);
const char* quant_transform_name(QuantTransform t);

// ---- Codebooks (quantize_codebook.cpp). `w`: f32 on the CPU, any shape, at least one value, every
// value finite (errors name `what`). Codebooks are f32 [256] on the CPU, sorted ascending.
Tensor uniform_codebook(const Tensor& w, const std::string& what = "quantize");
Tensor quantile_codebook(const Tensor& w, const std::string& what = "quantize");

// 1-D k-means (Lloyd's algorithm) on the values of w in double, deterministic.
//   - The values are sorted once; a cluster is then a contiguous range of the sorted values (a value
//     exactly halfway between two centres joins the lower one), and each iteration finds the
//     ranges by binary search and their sums from block prefix sums: O(k log n) per iteration.
//   - With m <= k distinct values the centres are those values (exact; the last one repeated to fill
//     k entries), after 0 iterations (init "distinct").
//   - Otherwise Lloyd runs from three deterministic starts (in place of sklearn's 10 random
//     k-means++ starts) and the one with the smallest sum of squared errors wins (ties: the
//     earlier start):
//       "companding": the centre density that is optimal for large k, proportional to p^(1/3) of
//                     the values' density p: the midpoint quantiles of cube-rooted histogram
//                     counts (max(1, min(4096, n / 256)) bins over [min, max]);
//       "uniform":    linspace(min, max, k) (so the result is never worse than quant_uniform's
//                     codebook, up to the final rounding to f32);
//       "quantile":   the distinct values at distinct ranks floor((i + 1/2) m / k).
//     Each iteration moves every centre to the mean of its range; a centre whose range is empty
//     stays where it is. A run has converged when an iteration leaves every range unchanged (a
//     fixed point); otherwise it stops after max_iterations (sklearn's default cap, 300).
struct KMeansOptions {
  int64_t clusters = kCodebookSize;
  int max_iterations = 300;
};
struct KMeansResult {
  std::vector<double> centres;  // sorted ascending, `clusters` entries
  std::string init;             // the winning start: distinct, companding, uniform or quantile
  int iterations = 0;           // Lloyd updates of the winning run
  bool converged = false;
};
KMeansResult kmeans_1d(const Tensor& w, const KMeansOptions& opts = {},
                       const std::string& what = "quantize");
Tensor kmeans_codebook(const Tensor& w, const std::string& what = "quantize");

// u8 indices (w's shape) of the nearest entry of `codebook` (f32 [256], sorted ascending) for each
// value of w: ties to the lower index, equal entries to the first.
Tensor nearest_indices(const Tensor& w, const Tensor& codebook,
                       const std::string& what = "quantize");

// The codebook of `t` (one of the quant_* transforms) and the indices of w in it.
struct QuantizedTensor {
  Tensor indices;   // u8, w's shape
  Tensor codebook;  // f32 [256]
};
QuantizedTensor quantize_tensor(const Tensor& w, QuantTransform t,
                                const std::string& what = "quantize");

// ---- The graph pass and archives (quantize.cpp).
struct QuantizeOptions {
  QuantTransform transform = QuantTransform::quant_uniform;
  int64_t min_elements = kDefaultMinElements;  // transform f32 tensors with MORE elements than this
};

// One transformed initializer.
struct QuantizedEntry {
  std::string name;                 // the original initializer
  std::vector<std::string> stored;  // what replaces it: {name_quants, name_space} or {namefloat16}
  int64_t elements = 0;
  int64_t fused_matmuls = 0;  // matmul consumers turned into dequant_matmul
  int64_t dequantized = 0;    // other consumers (reading the dequantize node; float16: all)
};

struct QuantizeStats {
  std::vector<QuantizedEntry> transformed;
  int64_t kept = 0;                // initializers copied unchanged
  uint64_t data_bytes_before = 0;  // tensor_data_bytes of the input initializers
  uint64_t data_bytes_after = 0;   // ... and of the output's
};

// Applies the transform to every selected initializer of `in` and rewrites the graph (see above).
// The result is validated. Errors: a new name (`W_quants`, `W_space`, `Wfloat16`) that already
// names a value; a non-finite value; float16 of a value beyond the f16 range or of an initializer
// that is itself a graph output.
ops::graph::GraphWithWeights quantize_graph(const ops::graph::GraphWithWeights& in,
                                            const QuantizeOptions& opts,
                                            QuantizeStats* stats = nullptr);

// Bytes of the tensor data region of an archive holding these tensors (each blob padded to 64
// bytes; io/container.h): the file size less the preamble and header.
uint64_t tensor_data_bytes(const ops::graph::NamedTensors& tensors);

// What tensor_data_bytes of quantize_graph's output will be, from the tensors' dtypes and element
// counts only (nothing is computed: sizes of full-size models without quantizing them). Every f32
// tensor is treated as an initializer that the transform may select.
uint64_t predicted_data_bytes(const ops::graph::NamedTensors& tensors, const QuantizeOptions& opts);

struct QuantizeSummary {
  QuantizeStats stats;
  uint64_t file_bytes_before = 0;  // the input archive's file size
  uint64_t file_bytes_after = 0;   // the written archive's file size
};

// Reads the archive `model` (an archive container, CRC-verified), quantizes it and writes
// `savefile` atomically (a temporary file renamed over it: an existing file is replaced, as
// quantize.py overwrote; savefile may be `model` itself). Missing parent folders are created. The
// metadata keeps the input's and adds quantize_transform, quantize_min_elements, quantized_from.
QuantizeSummary quantize_archive(const std::string& model, const std::string& savefile,
                                 const QuantizeOptions& opts);

}  // namespace y8m::pipeline
