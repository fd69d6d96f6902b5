# y8m-inspect --json on a checkpoint: its kind, verified CRCs, the size against the competition's 1 GB
# limit and the model's flags. On a small NetVLAD checkpoint (K 4, under the limit);
# app.original_netvlad_command checks NetVLAD1's checkpoint (over it).
source "$(dirname "$0")/lib.bash" "$@"
"$BIN/y8m-synth" --preset=tiny --train_videos=20 --validate_videos=0 --test_videos=0 --output_dir="$WORK/data"
"$BIN/y8m-train" --train_data_pattern="$WORK/data/frame/*.tfrecord" --train_dir=run "${SMALL_MODEL[@]}" --max_steps=2
expect_output '"kind": "checkpoint".*"under_1gb_limit": true, "crc": "ok".*"netvlad_cluster_size": "4"' \
  "$BIN/y8m-inspect" --json "$WORK/run/model.ckpt-2.y8m"
expect_also '"step": "2"'
