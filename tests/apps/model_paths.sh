# Model paths as the original wrote them (issue 10): TensorFlow's prefix ".../inference_model" (and
# its ".meta") names inference_model.y8m in every app that reads a model (--model, --models,
# --model_file, --ema_source); --savefile .../inference_model writes inference_model.y8m, which
# y8m-infer --train_dir finds; y8m-quantize refuses an existing savefile as quantize.py did.
source "$(dirname "$0")/lib.bash" "$@"
tiny_data
train=("$BIN/y8m-train" --train_data_pattern='data/frame/train*.tfrecord' "${SMALL_MODEL[@]}")
val=(--eval_data_pattern='data/frame/validate*.tfrecord' --num_readers=1 --device=cpu)
test_data=(--input_data_pattern='data/frame/test*.tfrecord' --seed=3 --device=cpu)
expect_output 'done at step 3' "${train[@]}" --train_dir=run1 --max_steps=3
"$BIN/y8m-eval" --train_dir=run1 --build_only --device=cpu

# eval_custom.py: --model_file, and --model with the prefix, evaluate the archive like its path.
gap() { "$@" | tail -1 | sed 's/ | [0-9]* examples.s//'; }
gap "$BIN/y8m-eval" --model=run1/inference_model.y8m "${val[@]}" > path.txt
gap "$BIN/y8m-eval" --model=run1/inference_model "${val[@]}" > prefix.txt
gap "$BIN/y8m-eval" --model_file=run1/inference_model "${val[@]}" > model_file.txt
grep -q 'GAP' path.txt || fail "no GAP line: $(cat path.txt)"
cmp path.txt prefix.txt && cmp path.txt model_file.txt

# quantize.py's command: the prefix in, the prefix out; an existing savefile is refused.
expect_output 'after: .* quant/inference_model.y8m' "$BIN/y8m-quantize" --transform_type \
  quant_uniform --model run1/inference_model --savefile quant/inference_model
expect_error '^y8m-quantize: --savefile: quant/inference_model.y8m already exists' \
  "$BIN/y8m-quantize" --transform_type float16 --model run1/inference_model \
  --savefile quant/inference_model

# graph_ensemble.py with prefixes; y8m-infer --train_dir finds the result, and --model takes
# the prefix and TensorFlow's .meta name.
expect_output 'merged 2 models into ens/inference_model.y8m' "$BIN/y8m-ensemble" \
  --models run1/inference_model quant/inference_model --weights 0.5 0.5 --save_folder ens
"$BIN/y8m-infer" --train_dir=ens "${test_data[@]}" --output_file=a.csv
"$BIN/y8m-infer" --model=ens/inference_model "${test_data[@]}" --output_file=b.csv
"$BIN/y8m-infer" --model=ens/inference_model.meta "${test_data[@]}" --output_file=c.csv
cmp a.csv b.csv && cmp a.csv c.csv
"$BIN/y8m-infer" --train_dir=quant "${test_data[@]}" --output_file=q.csv
[[ $(wc -l < q.csv) -eq 51 ]] || fail "quant: $(wc -l < q.csv) rows"

# prepare_distill_dataset.py's --model_file and the EMA source as prefixes.
expect_output 'wrote [0-9]+ videos' "$BIN/y8m-distill" --model_file=ens/inference_model \
  --input_data_pattern='data/frame/train*.tfrecord' --output_dir=distill --device=cpu
expect_output 'done at step 1' "$BIN/y8m-train" --ema_source=run1/inference_model \
  --ema_halflife=20 --train_dir=ema --train_data_pattern='data/frame/train*.tfrecord' \
  --batch_size=32 --max_steps=1 --num_readers=1 --device=cpu
expect_output 'averaged 2 archives' "$BIN/y8m-average" --models run1/inference_model \
  run1/inference_model --save_folder avg

# A prefix whose archive does not exist is named as given.
expect_error 'run1/no_model' "$BIN/y8m-eval" --model=run1/no_model "${val[@]}"
echo "model paths ok"
