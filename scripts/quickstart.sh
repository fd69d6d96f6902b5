#!/usr/bin/env bash
# The main job on a fresh machine (README.md, "Two commands"): install dependencies, build, write the
# quickstart synthetic dataset, train a small NetVLADModelLF on it, evaluate it on the held-out split
# (printing the GAP), export inference_model.y8m and write a submission CSV for the test split. A few minutes on 2 CPU cores; on cuda:0 when a GPU is present.
# Work goes to ${Y8M_QUICKSTART_DIR:-/tmp/y8m-quickstart}; extra arguments go to y8m-train.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
OUT=${Y8M_QUICKSTART_DIR:-/tmp/y8m-quickstart}
BIN=build/apps
if [[ ! -d $OUT/data ]]; then
  mkdir -p "$OUT"
  "$BIN/y8m-synth" --preset=quickstart --output_dir="$OUT/data"
fi
"$BIN/y8m-train" --train_data_pattern="$OUT/data/frame/train*.tfrecord" --train_dir="$OUT/netvlad" \
  --start_new_model --model=NetVLADModelLF --frame_features --feature_names=rgb,audio \
  --feature_sizes=1024,128 --netvlad_cluster_size=16 --netvlad_hidden_size=256 --iterations=30 \
  --netvlad_relu=False --gating=True --moe_prob_gating=True --moe_l2=1e-6 --batch_size=64 \
  --base_learning_rate=0.003 --batch_norm_decay=0.9 --num_epochs=4 --num_readers=2 "$@"
"$BIN/y8m-eval" --train_dir="$OUT/netvlad" --eval_data_pattern="$OUT/data/frame/validate*.tfrecord" \
  --run_once --batch_size=250 --num_readers=1
# Export the inference archive (eval.py --build_only) and write the Kaggle submission for the test split.
"$BIN/y8m-eval" --train_dir="$OUT/netvlad" --build_only
"$BIN/y8m-infer" --train_dir="$OUT/netvlad" --input_data_pattern="$OUT/data/frame/test*.tfrecord" \
  --output_file="$OUT/submission.csv" --batch_size=250 --seed=1
head -c 300 "$OUT/submission.csv"; echo
