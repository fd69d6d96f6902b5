# Flags of other programs (issue 10): the original tolerated unknown flags and its README passes
# training flags to eval.py and --loss_lambda to train.py. A flag another y8m app or original
# script knows is ignored with one note; a name no program knows stays an error with a suggestion;
# the table of known flags (apps/common/known_flags.cpp) holds every flag each app defines.
source "$(dirname "$0")/lib.bash" "$@"

# The table: every flag of every app is in its row, with its type.
for app in y8m-train y8m-train-distill y8m-eval y8m-infer y8m-distill y8m-quantize y8m-ensemble \
  y8m-average y8m-synth y8m-inspect y8m-demo; do
  expect_output "^flag table: $app ok \([0-9]+ flags\)$" env Y8M_CHECK_FLAG_TABLE=1 "$BIN/$app"
done

tiny_data
train=("$BIN/y8m-train" --train_data_pattern='data/frame/train*.tfrecord' "${SMALL_MODEL[@]}")
expect_output 'done at step 2' "${train[@]}" --train_dir=run1 --max_steps=2

# README: eval.py with the training flags (both syntaxes, one given twice: one note per flag).
out=$("$BIN/y8m-eval" --train_dir=run1 --build_only --device=cpu --base_learning_rate=0.0002 \
  --learning_rate_decay 0.8 --num_epochs=10 --num_gpu=1 --lstm_cells=1024 --num_readers=1 \
  --num_epochs 10 --nostart_new_model 2>&1) || fail "y8m-eval with training flags: $out"
printf '%s\n' "$out"
for f in base_learning_rate learning_rate_decay num_epochs start_new_model; do
  [[ $(grep -c "^y8m-eval: note: ignoring --$f (a training flag)$" <<<"$out") -eq 1 ]] ||
    fail "expected one note for --$f"
done
[[ $(grep -c 'note: ignoring' <<<"$out") -eq 4 ]] || fail "--num_gpu, --lstm_cells, --num_readers are y8m-eval's"
grep -q 'exported run1/model.ckpt-2.y8m' <<<"$out" || fail "y8m-eval did not export"

# inference_gpu.py with --sample_all (README): the archive's sampling was baked in; a note.
expect_output '^y8m-infer: note: ignoring --sample_all=true: run1/inference_model.y8m was exported with sample_all=false' \
  "$BIN/y8m-infer" --train_dir=run1 --input_data_pattern='data/frame/test*.tfrecord' \
  --output_file=sub.csv --batch_size=200 --sample_all --device=cpu
[[ $(wc -l < sub.csv) -eq 51 ]] || fail "sub.csv: $(wc -l < sub.csv) rows"

# A name no program knows: an error with the nearest known name (another program's too).
expect_error '^y8m-eval: unknown flag --base_learnin_rate \(did you mean --base_learning_rate\?\)$' \
  "$BIN/y8m-eval" --train_dir=run1 --build_only --base_learnin_rate=0.1
expect_error '^y8m-eval: unknown flag --no_such_flag$' "$BIN/y8m-eval" --no_such_flag=1
# argparse-style apps: a foreign flag's values are skipped up to the next option.
expect_output '^y8m-quantize: note: ignoring --weights \(an ensemble flag\)$' \
  "$BIN/y8m-quantize" --transform_type quant_uniform --weights 0.5 0.5 --frame_features \
  --model run1/inference_model.y8m --savefile q/inference_model.y8m --batch_size 160
expect_error 'unknown option --savfile \(did you mean --savefile\?\)' "$BIN/y8m-quantize" --transform_type float16 \
  --model run1/inference_model.y8m --savfile x

# --loss_lambda given to y8m-train: ordinary records train as usual with a note; distillation
# records train with distillation, as before.
out=$("${train[@]}" --train_dir=plain --max_steps=2 --loss_lambda 0.5 2>&1) || fail "$out"
printf '%s\n' "$out"
grep -qx 'y8m-train: note: --loss_lambda ignored: the records have no teacher predictions; y8m-train-distill trains on distillation records' <<<"$out" ||
  fail "no note for --loss_lambda on ordinary records"
grep -q 'done at step 2' <<<"$out" && ! grep -q 'distillation (' <<<"$out" ||
  fail "ordinary records trained as distillation"
expect_output 'wrote [0-9]+ videos' "$BIN/y8m-distill" --model_file=run1/inference_model.y8m \
  --input_data_pattern='data/frame/train*.tfrecord' --output_dir=distill --device=cpu
expect_output 'distillation \(loss_lambda 0.3\)' "$BIN/y8m-train" \
  --train_data_pattern='distill/*.tfrecord' "${SMALL_MODEL[@]}" --train_dir=student --max_steps=2 \
  --loss_lambda=0.3
echo "foreign flags ok"
