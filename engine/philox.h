// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
// counter-based generator, so element i of a random tensor depends only on (seed, offset, i) and
// the CPU and CUDA backends produce the same numbers. Usable from host and device code.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define Y8M_HD __host__ __device__ __forceinline__
#else
#define Y8M_HD inline
#endif

namespace y8m::engine::philox {

struct U32x4 {
  uint32_t v[4];
};

Y8M_HD uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// One block: 128-bit counter (c0..c3), 64-bit key (k0, k1), ten rounds.
Y8M_HD U32x4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                           uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    uint32_t hi0, hi1;
    const uint32_t lo0 = mulhilo(0xD2511F53u, c0, &hi0);
    const uint32_t lo1 = mulhilo(0xCD9E8D57u, c2, &hi1);
    const uint32_t n0 = hi1 ^ c1 ^ k0;
    const uint32_t n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  return U32x4{{c0, c1, c2, c3}};
}

// The block for counter value `counter` (64-bit) of stream `seed`.
Y8M_HD U32x4 block(uint64_t seed, uint64_t counter) {
  return philox4x32_10(static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0u, 0u,
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// a * b + c rounded twice, never contracted into an FMA, so host and device agree bit for bit.
Y8M_HD double mul_add_rn(double a, double b, double c) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(__dmul_rn(a, b), c);
#else
  return a * b + c;
#endif
}

// Uniform float in [0, 1) from the top 24 bits (exactly representable, identical on every backend).
Y8M_HD float to_uniform(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }

// Uniform element i of a tensor filled with (seed, offset): word i%4 of block offset + i/4.
Y8M_HD float uniform_at(uint64_t seed, uint64_t offset, uint64_t i) {
  const U32x4 b = block(seed, offset + i / 4);
  return to_uniform(b.v[i % 4]);
}

}  // namespace y8m::engine::philox
