# --num_gpu towers in one process (y8m-train): as train.py, towers = min(--num_gpu, visible GPUs),
# so without GPUs (or with --device=cpu) one ordinary process trains, with a note; with
# Y8M_CPU_TOWERS=1 and --device=cpu the towers are threads on the CPU, and the run is a 2-worker
# run: global batch 2 x batch_size, both workers' reader positions in the checkpoint. (That two
# towers train like one process with the doubled batch is Towers.* in tests/distributed.) A tower
# that fails ends the process naming it.
source "$(dirname "$0")/lib.bash" "$@"
tiny_data
train=("$BIN/y8m-train" --train_data_pattern='data/frame/train*' "${SMALL_MODEL[@]}")

expect_output '^done at step 2' "${train[@]}" --train_dir=one --num_gpu=2 --max_steps=2
expect_also 'note: --num_gpu=2: training on the CPU \(--device=cpu\), so 1 tower \(as train.py\)'
"$BIN/y8m-inspect" one/model.ckpt-2.y8m | grep -q num_ranks && fail "one tower wrote num_ranks"

expect_output '^y8m-train: 2 towers in this process \(cpu, \.\.\.\), 32 examples each per step$' \
  env Y8M_CPU_TOWERS=1 "${train[@]}" --train_dir=two --num_gpu=2 --max_steps=3
expect_also '^done at step 3'
out=$("$BIN/y8m-inspect" two/model.ckpt-3.y8m)
grep -Eq 'num_ranks = 2' <<<"$out" || fail "no num_ranks = 2 in: $out"
grep -Eq 'examples_consumed.rank1 = 96' <<<"$out" || fail "tower 1 did not read 3 x 32 examples: $out"
# Resumed by the same number of towers, refused with another.
expect_output '^done at step 4' env Y8M_CPU_TOWERS=1 "${train[@]}" --train_dir=two --num_gpu=2 --max_steps=4
expect_error 'written by a run of 2 rank\(s\), resumed with 1' "${train[@]}" --train_dir=two --max_steps=5

# More towers than training files: the tower's error names it, and the process fails.
mkdir -p few && cp data/frame/train0000.tfrecord few/
expect_error 'y8m-train: rank [0-9] of 8: ' env Y8M_CPU_TOWERS=1 "$BIN/y8m-train" \
  --train_data_pattern='few/*' "${SMALL_MODEL[@]}" --train_dir=few_run --num_gpu=8 --max_steps=1
expect_error '--num_gpu=2 places the towers on cuda:0, cuda:1, ...: drop --device=cuda:1' \
  "$BIN/y8m-train" --train_data_pattern='data/frame/train*' "${SMALL_MODEL[@]/--device=cpu/--device=cuda:1}" \
  --train_dir=bad --num_gpu=2
echo "towers: ok"
