#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build, and run the demo on built-in synthetic
# data (README.md, "Quick start").
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
./build/apps/y8m-demo "$@"
