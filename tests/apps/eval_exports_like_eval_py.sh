# eval.py's evaluation also saves inference_model (SPEC §9.1 step 4) with its own sampling flags:
# --sample_all on a checkpoint trained without it is applied, baked into the archive, and the archive
# evaluates to the same numbers. The checkpoint is app.archive_pipeline's run1, trained again here.
source "$(dirname "$0")/lib.bash" "$@"
"$BIN/y8m-synth" --preset=tiny --output_dir=data
"$BIN/y8m-train" --train_data_pattern='data/frame/train*.tfrecord' --train_dir=run1 --model=NetVLADModelLF \
  --frame_features --feature_names=rgb,audio --feature_sizes=1024,128 --num_classes=50 --netvlad_cluster_size=4 \
  --netvlad_hidden_size=16 --iterations=5 --batch_size=32 --max_steps=6 --num_readers=1 --device=cpu
cp -r run1 evalx
metrics() { tail -1 | sed 's/ | [0-9]* examples.s//'; }

expect_output 'exported evalx/model.ckpt-6.y8m \(weights, sample_all, n_rounds 1\)' \
  "$BIN/y8m-eval" --train_dir=evalx --eval_data_pattern='data/frame/validate*.tfrecord' --run_once --sample_all --iterations=300 --num_readers=1 --device=cpu
metrics <<<"$OUTPUT" >evalx_ckpt.txt
grep -q '^step 6 | examples 100 | Avg_Hit@1' evalx_ckpt.txt || fail "no metrics from the checkpoint's evaluation"
expect_output '"sample_all": "true", "source_checkpoint"' "$BIN/y8m-inspect" --json evalx/inference_model.y8m
"$BIN/y8m-eval" --model=evalx/inference_model.y8m --eval_data_pattern='data/frame/validate*.tfrecord' --num_readers=1 --device=cpu | metrics >evalx_archive.txt
cat evalx_ckpt.txt evalx_archive.txt
cmp evalx_ckpt.txt evalx_archive.txt || fail "the archive evaluates differently from its checkpoint"
echo eval export ok
