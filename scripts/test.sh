#!/usr/bin/env bash
# The whole test suite: install dependencies, run the fuzz targets for a fixed number of executions
# (scripts/fuzz.sh; Y8M_SKIP_FUZZ=1 skips them), build, and run every test with ctest. CUDA tests skip
# with a reason when no GPU is present. .ci/run runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
if [[ ${Y8M_SKIP_FUZZ:-0} != 1 ]]; then ./scripts/fuzz.sh; fi
./scripts/build.sh
cd "${Y8M_BUILD_DIR:-build}"
ctest --output-on-failure -j "${Y8M_JOBS:-$(nproc)}" --timeout 600
