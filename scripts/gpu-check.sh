#!/usr/bin/env bash
# One call on a machine with a GPU: build with CUDA, run every test (CUDA parity tests included) and every
# benchmark, writing logs to ${OUT:-out}/. Made for the lent-GPU device tool: `bash scripts/gpu-check.sh`.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
mkdir -p "$OUT"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
./scripts/build.sh -DY8M_CUDA_ARCHS="${Y8M_CUDA_ARCHS:-90}" > "$OUT/build.log" 2>&1 || { tail -50 "$OUT/build.log"; exit 1; }
(cd build && ctest --output-on-failure -j 8 --timeout 600) > "$OUT/ctest.log" 2>&1
echo "ctest exit $?"; tail -15 "$OUT/ctest.log"
./scripts/bench.sh > "$OUT/bench.log" 2>&1
echo "bench exit $?"; grep -v '^\s*$' "$OUT/bench.log" | tail -80
