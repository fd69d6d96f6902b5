#!/usr/bin/env bash
# The whole test suite: install dependencies, build, run every test with ctest. CUDA tests skip with a
# reason when no GPU is present. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cd "${Y8M_BUILD_DIR:-build}"
ctest --output-on-failure -j "${Y8M_JOBS:-$(nproc)}" --timeout 600
