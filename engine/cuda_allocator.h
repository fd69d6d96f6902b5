// The CUDA device allocators behind engine::allocate (engine-internal; CUDA builds only).
//
// Two allocators, chosen per device at its first allocation:
// - the stream-ordered pool: cudaMallocAsync/cudaFreeAsync on the device's default memory pool,
//   with a release threshold so freed blocks stay cached across steps;
// - a caching cudaMalloc allocator, used when the device or driver has no memory pools
//   (cudaDevAttrMemoryPoolsSupported is 0, or cudaMallocAsync answers "operation not supported",
//   as some drivers and sandboxes do), or when Y8M_CUDA_ALLOCATOR=caching asks for it. A freed
//   block is cached with an event recorded on the compute stream; a later allocation for the
//   compute stream reuses it at once (stream order covers the earlier kernels), one for the copy
//   stream makes that stream wait for the event first.
// Frees are always ordered on the compute stream: a block first written on the copy stream (an
// upload) is freed only after the compute stream has waited for that copy.
#pragma once
#include "engine/engine_layer.h"

#ifndef Y8M_WITH_CUDA
#error "engine/cuda_allocator.h is only for CUDA builds"
#endif

#include "engine/memory.h"

#include <cstddef>
#include <cstdint>

namespace y8m::engine::cuda {

// Throws y8m::Error when the memory cannot be had; the message names the device, the bytes
// requested, the bytes free, the allocator and `in_use` (bytes y8m holds on the device).
void* device_allocate(int device, size_t bytes, StreamUse use, int64_t in_use);
void device_free(int device, void* ptr) noexcept;
// Pool: the pool's release threshold. Caching allocator: cached bytes above it are returned to
// the driver (after a device synchronization), now and whenever a free exceeds it.
void set_release_threshold(int device, uint64_t bytes);
// "stream-ordered pool (cudaMallocAsync)" or "caching cudaMalloc (<why>)".
std::string allocator_description(int device);

}  // namespace y8m::engine::cuda
