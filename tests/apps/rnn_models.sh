# The xlsx RNN1, RNN2 and RNN3 commands (SPEC Appendix A) with --lstm_cells reduced from 1024 to 16
# (batch sizes, learning rates and epochs as in the sheet), on 20 tiny videos: train -> eval.py's
# command (exports inference_model.y8m, prints a GAP) -> inference CSV from the archive. Also the
# runme's LSTM_bidirectv0_MoE head, which crashed in the original (SPEC §16.10), with
# --frame_shuffle.
source "$(dirname "$0")/lib.bash" "$@"
"$BIN/y8m-synth" --preset=tiny --train_videos=20 --validate_videos=0 --test_videos=6 --output_dir="$WORK/data" >/dev/null
RECORDPAT="$WORK/data/frame"
frame=(--frame_features --feature_names=rgb,audio --feature_sizes=1024,128 --device=cpu)
rnn1=(--model=Lstmbidirect --video_level_classifier_model=LogisticModel --batch_size=256 --lstm_cells=16 --num_gpu=2 --num_readers=12)
rnn2=(--model=Lstmbidirect --video_level_classifier_model=LogisticModel --batch_size=256 --lstm_cells=16 --num_gpu=1 --num_readers=8)
rnn3=(--model=GRUbidirect --video_level_classifier_model=LogisticModel --batch_size=220 --lstm_cells=16 --num_gpu=2 --num_readers=12)
moe=(--model=Lstmbidirect --video_level_classifier_model=MoeModel --batch_size=16 --lstm_cells=16 --frame_shuffle)

run() {  # run <name> <expected parameters> <train flags...>
  local name=$1 params=$2
  shift 2
  expect_output "^training [A-Za-z]+: $params parameters" \
    "$BIN/y8m-train" --train_data_pattern="$RECORDPAT/train*.tfrecord" --train_dir="$name" "${frame[@]}" "$@"
  expect_also '^done at step [0-9]+'
  expect_output '^step [0-9]+ \| examples 20 \| Avg_Hit@1.*GAP' \
    "$BIN/y8m-eval" --train_dir="$name" --eval_data_pattern="$RECORDPAT/train*.tfrecord" "${frame[@]}" "$@" --run_once=True
  [[ -s $name/inference_model.y8m ]] || fail "no $name/inference_model.y8m"
  "$BIN/y8m-infer" --model="$name/inference_model.y8m" --input_data_pattern="$RECORDPAT/test*.tfrecord" \
    --output_file="$name.csv" --device=cpu
  [[ $(head -1 "$name.csv") == "VideoId,LabelConfidencePairs" ]] || fail "$name.csv header"
  [[ $(wc -l <"$name.csv") -eq 7 ]] || fail "$name.csv: expected 6 videos"
}

# fw/bw LSTM(8) over 1152: 2 x ((1152+8)*32 + 32); LSTM(16) over 16: (16+16)*64 + 64; logistic
# 16*3862 + 3862.
run rnn1 142070 "${rnn1[@]}" --base_learning_rate=0.00008 --num_epochs=2
run rnn2 142070 "${rnn2[@]}" --base_learning_rate=0.0002 --num_epochs=20
# GRU(8) x 2: gates (1160*16 + 16) + candidate (1160*8 + 8); GRU(16): 32*32+32 + 32*16+16.
run rnn3 122966 "${rnn3[@]}" --base_learning_rate=0.00008 --num_epochs=2
# MoE(2): gates 16*3862*3, experts 16*3862*2 + 3862*2.
run moe $((142070 - 65654 + 16 * 3862 * 5 + 3862 * 2)) "${moe[@]}" --num_epochs=1
echo rnn commands ok
