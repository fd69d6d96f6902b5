# inference.py's Kaggle bundle (issue 10): y8m-infer --output_model_tgz writes a .tar.gz of
# inference_model.y8m (and model_flags.json when it sits beside the model); --input_model_tgz
# extracts one into --untar_model_dir and predicts with it, byte-identically.
source "$(dirname "$0")/lib.bash" "$@"
tiny_data
expect_output 'done at step 3' "$BIN/y8m-train" --train_data_pattern='data/frame/train*.tfrecord' \
  "${SMALL_MODEL[@]}" --train_dir=run1 --max_steps=3
"$BIN/y8m-eval" --train_dir=run1 --build_only --device=cpu
echo '{"model": "NetVLADModelLF"}' > run1/model_flags.json  # as train.py wrote it
test_data=(--input_data_pattern='data/frame/test*.tfrecord' --seed=3 --device=cpu)

expect_output '^y8m-infer: wrote bundle/model.tgz \(inference_model.y8m, model_flags.json\)$' \
  "$BIN/y8m-infer" --train_dir=run1 "${test_data[@]}" --output_file=a.csv \
  --output_model_tgz=bundle/model.tgz
[[ $(tar -tzf bundle/model.tgz | sort | tr '\n' ' ') == "inference_model.y8m model_flags.json " ]] ||
  fail "bundle holds: $(tar -tzf bundle/model.tgz)"
[[ -z $(ls bundle | grep -v '^model.tgz$') ]] || fail "temporaries left: $(ls bundle)"

expect_output '^y8m-infer: extracted bundle/model.tgz into untar$' "$BIN/y8m-infer" \
  --input_model_tgz=bundle/model.tgz --untar_model_dir=untar "${test_data[@]}" --output_file=b.csv
cmp a.csv b.csv
cmp run1/inference_model.y8m untar/inference_model.y8m
cmp run1/model_flags.json untar/model_flags.json

# Errors, never silently ignored.
expect_error 'without --train_dir or --model' "$BIN/y8m-infer" --input_model_tgz=bundle/model.tgz \
  --untar_model_dir=untar2 --train_dir=run1 "${test_data[@]}" --output_file=c.csv
tar -czf flags_only.tgz -C run1 model_flags.json
expect_error 'flags_only.tgz has no inference_model.y8m at its top level \(it holds: model_flags.json\)' \
  "$BIN/y8m-infer" --input_model_tgz=flags_only.tgz --untar_model_dir=untar3 "${test_data[@]}" \
  --output_file=c.csv
expect_error 'input_model_tgz: cannot read missing.tgz' "$BIN/y8m-infer" \
  --input_model_tgz=missing.tgz --untar_model_dir=untar4 "${test_data[@]}" --output_file=c.csv
tar -czf dotdot.tgz --transform 's,^,../,' -C run1 model_flags.json
expect_error "refusing the entry '../model_flags.json'" "$BIN/y8m-infer" \
  --input_model_tgz=dotdot.tgz --untar_model_dir=untar5 "${test_data[@]}" --output_file=c.csv
[[ ! -e c.csv ]] || fail "a refused run wrote c.csv"
echo "model tgz ok"
