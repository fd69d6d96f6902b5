# Helpers sourced by the end-to-end app tests (tests/apps/*.sh). Not a test itself (only *.sh are).
#   source "$(dirname "$0")/lib.bash" "$@"   -> BIN (apps folder), WORK (empty scratch folder, the cwd)
set -euo pipefail
BIN=$1
WORK=$2
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect_error <regex> <command...>: the command must exit non-zero and print a line matching regex
# (stdout and stderr together); its output is echoed for the ctest log. Both helpers leave the output
# in OUTPUT and the exit status in STATUS, for expect_also and further checks.
expect_error() { run_and_match nonzero "$@"; }

# expect_output <regex> <command...>: the command must exit 0 and print a line matching regex.
expect_output() { run_and_match zero "$@"; }

# run_and_match zero|nonzero <regex> <command...>: what the two above share.
run_and_match() {
  local want=$1 regex=$2
  shift 2
  STATUS=0
  OUTPUT=$("$@" 2>&1) || STATUS=$?
  printf '%s\n' "$OUTPUT"
  if [[ $want == zero ]]; then
    [[ $STATUS -eq 0 ]] || fail "exit $STATUS from: $*"
  else
    [[ $STATUS -ne 0 ]] || fail "expected a non-zero exit from: $*"
  fi
  grep -Eq -- "$regex" <<<"$OUTPUT" || fail "expected /$regex/ in the output of: $*"
}

# expect_also <regex>: the last expect_output / expect_error command also printed a line matching regex.
expect_also() {
  grep -Eq -- "$1" <<<"$OUTPUT" || fail "expected /$1/ in that output too"
}

# tiny_data [dir]: y8m-synth's tiny preset into dir (default data): <dir>/frame/{train,validate,test}*
# and <dir>/video/... (450 videos, 50 classes).
tiny_data() {
  "$BIN/y8m-synth" --preset=tiny --seed=5 --video_level --output_dir="${1:-data}" >/dev/null
}

# Small NetVLAD flags for fast CPU runs.
SMALL_MODEL=(--model=NetVLADModelLF --frame_features --feature_names=rgb,audio --feature_sizes=1024,128
  --num_classes=50 --netvlad_cluster_size=4 --netvlad_hidden_size=16 --iterations=5 --batch_size=32
  --num_readers=1 --device=cpu)

# has_mpi <binary>: whether the binary links Open MPI (ldd's output is read whole: grep -q closing the
# pipe early would fail the pipeline under pipefail).
has_mpi() {
  local libs
  libs=$(ldd "$1" 2>/dev/null) || return 1
  grep -q libmpi <<<"$libs"
}

# need_mpi <binary>: exits 77 (ctest: skipped) with the reason when mpirun is absent or the binary was
# built without MPI.
need_mpi() {
  command -v mpirun >/dev/null 2>&1 || {
    echo "skipped: mpirun not found (apt-get install openmpi-bin)"
    exit 77
  }
  has_mpi "$1" || {
    echo "skipped: $1 was built without MPI (install libopenmpi-dev and rebuild)"
    exit 77
  }
}

# mpirun_local <np> <command...>: np ranks on this machine with Open MPI, set up for containers and
# CI: as root (what --allow-run-as-root sets), more ranks than cores (oversubscribe), shared memory
# only (btl self,vader, without the CMA single copy that containers often forbid), no ssh (plm
# isolated).
mpirun_local() {
  local np=$1
  shift
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 \
    OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_plm=isolated \
    mpirun -np "$np" "$@"
}
