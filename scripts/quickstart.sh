#!/usr/bin/env bash
# The main job on a fresh machine (README.md, "Two commands"): install dependencies, build, write the
# quickstart synthetic dataset, train a small NetVLADModelLF on it, evaluate it on the held-out split
# (printing the GAP), export inference_model.y8m and write a submission CSV for the test split; then the
# rest of the winning pipeline, each step printing its figure: EMA fine-tuning, uint8 quantization,
# inference from the quantized archive, a second model and a two-model ensemble, a distillation set from
# the ensemble and a student trained on it. About three minutes on 2 CPU cores; on cuda:0 when a GPU is
# present.
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
TRAIN="$OUT/data/frame/train*.tfrecord" VAL="$OUT/data/frame/validate*.tfrecord" TEST="$OUT/data/frame/test*.tfrecord"
ARCH=(--model=NetVLADModelLF --frame_features --feature_names=rgb,audio --feature_sizes=1024,128
      --iterations=30 --netvlad_relu=False --gating=True --moe_prob_gating=True --moe_l2=1e-6
      --batch_size=64 --base_learning_rate=0.003 --batch_norm_decay=0.9 --num_readers=2)
step() { echo; echo "== $*"; }
gap() { "$BIN/y8m-eval" --eval_data_pattern="$VAL" --run_once --batch_size=250 --num_readers=1 "$@" | tail -1; }

step "1. train NetVLADModelLF (K 16, H 256) and evaluate it"
"$BIN/y8m-train" --train_data_pattern="$TRAIN" --train_dir="$OUT/netvlad" --start_new_model "${ARCH[@]}" \
  --netvlad_cluster_size=16 --netvlad_hidden_size=256 --num_epochs=4 "$@"
gap --train_dir="$OUT/netvlad"
step "2. export inference_model.y8m and write the submission CSV for the test split"
"$BIN/y8m-eval" --train_dir="$OUT/netvlad" --build_only
"$BIN/y8m-infer" --train_dir="$OUT/netvlad" --input_data_pattern="$TEST" --output_file="$OUT/submission.csv" \
  --batch_size=250 --seed=1 | tail -1
head -c 200 "$OUT/submission.csv"; echo

step "3. EMA fine-tuning from the archive (halflife 50 steps for this short run; 2000 at full scale)"
rm -rf "$OUT/netvlad_ema"
"$BIN/y8m-train" --ema_source="$OUT/netvlad/inference_model.y8m" --ema_halflife=50 --train_dir="$OUT/netvlad_ema" \
  --train_data_pattern="$TRAIN" --batch_size=64 --base_learning_rate=0.0012 --num_epochs=1 --num_readers=2 | tail -1
gap --train_dir="$OUT/netvlad_ema" --use_EMA
"$BIN/y8m-eval" --train_dir="$OUT/netvlad_ema" --use_EMA --build_only

step "4. quantize the EMA archive to uint8 codebooks and evaluate / infer from it"
rm -rf "$OUT/quantized"  # y8m-quantize, as quantize.py, refuses to overwrite its --savefile
"$BIN/y8m-quantize" --transform_type quant_uniform --model "$OUT/netvlad_ema/inference_model.y8m" \
  --savefile "$OUT/quantized/inference_model.y8m"
gap --model="$OUT/quantized/inference_model.y8m"
"$BIN/y8m-infer" --model="$OUT/quantized/inference_model.y8m" --input_data_pattern="$TEST" \
  --output_file="$OUT/submission_quantized.csv.gz" --batch_size=250 --seed=1 | tail -1

step "5. a second model (K 32) and a two-model ensemble of the quantized and the new archive"
"$BIN/y8m-train" --train_data_pattern="$TRAIN" --train_dir="$OUT/netvlad_k32" --start_new_model "${ARCH[@]}" \
  --netvlad_cluster_size=32 --netvlad_hidden_size=256 --num_epochs=4 --seed=7 | tail -1
"$BIN/y8m-eval" --train_dir="$OUT/netvlad_k32" --build_only
rm -rf "$OUT/ensemble"
"$BIN/y8m-ensemble" --models "$OUT/quantized/inference_model.y8m" "$OUT/netvlad_k32/inference_model.y8m" \
  --weights 0.5 0.5 --save_folder "$OUT/ensemble"
gap --model="$OUT/ensemble/inference_model.y8m"

step "6. a distillation set from the ensemble, and a student trained on it"
rm -rf "$OUT/distill"
"$BIN/y8m-distill" --model_file="$OUT/ensemble/inference_model.y8m" --input_data_pattern="$TRAIN" \
  --output_dir="$OUT/distill" --batch_size=128 --file_size=512 | tail -1
"$BIN/y8m-train-distill" --train_data_pattern="$OUT/distill/*.tfrecord" --train_dir="$OUT/student" \
  --start_new_model --loss_lambda=0.5 "${ARCH[@]}" --netvlad_cluster_size=16 --netvlad_hidden_size=256 \
  --num_epochs=4 | tail -1
gap --train_dir="$OUT/student"
