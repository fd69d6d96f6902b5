# Flags checked before anything is written or run: y8m-eval validates every flag before it exports
# inference_model.y8m; y8m-infer refuses architecture flags that disagree with its archive (as
# y8m-eval does with a checkpoint); y8m-ensemble refuses negative weights; a quantized --ema_source
# is named as such.
source "$(dirname "$0")/lib.bash" "$@"
tiny_data
"$BIN/y8m-train" --train_data_pattern='data/frame/train*.tfrecord' --train_dir=run \
  "${SMALL_MODEL[@]}" --max_steps=2 >/dev/null
val=(--train_dir=run --eval_data_pattern='data/frame/validate*.tfrecord' --run_once --device=cpu)

# y8m-eval: a bad flag fails before the export (no inference_model.y8m appears).
expect_error '^y8m-eval: --top_k must be at least 1, got 0$' "$BIN/y8m-eval" "${val[@]}" --top_k=0
expect_error '^y8m-eval: --batch_size must be positive, got 0$' "$BIN/y8m-eval" "${val[@]}" --batch_size=0
expect_error '^y8m-eval: --num_readers must be positive, got -1$' "$BIN/y8m-eval" "${val[@]}" --num_readers=-1
expect_error "^y8m-eval: --corrupt_records: expected 'fail' or 'skip', got 'maybe'$" \
  "$BIN/y8m-eval" "${val[@]}" --corrupt_records=maybe
expect_error "^y8m-eval: --eval_data_pattern: no file matches 'nowhere/\\*'$" \
  "$BIN/y8m-eval" --train_dir=run --eval_data_pattern='nowhere/*' --run_once --device=cpu
expect_error '^y8m-eval: --poll_secs must be a positive number of seconds, got 0$' \
  "$BIN/y8m-eval" --train_dir=run --eval_data_pattern='data/frame/validate*' --poll_secs=0 --device=cpu
expect_error '^y8m-eval: --n_rounds must be at least 1, got 0$' "$BIN/y8m-eval" --train_dir=run \
  --build_only --n_rounds=0 --device=cpu
[[ ! -e run/inference_model.y8m ]] || fail "y8m-eval exported before refusing a flag"
expect_output 'exported run/model.ckpt-2.y8m' "$BIN/y8m-eval" --train_dir=run --build_only --device=cpu

# y8m-infer: architecture flags must agree with the archive (--model or <train_dir>).
inf=(--input_data_pattern='data/frame/test*.tfrecord' --device=cpu)
expect_error '^y8m-infer: --netvlad_cluster_size=8 does not match the archive run/inference_model.y8m \(4\)' \
  "$BIN/y8m-infer" --model=run/inference_model.y8m "${inf[@]}" --output_file=a.csv --netvlad_cluster_size=8
expect_error '^y8m-infer: --frame_features=false does not match the archive run/inference_model.y8m \(true\)' \
  "$BIN/y8m-infer" --train_dir=run "${inf[@]}" --output_file=a.csv --frame_features=false
[[ ! -e a.csv ]] || fail "y8m-infer wrote a file before refusing a flag"
expect_output 'wrote 50 rows to a.csv' "$BIN/y8m-infer" --model=run/inference_model.y8m "${inf[@]}" \
  --output_file=a.csv --frame_features --feature_names=rgb,audio --feature_sizes=1024,128

# y8m-ensemble: weights must be finite and non-negative (they still sum to 1).
cp -r run run2
expect_error '^y8m-ensemble: --weights: weight -0.5 of run2/inference_model.y8m is negative' \
  "$BIN/y8m-ensemble" --models run/inference_model.y8m run2/inference_model.y8m --weights 1.5 -0.5 \
  --save_folder ens
[[ ! -e ens ]] || fail "y8m-ensemble left its save folder"

# A quantized --ema_source: the message says so and names the float archive it came from.
"$BIN/y8m-quantize" --transform_type quant_uniform --model run/inference_model.y8m \
  --savefile q/inference_model.y8m >/dev/null
expect_error '^y8m-train: --ema_source: q/inference_model.y8m is quantized \(quant_uniform\).*run/inference_model.y8m' \
  "$BIN/y8m-train" --ema_source=q/inference_model.y8m --train_dir=ema \
  --train_data_pattern='data/frame/train*.tfrecord' --max_steps=1 --device=cpu
echo flag checks ok
