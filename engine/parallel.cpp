#include "engine/parallel.h"

#include <omp.h>

#include <algorithm>
#include <exception>
#include <mutex>

namespace y8m::engine {

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  const int64_t n = end - begin;
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks = (n + grain - 1) / grain;
  const int threads = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), max_chunks));
  if (threads <= 1 || omp_in_parallel()) {
    fn(begin, end);
    return;
  }
  // Exceptions must not escape an OpenMP region: keep the first and rethrow after the join.
  std::exception_ptr error;
  std::mutex mu;
#pragma omp parallel num_threads(threads)
  {
    // The runtime may give fewer threads than asked (OMP_DYNAMIC, thread limits): split by the
    // team actually running, so that every index is still covered.
    const int t = omp_get_thread_num();
    const int team = omp_get_num_threads();
    const int64_t chunk = (n + team - 1) / team;
    const int64_t b = begin + t * chunk;
    const int64_t e = std::min(end, b + chunk);
    if (b < e) {
      try {
        fn(b, e);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

int num_threads() { return omp_get_max_threads(); }
void set_num_threads(int n) { omp_set_num_threads(std::max(1, n)); }

}  // namespace y8m::engine
