# y8m-ensemble, y8m-average and y8m-distill build their output folder under a temporary sibling
# name and rename it when complete: a run that fails (here: a full disk, simulated by a file-size
# limit, or a corrupt input record) leaves neither the folder nor its temporary, so rerunning the
# same command works; y8m-distill never leaves a partial set of files looking complete.
source "$(dirname "$0")/lib.bash" "$@"
tiny_data
for run in a b; do
  "$BIN/y8m-train" --train_data_pattern='data/frame/train*.tfrecord' --train_dir=$run \
    "${SMALL_MODEL[@]}" --max_steps=2 --seed=${#run} >/dev/null
  "$BIN/y8m-eval" --train_dir=$run --build_only --device=cpu >/dev/null
done

# limited <command...>: runs the command with files limited to 64 KB (writes past it fail with
# EFBIG; SIGXFSZ ignored so the app reports the error itself).
limited() { (
  trap '' XFSZ
  ulimit -f 64
  "$@"
); }
no_leftovers() {
  [[ ! -e $1 ]] || fail "a failed run left $1 behind"
  ! compgen -G "$1.tmp-*" >/dev/null || fail "a failed run left $(compgen -G "$1.tmp-*")"
}

ens=(--models a/inference_model.y8m b/inference_model.y8m --weights 0.5 0.5 --save_folder out/ens)
expect_error 'File too large' limited "$BIN/y8m-ensemble" "${ens[@]}"
no_leftovers out/ens
expect_output 'merged 2 models into out/ens/inference_model.y8m' "$BIN/y8m-ensemble" "${ens[@]}"
expect_error "out/ens' already exists" "$BIN/y8m-ensemble" "${ens[@]}"

# A run killed by SIGKILL leaves its temporary folder (its pid is gone): the next run for the same
# save folder removes it; a live writer's temporary (this shell's pid) stays.
sh -c 'exit 0' & dead=$!; wait $dead
mkdir -p "out/ens2.tmp-$dead-0badf00d" "out/ens2.tmp-$$-0badf00d"
printf partial > "out/ens2.tmp-$dead-0badf00d/inference_model.y8m"
expect_output 'merged 2 models into out/ens2' "$BIN/y8m-ensemble" "${ens[@]/out\/ens/out/ens2}"
[[ ! -e out/ens2.tmp-$dead-0badf00d && -d out/ens2.tmp-$$-0badf00d ]] ||
  fail "killed run's temporary: $(ls out)"

avg=(--models a/model.ckpt-2.y8m b/model.ckpt-2.y8m --save_folder avg)
expect_error 'File too large' limited "$BIN/y8m-average" "${avg[@]}"
no_leftovers avg
expect_output 'into avg/model.ckpt-2.y8m' "$BIN/y8m-average" "${avg[@]}"

# distill: files of 10 videos; record 15 of test0000 is corrupt, so 1 file is complete when it
# fails.
off=0
for ((i = 0; i < 15; i++)); do
  len=$(od -An -t u8 -j "$off" -N 8 data/frame/test0000.tfrecord | tr -d ' ')
  off=$((off + 12 + len + 4))
done
printf 'X' | dd of=data/frame/test0000.tfrecord bs=1 seek=$((off + 40)) conv=notrunc status=none
dist=(--model_file=a/inference_model.y8m --input_data_pattern='data/frame/test*.tfrecord'
  --output_dir=dist --file_size=10 --device=cpu)
expect_error 'test0000.tfrecord: record 15 at byte offset [0-9]+: data CRC mismatch' \
  "$BIN/y8m-distill" "${dist[@]}"
no_leftovers dist
expect_error 'File too large' limited "$BIN/y8m-distill" "${dist[@]}" --corrupt_records=skip
no_leftovers dist
expect_output 'wrote 49 videos in 5 files to dist' "$BIN/y8m-distill" "${dist[@]}" \
  --corrupt_records=skip
[[ $(ls dist | wc -l) -eq 5 ]] || fail "dist holds $(ls dist)"
echo save folders ok
