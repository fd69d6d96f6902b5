# The original DBoF1 training command (SPEC Appendix A, GatedDbofModelLF K 4096, H 1024) unchanged but
# for the executable, and the FVNet command with only its sizes reduced (K 8, H 64: the full 369M
# parameters would double the suite's memory), on 20 tiny videos: 10 epochs at batch 80 make 3 steps;
# then eval.py's command with the same architecture flags, which exports inference_model.y8m and
# prints a GAP.
source "$(dirname "$0")/lib.bash" "$@"
"$BIN/y8m-synth" --preset=tiny --train_videos=20 --validate_videos=0 --test_videos=0 --output_dir="$WORK/data"
RECORDPAT="$WORK/data/frame"
frame=(--frame_features --feature_names=rgb,audio --feature_sizes=1024,128)
dbof=(--model=GatedDbofModelLF --batch_size=80 --dbof_cluster_size=4096 --dbof_hidden_size=1024 --iterations=300 --moe_l2=1e-6 --dbof_relu=False --num_gpu=1)
fv=(--model=NetFVModelLF --batch_size=80 --fv_cluster_size=8 --fv_hidden_size=64 --moe_l2=1e-6 --iterations=300 --fv_relu=False --gating=True --moe_prob_gating=True --fv_couple_weights=False --num_gpu=1)
expect_output '^training GatedDbofModelLF: 37168940 parameters' \
  "$BIN/y8m-train" --train_data_pattern="$RECORDPAT/*.tfrecord" --train_dir=dbof1 "${frame[@]}" "${dbof[@]}" --base_learning_rate=0.0002 --num_epochs=10
expect_also '^done at step 3'
expect_output '^step 3 \| examples 20 \| Avg_Hit@1.*GAP' \
  "$BIN/y8m-eval" --train_dir=dbof1 --eval_data_pattern="$RECORDPAT/*.tfrecord" "${frame[@]}" "${dbof[@]}" --run_once=True
expect_output '^training NetFVModelLF: [0-9]+ parameters' \
  "$BIN/y8m-train" --train_data_pattern="$RECORDPAT/*.tfrecord" --train_dir=fvnet "${frame[@]}" "${fv[@]}" --base_learning_rate=0.0002 --learning_rate_decay=0.8 --num_epochs=10
expect_also '^done at step 3'
expect_output '^step 3 \| examples 20 \| Avg_Hit@1.*GAP' \
  "$BIN/y8m-eval" --train_dir=fvnet --eval_data_pattern="$RECORDPAT/*.tfrecord" "${frame[@]}" "${fv[@]}" --run_once=True
[[ -s dbof1/inference_model.y8m ]] || fail "no dbof1/inference_model.y8m"
[[ -s fvnet/inference_model.y8m ]] || fail "no fvnet/inference_model.y8m"
echo commands ok
