#!/usr/bin/env bash
# Examples/s of y8m-train on 1 and 2 processes on this machine (README "Training on several GPUs or
# machines"): a small NetVLAD on 2,048 synthetic videos in 4 files, 2 epochs, CPU.
#   scripts/bench-data-parallel.sh [build folder (default build)]
set -euo pipefail
BIN=$(realpath "${1:-build}")/apps
command -v mpirun >/dev/null || { echo "bench-data-parallel: mpirun not found (apt-get install openmpi-bin)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
"$BIN/y8m-synth" --preset=tiny --seed=5 --train_videos=2048 --validate_videos=0 --test_videos=0 \
  --shards=4 --output_dir=data >/dev/null
model=(--model=NetVLADModelLF --frame_features --feature_names=rgb,audio --feature_sizes=1024,128
  --num_classes=50 --netvlad_cluster_size=32 --netvlad_hidden_size=256 --iterations=20
  --num_readers=1 --num_epochs=2 --device=cpu --train_data_pattern='data/frame/train*')
# As tests/apps/lib.bash's mpirun_local: root, oversubscription, shared memory only, no ssh.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 \
  OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_plm=isolated
run() {  # <label> <command...>: examples/s over the whole run, start-up included
  local label=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v l="$label" -v a="$t0" -v b="$t1" 'BEGIN { printf "%-28s %6.1f s  %6.0f examples/s\n", l, b - a, 4096 / (b - a) }'
}
run "1 process, batch 64" "$BIN/y8m-train" --train_dir=r1 --batch_size=64 "${model[@]}"
run "2 processes, batch 32 each" mpirun -np 2 "$BIN/y8m-train" --train_dir=r2 --batch_size=32 "${model[@]}"
run "2 processes, batch 64 each" mpirun -np 2 "$BIN/y8m-train" --train_dir=r3 --batch_size=64 "${model[@]}"
