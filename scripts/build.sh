#!/usr/bin/env bash
# Configures and builds y8m (Release) into ${Y8M_BUILD_DIR:-build}. CUDA is used when nvcc is found.
# Extra arguments go to the CMake configure step (e.g. -DY8M_ENABLE_CUDA=OFF, -DY8M_CUDA_ARCHS=80).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${Y8M_BUILD_DIR:-build}
JOBS=${Y8M_JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$BUILD_DIR" -j "$JOBS"
