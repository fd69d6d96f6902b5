# An architecture flag that contradicts the checkpoint is refused by eval (exit 1, naming the flag, the
# checkpoint and its value); one that agrees is accepted. On a small NetVLAD checkpoint (K 4);
# app.original_netvlad_command checks the same refusal on NetVLAD1's checkpoint.
source "$(dirname "$0")/lib.bash" "$@"
"$BIN/y8m-synth" --preset=tiny --train_videos=20 --validate_videos=0 --test_videos=0 --output_dir="$WORK/data"
expect_output '^done at step 2' "$BIN/y8m-train" --train_data_pattern="$WORK/data/frame/*.tfrecord" \
  --train_dir=run "${SMALL_MODEL[@]}" --max_steps=2
expect_error '--netvlad_cluster_size=64 does not match the checkpoint .*model.ckpt-2.y8m \(4\)' \
  "$BIN/y8m-eval" --train_dir="$WORK/run" --eval_data_pattern="$WORK/data/frame/*.tfrecord" --netvlad_cluster_size=64 --run_once
[[ $STATUS -eq 1 ]] || fail "exit $STATUS, expected 1"
expect_output '^step 2 \| examples 20 \| Avg_Hit@1' \
  "$BIN/y8m-eval" --train_dir="$WORK/run" --eval_data_pattern="$WORK/data/frame/*.tfrecord" --netvlad_cluster_size=4 --run_once \
  --num_readers=1 --device=cpu
