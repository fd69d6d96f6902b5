// Shared helpers for benchmarks: the roofs figures are printed against, measured in the same run
// (STYLE.md, Benchmarks), and CUDA timing with events.
#pragma once

#include "engine/tensor.h"

#include <benchmark/benchmark.h>

#include <functional>

namespace y8m::bench {

// Host memcpy bandwidth in GB/s (read + write counted), measured once per process.
double cpu_copy_gbps();
// Device-to-device copy bandwidth in GB/s (read + write counted) of cuda:0; 0 without a GPU.
double cuda_copy_gbps();

// Skips the benchmark with a reason when no CUDA device is usable; returns true if skipped.
bool skip_without_cuda(benchmark::State& state);

// Times `fn` on cuda:0 with events: warm-up, then one timed launch per iteration, reported as
// manual time. `fn` must only queue work on the compute stream (no allocation in the loop: allocate
// before).
void time_cuda(benchmark::State& state, const std::function<void()>& fn);

// Sets counters: "GB/s" from bytes moved per iteration and "roof%" against `roof_gbps`.
void report_bandwidth(benchmark::State& state, double bytes_per_iter, double roof_gbps);
// Sets counters: "GFLOP/s" (or TFLOP/s on CUDA) and "roof%" against `roof_gflops` when positive.
void report_flops(benchmark::State& state, double flops_per_iter, double roof_gflops);

// A random f32 tensor on `device` (uniform in [-1, 1), fixed seed).
Tensor random_tensor(const Shape& shape, Device device, uint64_t seed = 1);

}  // namespace y8m::bench
