// Random tensors from the counter-based Philox generator (engine/philox.h). A Generator is a (seed,
// offset) pair; each fill consumes a range of counters and advances the offset, so a run is
// reproducible from its seed and resumable from its offset. CPU and CUDA give the same numbers:
// uniforms bit-exactly, normals within float rounding of the same double-precision Box-Muller.
#pragma once
#include "engine/engine_layer.h"

#include "engine/tensor.h"

#include <cstdint>

namespace y8m::engine {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0, uint64_t offset = 0) : seed_(seed), offset_(offset) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }
  // Reserves `counters` Philox blocks and returns the first.
  uint64_t advance(uint64_t counters) {
    const uint64_t o = offset_;
    offset_ += counters;
    return o;
  }

 private:
  uint64_t seed_;
  uint64_t offset_;
};

// Element i: uniform in [lo, hi) from word i%4 of block offset + i/4.
void fill_uniform(Tensor& t, uint64_t seed, uint64_t offset, double lo = 0.0, double hi = 1.0);
// Element i: Box-Muller on words 0 and 1 of block offset + i/2 (cosine branch for even i, sine for
// odd).
void fill_normal(Tensor& t, uint64_t seed, uint64_t offset, double mean = 0.0, double stddev = 1.0);
// Counters consumed by a fill of n elements.
inline uint64_t uniform_counters(int64_t n) { return static_cast<uint64_t>((n + 3) / 4); }
inline uint64_t normal_counters(int64_t n) { return static_cast<uint64_t>((n + 1) / 2); }

// Convenience: fill from a Generator and advance it.
void fill_uniform(Tensor& t, Generator& g, double lo = 0.0, double hi = 1.0);
void fill_normal(Tensor& t, Generator& g, double mean = 0.0, double stddev = 1.0);

}  // namespace y8m::engine
