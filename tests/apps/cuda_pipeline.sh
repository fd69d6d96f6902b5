# The whole pipeline on CUDA against the same runs on the CPU: train 4 steps, resume to 12, evaluate
# (which exports the archive), quantize and evaluate the quantized archive, infer from the checkpoint
# and from the quantized archive, EMA fine-tuning from the archive and its evaluation, distillation
# records from the archive and a student trained on them, each with --device=cuda and --device=cpu.
#
# Tolerances (fp32 everywhere; initialization and frame sampling give the same numbers on both
# devices, so only rounding and its growth through Adam differ):
#   loss of the first step (same weights, same batch)               relative 1e-4
#   loss after 10 steps, evaluation loss, student's first loss     relative 3e-2
#   GAP of every evaluation                                        absolute 0.02
#   inference CSVs: same videos in the same order; top-1 label equal for >= 90 % of them; every
#   (video, label) pair present in both files has scores within 0.02
# Without a usable GPU it prints "skipped: no GPU (<reason>)" and exits 77 (ctest: skipped);
# Y8M_REQUIRE_CUDA=1 makes that a failure. Y8M_E2E_DEVICE=cpu compares the CPU with itself, which
# checks this script on a machine without a GPU.
source "$(dirname "$0")/lib.bash" "$@"
DEV=${Y8M_E2E_DEVICE:-cuda}

if [[ $DEV != cpu ]]; then
  probe_rc=0
  probe=$("$BIN/y8m-demo" --device="$DEV" --steps=1 2>&1) || probe_rc=$?
  if [[ $probe_rc -ne 0 ]]; then
    reason=$(grep -Eo '(no CUDA device|y8m was built without CUDA).*' <<<"$probe" | head -1 || true)
    [[ -n $reason ]] || fail "y8m-demo --device=$DEV failed: $probe"
    [[ ${Y8M_REQUIRE_CUDA:-0} == 0 ]] || fail "Y8M_REQUIRE_CUDA=1: $reason"
    echo "skipped: no GPU ($reason)"
    exit 77
  fi
fi

tiny_data
MODEL=(--model=NetVLADModelLF --frame_features --feature_names=rgb,audio --feature_sizes=1024,128
  --num_classes=50 --netvlad_cluster_size=4 --netvlad_hidden_size=16 --iterations=5 --batch_size=32
  --num_readers=1 --seed=1 --base_learning_rate=0.001)
TRAIN=(--train_data_pattern='data/frame/train*.tfrecord')
VAL=(--eval_data_pattern='data/frame/validate*.tfrecord' --num_readers=1)
TEST=(--input_data_pattern='data/frame/test*.tfrecord' --seed=3)

# run_pipeline <device> <folder>: every step, logs in the folder.
run_pipeline() {
  local dev=$1 d=$2
  mkdir -p "$d"
  "$BIN/y8m-train" "${TRAIN[@]}" --train_dir="$d/run" "${MODEL[@]}" --max_steps=4 --device="$dev" \
    >"$d/train1.log" 2>&1 || fail "train on $dev: $(cat "$d/train1.log")"
  grep -q "parameters on $dev" "$d/train1.log" || fail "train did not run on $dev"
  "$BIN/y8m-train" "${TRAIN[@]}" --train_dir="$d/run" "${MODEL[@]}" --max_steps=12 --device="$dev" \
    >"$d/train2.log" 2>&1 || fail "resume on $dev: $(cat "$d/train2.log")"
  grep -q "resuming from $d/run/model.ckpt-4.y8m" "$d/train2.log" || fail "no resume on $dev"
  "$BIN/y8m-eval" --train_dir="$d/run" "${VAL[@]}" --run_once --device="$dev" >"$d/eval.log" 2>&1 ||
    fail "eval on $dev: $(cat "$d/eval.log")"
  [[ -f $d/run/inference_model.y8m ]] || fail "eval on $dev exported no archive"
  "$BIN/y8m-quantize" --transform_type quant_uniform --model "$d/run/inference_model.y8m" \
    --savefile "$d/quant/inference_model.y8m" >"$d/quantize.log" 2>&1 || fail "quantize: $dev"
  "$BIN/y8m-eval" --model="$d/quant/inference_model.y8m" "${VAL[@]}" --device="$dev" \
    >"$d/eval_quant.log" 2>&1 || fail "eval of the quantized archive on $dev"
  "$BIN/y8m-infer" --train_dir="$d/run" "${TEST[@]}" --output_file="$d/run.csv" --device="$dev" \
    >"$d/infer.log" 2>&1 || fail "infer on $dev: $(cat "$d/infer.log")"
  "$BIN/y8m-infer" --model="$d/quant/inference_model.y8m" "${TEST[@]}" --output_file="$d/quant.csv" \
    --device="$dev" >"$d/infer_quant.log" 2>&1 || fail "infer (quantized) on $dev"
  "$BIN/y8m-train" --ema_source="$d/run/inference_model.y8m" --ema_halflife=20 --train_dir="$d/ema" \
    "${TRAIN[@]}" --batch_size=32 --max_steps=3 --num_readers=1 --seed=1 --device="$dev" \
    >"$d/ema.log" 2>&1 || fail "EMA training on $dev: $(cat "$d/ema.log")"
  "$BIN/y8m-eval" --train_dir="$d/ema" --use_EMA "${VAL[@]}" --run_once --device="$dev" \
    >"$d/eval_ema.log" 2>&1 || fail "EMA eval on $dev"
  "$BIN/y8m-distill" --model_file="$d/run/inference_model.y8m" \
    --input_data_pattern='data/frame/train*.tfrecord' --output_dir="$d/distill" --batch_size=64 \
    --file_size=100 --device="$dev" >"$d/distill.log" 2>&1 || fail "distill on $dev"
  "$BIN/y8m-train-distill" --train_data_pattern="$d/distill/*.tfrecord" --train_dir="$d/student" \
    "${MODEL[@]}" --max_steps=3 --device="$dev" >"$d/student.log" 2>&1 ||
    fail "student training on $dev: $(cat "$d/student.log")"
}

# field <log> <step line regex> <name>: the number after "<name> " on the last matching line.
field() {
  local v
  v=$(grep -E "$2" "$1" | tail -1 | grep -Eo "$3 [-0-9.e+]+" | awk '{print $2}')
  [[ -n $v ]] || fail "no '$3' on a line /$2/ in $1"
  echo "$v"
}

# close <what> <a> <b> <relative> <absolute>: |a - b| <= absolute + relative * |b|.
close() {
  awk -v a="$2" -v b="$3" -v r="$4" -v t="$5" 'BEGIN {
    d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(d <= t + r * m) }' ||
    fail "$1: $DEV $2 vs cpu $3 (tolerance $5 + $4 * |cpu|)"
  echo "$1: $DEV $2, cpu $3"
}

# same_predictions <csv a> <csv b>: the CSV rule of the header comment.
same_predictions() {
  awk -F, -v tol=0.02 '
    FNR == 1 { next }
    NR == FNR { ids[FNR] = $1; top[FNR] = $2; row[FNR] = $2; n = FNR; next }
    {
      if (ids[FNR] != $1) { print "video order differs at row " FNR; bad = 1; exit }
      split(row[FNR], x, " "); split($2, y, " "); delete s
      for (i = 1; i < length(x); i += 2) s[x[i]] = x[i + 1]
      for (i = 1; i < length(y); i += 2)
        if (y[i] in s) { d = s[y[i]] - y[i + 1]; if (d < 0) d = -d; if (d > tol) {
          print "video " $1 " label " y[i] ": " s[y[i]] " vs " y[i + 1]; bad = 1 } }
      if (x[1] == y[1]) agree++
      rows++
    }
    END {
      if (bad) exit 1
      if (rows != n - 1 || rows == 0) { print "row counts differ: " n - 1 " vs " rows; exit 1 }
      printf "top-1 agreement %d/%d\n", agree, rows
      exit !(agree >= 0.9 * rows) }' "$1" "$2" || fail "predictions differ: $1 vs $2"
}

run_pipeline cpu cpu
run_pipeline "$DEV" dev

STEP='^step [0-9]+ \|'
close "first step loss" "$(field dev/train1.log '^step 1 \|' loss)" \
  "$(field cpu/train1.log '^step 1 \|' loss)" 1e-4 0
close "step 10 loss" "$(field dev/train2.log '^step 10 \|' loss)" \
  "$(field cpu/train2.log '^step 10 \|' loss)" 3e-2 0
for log in eval eval_quant eval_ema; do
  close "$log GAP" "$(field dev/$log.log "$STEP" GAP)" "$(field cpu/$log.log "$STEP" GAP)" 0 0.02
done
close "eval loss" "$(field dev/eval.log "$STEP" Avg_Loss)" "$(field cpu/eval.log "$STEP" Avg_Loss)" \
  3e-2 0
same_predictions dev/run.csv cpu/run.csv
same_predictions dev/quant.csv cpu/quant.csv
[[ $(ls dev/distill | wc -l) -eq $(ls cpu/distill | wc -l) ]] || fail "distillation file counts"
close "student first loss" "$(field dev/student.log '^step 1 \|' loss)" \
  "$(field cpu/student.log '^step 1 \|' loss)" 3e-2 0
echo "cuda pipeline ok ($DEV vs cpu)"
