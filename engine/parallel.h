// CPU parallel-for over [begin, end) in chunks of at least `grain` iterations, on a pool of worker
// threads (one per core) that sleep between calls.
// fn(chunk_begin, chunk_end) runs once per chunk; chunks never overlap. Runs inline when the range
// is small or when already inside a parallel region (no nested oversubscription).
#pragma once
#include "engine/engine_layer.h"

#include <cstdint>
#include <functional>

namespace y8m::engine {

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn);
int num_threads();
void set_num_threads(int n);

}  // namespace y8m::engine
