#!/usr/bin/env bash
# Runs every benchmark executable (bench/**/*_bench.cpp) from the build tree. Extra arguments go to
# Google Benchmark (e.g. --benchmark_filter=Cuda). CUDA benchmarks report an error line without a GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${Y8M_BUILD_DIR:-build}
status=0
for b in "$BUILD_DIR"/bench/*_bench; do
  [[ -x $b ]] || continue
  echo "== $(basename "$b")"
  "$b" --benchmark_counters_tabular=true "$@" || status=1
done
exit $status
