#!/usr/bin/env bash
# Installs y8m's build dependencies from Debian packages (bookworm). Idempotent: does nothing when every
# package is already installed. The CUDA Toolkit is not installed here: when /usr/local/cuda/bin/nvcc
# exists the build uses it, otherwise y8m builds CPU-only.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libfmt-dev            # formatting (error messages, output)
  libopenblas-dev       # CPU GEMM
  protobuf-compiler libprotobuf-dev  # archive headers, tf.Example protos
  libgtest-dev libgmock-dev          # tests
  libbenchmark-dev      # bench/
  libabsl-dev           # command-line flags with TensorFlow's syntax
  zlib1g-dev            # gzip submissions (.csv.gz)
  libarchive-dev        # y8m-infer's --input_model_tgz / --output_model_tgz (.tar.gz bundles)
  libopenmpi-dev openmpi-bin  # data parallelism (mpirun -np N y8m-train/infer/distill; optional)
  clang libclang-rt-14-dev llvm  # libFuzzer + sanitizers for scripts/fuzz.sh (llvm: symbolizer)
  clang-format git      # the style check (tests/CMakeLists.txt)
  pybind11-dev python3-pybind11 python3-dev python3-numpy python3-pytest  # python/ (module + tests)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
