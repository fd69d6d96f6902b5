# The archive pipeline on tiny data: train, export (eval --build_only), evaluate the archive like a
# checkpoint (same numbers), infer twice with one seed (identical bytes, .csv and .csv.gz), merge two
# archives and evaluate the ensemble, quantize, a distillation set and distilled training, EMA
# fine-tuning from an archive, average two checkpoints.
source "$(dirname "$0")/lib.bash" "$@"
"$BIN/y8m-synth" --preset=tiny --output_dir=data
common=(--model=NetVLADModelLF --frame_features --feature_names=rgb,audio --feature_sizes=1024,128 --num_classes=50
  --netvlad_cluster_size=4 --netvlad_hidden_size=16 --iterations=5 --batch_size=32 --max_steps=6 --num_readers=1
  --device=cpu)
# Evaluation's last line without its speed, to compare two evaluations.
metrics() { tail -1 | sed 's/ | [0-9]* examples.s//'; }

expect_output '^done at step 6' "$BIN/y8m-train" --train_data_pattern='data/frame/train*.tfrecord' --train_dir=run1 "${common[@]}"
expect_output '^done at step 6' "$BIN/y8m-train" --train_data_pattern='data/frame/train*.tfrecord' --train_dir=run2 --seed=1 "${common[@]}"
expect_output 'exported run1/model.ckpt-6.y8m' "$BIN/y8m-eval" --train_dir=run1 --build_only --device=cpu
"$BIN/y8m-eval" --train_dir=run1 --eval_data_pattern='data/frame/validate*.tfrecord' --run_once --num_readers=1 --device=cpu | metrics >ckpt.txt
"$BIN/y8m-eval" --model=run1/inference_model.y8m --eval_data_pattern='data/frame/validate*.tfrecord' --num_readers=1 --device=cpu | metrics >archive.txt
cat ckpt.txt
grep -q '^step 6 | examples 100 | Avg_Hit@1' ckpt.txt || fail "no metrics from the checkpoint's evaluation"
cmp ckpt.txt archive.txt || fail "the archive evaluates differently from its checkpoint"

"$BIN/y8m-infer" --train_dir=run1 --input_data_pattern='data/frame/test*.tfrecord' --output_file=a.csv --seed=3 --device=cpu
"$BIN/y8m-infer" --model=run1/inference_model.y8m --input_data_pattern='data/frame/test*.tfrecord' --output_file=b.csv.gz --seed=3 --device=cpu
gzip -dc b.csv.gz | cmp - a.csv || fail "two inferences with one seed differ"
[[ $(wc -l <a.csv) -eq 51 ]] || fail "a.csv: $(wc -l <a.csv) lines, expected 51 (header + 50 videos)"

expect_output 'exported run2/model.ckpt-6.y8m' "$BIN/y8m-eval" --train_dir=run2 --build_only --device=cpu
expect_output 'merged 2 models into ens/inference_model.y8m' \
  "$BIN/y8m-ensemble" --models run1/inference_model.y8m run2/inference_model.y8m --weights 0.5 0.5 --save_folder ens
expect_output '\| examples 100 \| Avg_Hit@1' \
  "$BIN/y8m-eval" --model=ens/inference_model.y8m --eval_data_pattern='data/frame/validate*.tfrecord' --device=cpu
expect_output 'wrote 50 rows to ens.csv' \
  "$BIN/y8m-infer" --model=ens/inference_model.y8m --input_data_pattern='data/frame/test*.tfrecord' --output_file=ens.csv --device=cpu
expect_output '^ratio: ' "$BIN/y8m-quantize" --transform_type quant_uniform --model run1/inference_model.y8m --savefile quant/inference_model.y8m
expect_output '\| examples 100 \| Avg_Hit@1' \
  "$BIN/y8m-eval" --model=quant/inference_model.y8m --eval_data_pattern='data/frame/validate*.tfrecord' --device=cpu
expect_output 'wrote 50 rows to q.csv' \
  "$BIN/y8m-infer" --model=quant/inference_model.y8m --input_data_pattern='data/frame/test*.tfrecord' --output_file=q.csv --device=cpu
expect_output 'wrote 300 videos in 3 files to distill' \
  "$BIN/y8m-distill" --model_file=ens/inference_model.y8m --input_data_pattern='data/frame/train*.tfrecord' --output_dir=distill --batch_size=64 --file_size=100 --device=cpu
expect_output '^done at step 6' \
  "$BIN/y8m-train-distill" --train_data_pattern='distill/*.tfrecord' --train_dir=student "${common[@]}"
expect_also 'distillation'
expect_output '^done at step 3' \
  "$BIN/y8m-train" --ema_source=run1/inference_model.y8m --ema_halflife=20 --train_dir=ema --train_data_pattern='data/frame/train*.tfrecord' --batch_size=32 --max_steps=3 --num_readers=1 --device=cpu
expect_output 'EMA weights' "$BIN/y8m-eval" --train_dir=ema --use_EMA --build_only --device=cpu
expect_output 'averaged 2 checkpoints' "$BIN/y8m-average" --models run1/model.ckpt-6.y8m run2/model.ckpt-6.y8m --save_folder avg
expect_output '^avg/model.ckpt-6.y8m: y8m checkpoint .*CRCs ok' "$BIN/y8m-inspect" avg/model.ckpt-6.y8m
echo archive pipeline ok
