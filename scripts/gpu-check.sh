#!/usr/bin/env bash
# The GPU check, in two halves sized for the lent-GPU device tool (10 minutes a call, 15 for a whole
# session, at most 64 MiB carried, an image without our Debian -dev packages, at most 8 log files
# back):
#
#   ./scripts/gpu-check.sh pack   HERE (no GPU needed): builds the test, bench and app binaries with
#                                 CUDA (Release, sm_90) in build-gpu/ and packs them with the shared
#                                 libraries they need into out/gpu-pack/pack.tar.xz
#   ./scripts/gpu-check.sh run    ON THE GPU MACHINE, from the repository root, out/gpu-pack carried:
#                                 unpacks, then runs each step under `timeout`, logs in $OUT
#                                 (default out/gpu-logs), the summary last on stdout
#
# With the device tool: run(command="bash scripts/gpu-check.sh run", carry=["out/gpu-pack"],
# timeout_s=560). Steps of `run` (about 8 minutes at most; the deadline Y8M_GPU_DEADLINE, 500 s by
# default, shortens the later steps when the earlier ones were slow):
#   1. probe (30 s): nvidia-smi, y8m_gpu_probe (driver, SMs, memory pools, allocator, one checked
#      kernel, upload and download); nothing else runs if it fails
#   2. tests (200 s): every gtest binary with Y8M_REQUIRE_CUDA=1 and Y8M_CUDA_SYNC_LAUNCHES=1 (a CUDA
#      test cannot pass by skipping; a fault is pinned to its kernel); fails when a test skipped for
#      any reason but the legitimate ones (an op without a CUDA kernel or a gradient, a test for
#      machines without a GPU); then the engine and CUDA op tests again with Y8M_CUDA_ALLOCATOR=caching
#   3. sanitizer (100 s): compute-sanitizer --tool memcheck on the op parity tests, when the image
#      has it and it supports the device ("unavailable" otherwise, not a failure)
#   4. e2e (60 s): tests/apps/cuda_pipeline.sh, the whole pipeline on CUDA against the CPU
#   5. bench (90 s): the CUDA benchmarks, short runs
#
# cuBLAS is not packed: libcublasLt alone is 517 MiB, and CUDA 13 ships no static cuBLAS here. The
# run step takes libcublas.so.13 / libcublasLt.so.13 from the image's CUDA toolkit (or the pip
# nvidia-cublas wheel beside its PyTorch); libcudart (0.7 MiB) is packed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PACK_DIR=$ROOT/out/gpu-pack
TESTS=(engine_tests autograd_tests ops_tests models_tests io_tests pipeline_tests graph_tests)
APPS=(y8m-synth y8m-train y8m-train-distill y8m-eval y8m-quantize y8m-infer y8m-distill y8m-demo)

pack() {
  local build=${Y8M_GPU_BUILD:-build-gpu}
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DY8M_ENABLE_CUDA=ON \
    -DY8M_CUDA_ARCHS="${Y8M_CUDA_ARCHS:-90}" >/dev/null || return 1
  local benches=() b
  for b in bench/*/*_bench.cpp; do benches+=("$(basename "$b" .cpp)"); done
  cmake --build "$build" -j"${Y8M_JOBS:-2}" --target "${TESTS[@]}" "${benches[@]}" y8m_gpu_probe \
    "${APPS[@]}" || return 1
  [[ $(ldd "$build/tests/engine_tests") == *libcudart* ]] ||
    { echo "pack: $build is not a CUDA build (nvcc not found?)" >&2; return 1; }
  local stage
  stage=$(mktemp -d)
  mkdir -p "$stage/bin" "$stage/lib"
  for b in "${TESTS[@]}"; do cp "$build/tests/$b" "$stage/bin/"; done
  for b in "${benches[@]}" y8m_gpu_probe; do cp "$build/bench/$b" "$stage/bin/"; done
  for b in "${APPS[@]}"; do cp "$build/apps/$b" "$stage/bin/"; done
  strip --strip-unneeded "$stage"/bin/*
  # Shared libraries that are not part of the base system or the NVIDIA driver/toolkit image.
  ldd "$stage"/bin/* | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
    grep -Ev '/(libc|libm|libstdc\+\+|libgcc_s|libdl|libpthread|librt|ld-linux[^/]*|libcuda|libnvidia[^/]*|libcublas|libcublasLt)\.so' |
    while read -r lib; do cp -L "$lib" "$stage/lib/"; done
  local missing
  missing=$(ldd "$stage"/bin/* | grep 'not found' | grep -v 'libcublas' | sort -u)
  [[ -z $missing ]] || { echo "pack: unresolved libraries: $missing" >&2; return 1; }
  (cd "$stage" && ls -l bin lib) >"$stage/MANIFEST.txt"
  echo "$ROOT" >"$stage/SOURCE_ROOT"  # io_tests read their fixtures from the source tree
  rm -rf "$PACK_DIR"
  mkdir -p "$PACK_DIR"
  XZ_OPT=-6T2 tar -C "$stage" -cJf "$PACK_DIR/pack.tar.xz" bin lib MANIFEST.txt SOURCE_ROOT ||
    return 1
  cp "$stage/MANIFEST.txt" "$PACK_DIR/"
  echo "unpacked: $(du -sh "$stage" | cut -f1); packed: $(du -h "$PACK_DIR/pack.tar.xz" | cut -f1)" |
    tee -a "$PACK_DIR/MANIFEST.txt"
  rm -rf "$stage"
  local bytes
  bytes=$(du -sb "$PACK_DIR" | cut -f1)
  ((bytes < 60 * 1024 * 1024)) || { echo "pack: $bytes bytes, over the 64 MiB carry limit" >&2; return 1; }
  echo "pack ok: $PACK_DIR ($bytes bytes); on the GPU: bash scripts/gpu-check.sh run"
}

# ---- run (on the GPU machine) ----

OUT=${OUT:-$ROOT/out/gpu-logs}
START=$SECONDS
DEADLINE=${Y8M_GPU_DEADLINE:-500}
FAILED=0

note() { echo "$*" | tee -a "$OUT/summary.txt"; }

# limit <seconds>: the step's limit, cut to what is left before the deadline (at least 5 s).
limit() {
  local left=$((DEADLINE - (SECONDS - START)))
  ((left < $1)) && echo $((left > 5 ? left : 5)) || echo "$1"
}

# step <name> <result of the command> <seconds it took>
result() {
  local name=$1 rc=$2 t=$3 what=ok
  if ((rc == 124 || rc == 137)); then what="TIMED OUT"; elif ((rc != 0)); then what="FAILED (exit $rc)"; fi
  [[ $what == ok ]] || FAILED=1
  note "$(printf '%-10s %-18s %4d s' "$name" "$what" "$t")"
}

# The cuBLAS of the image: the CUDA toolkit's, else PyTorch's wheel.
find_cublas() {
  local d
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda/lib; do
    [[ -e $d/libcublasLt.so.13 ]] && { echo "$d"; return; }
  done
  d=$(ldconfig -p 2>/dev/null | awk '/libcublasLt\.so\.13 / {print $NF; exit}')
  [[ -n $d ]] && { dirname "$d"; return; }
  d=$(timeout 20 find / -xdev -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)
  [[ -n $d ]] && dirname "$d"
}

# Tests that skipped for a reason other than the legitimate ones (stdin: gtest output).
bad_skips() {
  awk '/^\[ RUN      \]/ {name = $4; why = ""; next}
       /^\[  SKIPPED \]/ && name != "" {
         if (why !~ /has no CUDA kernel|is not differentiable|a CUDA device is present/)
           print name ": " why
         name = ""; next}
       /^\[       OK \]|^\[  FAILED  \]/ {name = ""; next}
       name != "" && !/: Skipped$/ {why = why $0 " "}'
}

run() {
  mkdir -p "$OUT"
  : >"$OUT/summary.txt"
  local work=${TMPDIR:-/tmp}/y8m-gpu t0 rc
  rm -rf "$work"
  mkdir -p "$work"
  [[ -f $PACK_DIR/pack.tar.xz ]] || { note "no $PACK_DIR/pack.tar.xz: run '$0 pack' here and carry out/gpu-pack"; return 1; }
  tar -C "$work" -xJf "$PACK_DIR/pack.tar.xz" || { note "cannot unpack"; return 1; }
  local bin=$work/bin cublas
  cublas=$(find_cublas)
  export LD_LIBRARY_PATH=$work/lib${cublas:+:$cublas}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export Y8M_REQUIRE_CUDA=1

  # 1. probe
  t0=$SECONDS
  {
    echo "cuBLAS from: ${cublas:-NOT FOUND}"
    timeout 10 nvidia-smi 2>&1
    ldd "$bin"/* | grep 'not found' | sort -u | sed 's/^/UNRESOLVED /'
    timeout "$(limit 30)" "$bin/y8m_gpu_probe"
  } >"$OUT/probe.txt" 2>&1
  rc=$?
  grep -q '^UNRESOLVED' "$OUT/probe.txt" && rc=3
  result probe $rc $((SECONDS - t0))
  grep -E '^(driver|cuda:|allocator|probe|no usable|FAIL|UNRESOLVED)' "$OUT/probe.txt" | tee -a "$OUT/summary.txt"
  ((rc == 0)) || return 1

  # 2. tests (io_tests find their fixtures under the source path of the pack's build: linked here)
  t0=$SECONDS
  rc=0
  local b brc src filter
  src=$(cat "$work/SOURCE_ROOT")
  if [[ ! -e $src/tests/io/fixtures ]]; then
    mkdir -p "$(dirname "$src")" 2>/dev/null && ln -sfn "$ROOT" "$src" 2>/dev/null
  fi
  for b in "${TESTS[@]}"; do
    echo "=== $b" >>"$OUT/tests.log"
    filter=()
    [[ $b == io_tests && ! -e $src/tests/io/fixtures ]] && filter=(--gtest_filter=-TensorFlowFixtures.*)
    Y8M_CUDA_SYNC_LAUNCHES=1 timeout "$(limit 200)" "$bin/$b" "${filter[@]}" >>"$OUT/tests.log" 2>&1
    brc=$?
    ((brc == 0)) || { rc=$brc; note "  $b: exit $brc"; }
  done
  local skips
  skips=$(bad_skips <"$OUT/tests.log")
  [[ -z $skips ]] || { rc=1; note "  tests skipped without a legitimate reason:"; note "$skips"; }
  grep -E '^\[  (PASSED|FAILED)  \]|^\[  SKIPPED \] [0-9]' "$OUT/tests.log" | sort | uniq -c | tee -a "$OUT/summary.txt"
  for b in engine_tests ops_tests; do
    echo "=== $b (Y8M_CUDA_ALLOCATOR=caching)" >>"$OUT/tests.log"
    Y8M_CUDA_ALLOCATOR=caching timeout "$(limit 60)" "$bin/$b" --gtest_filter='*Cuda*' \
      >>"$OUT/tests.log" 2>&1 || { brc=$?; rc=$brc; note "  $b with the caching allocator: exit $brc"; }
  done
  result tests $rc $((SECONDS - t0))

  # 3. sanitizer
  t0=$SECONDS
  local cs
  cs=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
  if [[ -z $cs ]]; then
    note "sanitizer  unavailable (no compute-sanitizer in the image)"
  else
    timeout "$(limit 100)" "$cs" --tool memcheck --error-exitcode 99 "$bin/ops_tests" \
      --gtest_filter='Ops/OpSpecTest.CudaMatchesCpu/*:Shape.*Cuda*' >"$OUT/sanitizer.log" 2>&1
    rc=$?
    if grep -q 'Device not supported\|Target application terminated before first instrumented API call' "$OUT/sanitizer.log"; then
      note "sanitizer  unavailable ($(grep -m1 -o 'Device not supported.*' "$OUT/sanitizer.log"))"
    else
      result sanitizer $rc $((SECONDS - t0))
      grep -E 'ERROR SUMMARY|Invalid|FAILED' "$OUT/sanitizer.log" | head -20 | tee -a "$OUT/summary.txt"
    fi
  fi

  # 4. e2e
  t0=$SECONDS
  timeout "$(limit 60)" bash tests/apps/cuda_pipeline.sh "$bin" "$work/e2e" >"$OUT/e2e.log" 2>&1
  rc=$?
  result e2e $rc $((SECONDS - t0))
  tail -12 "$OUT/e2e.log" | tee -a "$OUT/summary.txt"

  # 5. bench
  t0=$SECONDS
  rc=0
  for b in "$bin"/*_bench; do
    echo "=== $(basename "$b")" >>"$OUT/bench.log"
    timeout "$(limit 90)" "$b" --benchmark_filter='[Cc]uda' --benchmark_min_time=0.05 \
      >>"$OUT/bench.log" 2>&1 || { brc=$?; rc=$brc; note "  $(basename "$b"): exit $brc"; }
  done
  result bench $rc $((SECONDS - t0))
  note "total $((SECONDS - START)) s; logs in $OUT"
  return $FAILED
}

case "${1:-}" in
  pack) pack ;;
  run) run ;;
  *)
    echo "usage: $0 pack|run (see the comment at the top)" >&2
    exit 2
    ;;
esac
