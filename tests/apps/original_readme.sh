# The original README (miha-skalic/youtube8mchallenge), its ten steps in order, with only the script
# names replaced by y8m's executables: train, eval --build_only (with the training flags), EMA
# training (with the README's LSTM-style flags and --loss_lambda), EMA eval (without --use_EMA),
# quantize, cp model_flags.json, a three-model graph ensemble (0.3333 0.3333 0.3334), inference with
# --sample_all, a distillation set, and distilled training "with the same flags as train.py".
# Changes to the commands, all of size or of a typo: --netvlad_cluster_size 256 -> 4 and
# --netvlad_hidden_size 1024 -> 16 (NetVLAD1's 321.5M parameters would need ~7 GB here);
# $RECORDPATtest (an unset variable in the README) -> $RECORDPATTEST; the ensemble lists three of the
# README's four models (it gives three weights); prepare_distill_dataset's --model_file names the
# ensemble folder written above (the README's "your_ensemble_model"). Paths, quoting (including
# "rgb, audio"), "--flag value" forms and the doubled slashes are the README's.
source "$(dirname "$0")/lib.bash" "$@"
"$BIN/y8m-synth" --preset=tiny --seed=11 --train_videos=40 --validate_videos=0 --test_videos=20 \
  --output_dir=data >/dev/null
mkdir -p data/frame/train data/frame/test repo
mv data/frame/train0*.tfrecord data/frame/train/
mv data/frame/test0*.tfrecord data/frame/test/
cd repo
PATH="$BIN:$PATH"
train_py=y8m-train eval_py=y8m-eval quantize_py=y8m-quantize graph_ensemble_py=y8m-ensemble
inference_gpu_py=y8m-infer prepare_distill_dataset_py=y8m-distill train_distill_py=y8m-train-distill
log() { echo "== $*"; }

SAVEPATH="../trained_models"
RECORDPAT="../data/frame/train"

log 1. train
$train_py \
  --train_data_pattern="$RECORDPAT/*.tfrecord" \
  --model=NetVLADModelLF \
  --train_dir="$SAVEPATH//NetVLAD" \
  --frame_features=True --feature_names="rgb,audio" \
  --feature_sizes="1024,128" \
  --batch_size=160 --base_learning_rate=0.0002 \
  --netvlad_cluster_size=4 \
  --netvlad_hidden_size=16 \
  --moe_l2=1e-6 --iterations=300 \
  --learning_rate_decay=0.8 \
  --netvlad_relu=False \
  --gating=True \
  --moe_prob_gating=True \
  --lightvlad=False \
  --num_gpu 1 \
  --num_epochs=10 > 1.log 2>&1 || { cat 1.log; fail "step 1"; }
cat 1.log
grep -q 'done at step 3' 1.log || fail "step 1: 40 videos x 10 epochs / 160 should make 3 steps"
test -s "$SAVEPATH/NetVLAD/model_flags.json" || fail "step 1: no model_flags.json"

log 2. eval
RECORDPATVAL="../data/frame/train"

$eval_py \
  --eval_data_pattern="$RECORDPATVAL/*.tfrecord" \
  --model=NetVLADModelLF \
  --train_dir="$SAVEPATH//NetVLAD" \
  --frame_features=True --feature_names="rgb,audio" \
  --feature_sizes="1024,128" \
  --batch_size=160 --base_learning_rate=0.0002 \
  --netvlad_cluster_size=4 \
  --netvlad_hidden_size=16 \
  --moe_l2=1e-6 --iterations=300 \
  --learning_rate_decay=0.8 \
  --netvlad_relu=False \
  --gating=True \
  --moe_prob_gating=True \
  --lightvlad=False \
  --num_gpu 1 \
  --num_epochs=10 \
  --run_once \
  --build_only \
  --sample_all > 2.log 2>&1 || { cat 2.log; fail "step 2"; }
cat 2.log
grep -q 'ignoring --base_learning_rate' 2.log || fail "step 2: no note for a training flag"
test -s "$SAVEPATH/NetVLAD/inference_model.y8m" || fail "step 2: no inference_model"

log 3. EMA train
$train_py \
  --train_data_pattern="$RECORDPAT/*.tfrecord" \
  --model=NetVLADModelLF \
  --train_dir="$SAVEPATH//NetVLAD_ema" \
  --video_level_classifier_model="LogisticModel" \
  --frame_features \
  --feature_names="rgb, audio" \
  --feature_sizes="1024, 128" \
  --batch_size=160 \
  --base_learning_rate=0.00008 \
  --lstm_cells=1024 \
  --num_epochs=2 \
  --num_gpu 1 \
  --num_readers 8 \
  --loss_lambda 0.5 \
  --ema_halflife 2000 \
  --ema_source "$SAVEPATH//NetVLAD/inference_model" > 3.log 2>&1 || { cat 3.log; fail "step 3"; }
cat 3.log
grep -q 'note: --video_level_classifier_model=LogisticModel ignored: an EMA run keeps' 3.log ||
  fail "step 3: no note for the LSTM-style head flag"
grep -q 'EMA fine-tuning from' 3.log || fail "step 3: not an EMA run"
grep -q 'done at step 1' 3.log || fail "step 3: 40 videos x 2 epochs / 160 should make 1 step"

log 4. EMA eval
$eval_py \
  --eval_data_pattern="$RECORDPATVAL/*.tfrecord" \
  --model=NetVLADModelLF \
  --train_dir="$SAVEPATH//NetVLAD_ema" \
  --video_level_classifier_model="LogisticModel" \
  --frame_features \
  --feature_names="rgb, audio" \
  --feature_sizes="1024, 128" \
  --batch_size=160 \
  --base_learning_rate=0.00008 \
  --lstm_cells=1024 \
  --num_epochs=2 \
  --num_gpu 1 \
  --num_readers 8 \
  --build_only \
  --run_once \
  --sample_all > 4.log 2>&1 || { cat 4.log; fail "step 4"; }
cat 4.log
grep -q 'holds EMA shadows; exporting its trained weights as eval.py did without --use_EMA' 4.log ||
  fail "step 4: no --use_EMA hint"

log 5. quantize and copy model_flags.json
$quantize_py \
  --transform_type quant_uniform \
  --model "$SAVEPATH//NetVLAD_ema/inference_model" \
  --savefile ../trained_models/quants/your_model/inference_model

cp $SAVEPATH//NetVLAD_ema/model_flags.json ../trained_models/quants/your_model
test -s ../trained_models/quants/your_model/inference_model.y8m || fail "step 5: no quantized archive"

log 6. graph ensemble
$graph_ensemble_py \
--models ../trained_models/quants/your_model/inference_model \
        ../trained_models/NetVLAD/inference_model \
        ../trained_models/NetVLAD_ema/inference_model \
--weights 0.3333 0.3333 0.3334  \
--save_folder ../train_models/your_combined_output_graph
test -s ../train_models/your_combined_output_graph/inference_model.y8m || fail "step 6"

log 7. inference
RECORDPATTEST="../data/frame/test"

$inference_gpu_py \
  --train_dir "../trained_models/quants/your_model"  \
  --output_file="./output.csv" \
  --input_data_pattern="$RECORDPATTEST/*.tfrecord" \
  --batch_size 200 \
  --sample_all
head -2 output.csv
[[ $(head -1 output.csv) == VideoId,LabelConfidencePairs ]] || fail "step 7: CSV header"
[[ $(wc -l < output.csv) -eq 21 ]] || fail "step 7: 20 test videos expected"
# Every line: an id and 20 "label score" pairs, scores in [0, 1] and non-increasing.
awk -F, 'NR > 1 { n = split($2, f, " "); if (n != 40) { print "pairs: " $0; exit 1 }
  for (i = 2; i <= n; i += 2) { if (f[i] < 0 || f[i] > 1 || (i > 2 && f[i] > f[i - 2])) {
    print "scores: " $0; exit 1 } } }' output.csv || fail "step 7: CSV lines"

log 8. distillation set
$prepare_distill_dataset_py   --batch_size 128   --file_size 512   --input_data_pattern "$RECORDPATVAL/*.tfrecord"   --output_dir "output_folder/train_distill/"   --model_file "../train_models/your_combined_output_graph/inference_model"
compgen -G 'output_folder/train_distill/*.tfrecord' >/dev/null || fail "step 8: no distillation files"

log 9. distilled training, with the same flags as train.py
$train_distill_py \
  --train_data_pattern="output_folder/train_distill/*.tfrecord" \
  --model=NetVLADModelLF \
  --train_dir="$SAVEPATH//NetVLAD_distill" \
  --frame_features=True --feature_names="rgb,audio" \
  --feature_sizes="1024,128" \
  --batch_size=160 --base_learning_rate=0.0002 \
  --netvlad_cluster_size=4 \
  --netvlad_hidden_size=16 \
  --moe_l2=1e-6 --iterations=300 \
  --learning_rate_decay=0.8 \
  --netvlad_relu=False \
  --gating=True \
  --moe_prob_gating=True \
  --lightvlad=False \
  --num_gpu 1 \
  --num_epochs=10 > 9.log 2>&1 || { cat 9.log; fail "step 9"; }
cat 9.log
grep -q 'distillation (loss_lambda 0.5)' 9.log || fail "step 9: not distilled training"
grep -q 'done at step 3' 9.log || fail "step 9: 3 steps expected"
echo original README ok
