# The script harness itself: tiny data, a short training run, and expect_error catching a bad flag.
source "$(dirname "$0")/lib.bash" "$@"
tiny_data
ls data/frame/train0000.tfrecord data/video/train0000.tfrecord >/dev/null
expect_output 'done at step 2' "$BIN/y8m-train" --train_data_pattern='data/frame/train*.tfrecord' \
  --train_dir=run "${SMALL_MODEL[@]}" --max_steps=2
expect_error 'unknown flag --max_stepz' "$BIN/y8m-train" --max_stepz=3
echo harness ok
