# The original README's NetVLAD training command (NetVLAD1: K 256, H 1024, 321.5M parameters), with only
# the executable name changed, on 20 tiny synthetic videos: 10 epochs at batch 160 make 2 steps. Then
# eval.py's command with the same architecture flags (checked against the checkpoint). On the same
# checkpoint (NetVLAD1 is trained once, ~20 s): eval refuses an architecture flag that contradicts it,
# and y8m-inspect reports its kind, verified CRCs and its size against the competition's 1 GB limit
# (parameters + Adam slots are ~3.6 GB). app.eval_checks_architecture and app.inspect_checkpoint
# check the same on a small model.
source "$(dirname "$0")/lib.bash" "$@"
"$BIN/y8m-synth" --preset=tiny --train_videos=20 --validate_videos=0 --test_videos=0 --output_dir="$WORK/data"
RECORDPAT="$WORK/data/frame"
expect_output '^training NetVLADModelLF: 321528380 parameters' \
  "$BIN/y8m-train" --train_data_pattern="$RECORDPAT/*.tfrecord" --model=NetVLADModelLF --train_dir=netvlad1 --frame_features --feature_names="rgb,audio" --feature_sizes="1024,128" --batch_size=160 --base_learning_rate=0.0002 --netvlad_cluster_size=256 --netvlad_hidden_size=1024 --moe_l2=1e-6 --iterations=300 --learning_rate_decay=0.8 --netvlad_relu=False --gating=True --moe_prob_gating=True --lightvlad=False --num_gpu=1 --num_epochs=10
expect_also '^done at step 2'
expect_output '^step 2 \| examples 20 \| Avg_Hit@1' \
  "$BIN/y8m-eval" --train_dir=netvlad1 --eval_data_pattern="$RECORDPAT/*.tfrecord" --frame_features --feature_names="rgb,audio" --feature_sizes="1024,128" --batch_size=160 --model=NetVLADModelLF --netvlad_cluster_size=256 --netvlad_hidden_size=1024 --moe_l2=1e-6 --iterations=300 --netvlad_relu=False --gating=True --moe_prob_gating=True --lightvlad=False --run_once=True

# An architecture flag that contradicts the checkpoint is refused by eval.
expect_error '--netvlad_cluster_size=64 does not match the checkpoint' \
  "$BIN/y8m-eval" --train_dir="$WORK/netvlad1" --eval_data_pattern="$WORK/data/frame/*.tfrecord" --netvlad_cluster_size=64 --run_once
[[ $STATUS -eq 1 ]] || fail "exit $STATUS, expected 1"

# y8m-inspect on the checkpoint.
expect_output '"kind": "checkpoint".*"under_1gb_limit": false, "crc": "ok".*"netvlad_cluster_size": "256"' \
  "$BIN/y8m-inspect" --json "$WORK/netvlad1/model.ckpt-2.y8m"
