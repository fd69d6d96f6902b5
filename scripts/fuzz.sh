#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, README "Fuzzing") with clang into ${Y8M_FUZZ_BUILD_DIR:-build-fuzz}
# (CPU-only, ASan + UBSan; separate from the gcc build in build/) and runs each target for a fixed number
# of executions, starting from its seed corpus fuzz/corpus/<target>/. Fails on any crash, sanitizer
# report (memory error, undefined behaviour, leak), per-input timeout, out-of-memory, a single
# allocation over the malloc limit, or a target's own invariant (including its heap-growth bound).
# The failing input is saved as <build>/fuzz-artifacts/<kind>-<sha1>; reproduce it with
#   <build>/fuzz/y8m_fuzz_<target> <file>        (Y8M_FUZZ_VERBOSE=1 prints what each parse did)
#
# Environment:
#   Y8M_FUZZ_RUNS      executions per target (default: container 500000, tfrecord 100000,
#                      yt8m_record 500000, tf_bundle 30000; 20-35 s each on one core)
#   Y8M_FUZZ_MAX_TIME  seconds per target (default 90): a cap for slow machines; a target that hits it
#                      stops early and still passes
#   Y8M_FUZZ_SEED      libFuzzer's random seed (default 1: CI runs are reproducible; 0 = random)
#   Y8M_FUZZ_TARGETS   which targets (default "container tfrecord yt8m_record tf_bundle")
#   Y8M_JOBS           build jobs (default: number of cores)
# Extra arguments go to every libFuzzer run (e.g. -runs=2000000, or -max_total_time=600 -runs=-1 for a
# longer local session). New inputs land in <build>/fuzz-work/<target>/, never in fuzz/corpus/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${Y8M_FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${Y8M_JOBS:-$(nproc)}
MAX_TIME=${Y8M_FUZZ_MAX_TIME:-90}
SEED=${Y8M_FUZZ_SEED:-1}
TARGETS=${Y8M_FUZZ_TARGETS:-"container tfrecord yt8m_record tf_bundle"}
start=$SECONDS

declare -A RUNS=([container]=500000 [tfrecord]=100000 [yt8m_record]=500000 [tf_bundle]=30000)
declare -A MAX_LEN=([container]=4096 [tfrecord]=4096 [yt8m_record]=8192 [tf_bundle]=4096)

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "fuzz: $tool not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
done
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DY8M_ENABLE_CUDA=OFF -DY8M_BUILD_TESTS=OFF -DY8M_BUILD_BENCH=OFF -DY8M_BUILD_FUZZ=ON >/dev/null
build_targets=(y8m_fuzz_make_corpus)
for t in $TARGETS; do build_targets+=("y8m_fuzz_$t"); done
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${build_targets[@]}"
echo "fuzz: built in $((SECONDS - start)) s"

# The seed generator must still run (it also checks that every container it writes reads back).
rm -rf "$BUILD_DIR/fuzz-seeds"
"$BUILD_DIR/fuzz/y8m_fuzz_make_corpus" "$BUILD_DIR/fuzz-seeds"

SYMBOLIZER=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
[[ -n $SYMBOLIZER ]] && export ASAN_SYMBOLIZER_PATH=$SYMBOLIZER

mkdir -p "$BUILD_DIR/fuzz-artifacts" "$BUILD_DIR/fuzz-logs"
run_target() {
  local t=$1 work="$BUILD_DIR/fuzz-work/$1"
  shift
  rm -rf "$work" && mkdir -p "$work"
  # -malloc_limit_mb: no single allocation may exceed 16 MiB (inputs are at most 8 KiB); the targets
  # bound the total heap growth per input themselves. -rss_limit_mb covers ASan's own quarantine.
  timeout --signal=KILL $((MAX_TIME + 60)) "$BUILD_DIR/fuzz/y8m_fuzz_$t" \
    -runs="${Y8M_FUZZ_RUNS:-${RUNS[$t]}}" -max_total_time="$MAX_TIME" -seed="$SEED" \
    -max_len="${MAX_LEN[$t]}" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=16 \
    -print_final_stats=1 -artifact_prefix="$BUILD_DIR/fuzz-artifacts/$t-" "$@" \
    "$work" "fuzz/corpus/$t" >"$BUILD_DIR/fuzz-logs/$t.log" 2>&1
}

# All targets at once (each is one process; the kernel shares the cores), so the step takes about
# the longest target's time, and at most Y8M_FUZZ_MAX_TIME.
fuzz_start=$SECONDS
for t in $TARGETS; do
  (if run_target "$t" "$@"; then echo 0; else echo $?; fi) >"$BUILD_DIR/fuzz-logs/$t.status" &
done
wait
status=0
for t in $TARGETS; do
  log="$BUILD_DIR/fuzz-logs/$t.log"
  if [[ $(cat "$BUILD_DIR/fuzz-logs/$t.status") == 0 ]]; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | sed -E 's/^#[0-9]+[[:space:]]+DONE[[:space:]]+//')
    echo "fuzz: $t passed: ${runs:-?} runs; $done_line"
    if [[ -z $* ]] && ((${runs:-0} < ${Y8M_FUZZ_RUNS:-${RUNS[$t]}})); then
      echo "fuzz: note: $t stopped at the ${MAX_TIME} s cap before its run count"
    fi
  else
    status=1
    echo "fuzz: $t FAILED with status $(cat "$BUILD_DIR/fuzz-logs/$t.status") (log: $log); the end of its log:"
    grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$log" | tail -60
  fi
done
echo "fuzz: fuzzed in $((SECONDS - fuzz_start)) s; total $((SECONDS - start)) s"
exit $status
