# --corrupt_records=skip in every app that reads records (train, eval, infer, distill): each runs to
# the end and reports what it skipped, exactly, in a warning and in its summary line. A corrupt
# length field makes the rest of its file unreadable: the records behind it are lost too, and are
# counted (records and bytes), not reported as one skip. Under the default policy each app stops
# naming the file, the record and the offset. The ETA's record count never stops an app.
source "$(dirname "$0")/lib.bash" "$@"
tiny_data

# corrupt_length <file> <k>: flips a high bit of record k's length field; sets LOST_RECORDS (records
# k..end) and LOST_BYTES (from record k's header to the end of the file).
corrupt_length() {
  local file=$1 k=$2 off=0 i len size total
  for ((i = 0; i < k; i++)); do
    len=$(od -An -t u8 -j "$off" -N 8 "$file" | tr -d ' ')
    off=$((off + 12 + len + 4))
  done
  total=$("$BIN/y8m-inspect" --json "$file" | grep -Eo '"total_records": [0-9]+' | grep -Eo '[0-9]+$')
  size=$(stat -c %s "$file")
  printf '\x01' | dd of="$file" bs=1 seek=$((off + 5)) conv=notrunc status=none
  LOST_RECORDS=$((total - k))
  LOST_BYTES=$((size - off))
  CORRUPT_AT=$off
}

corrupt_length data/frame/train0001.tfrecord 7
train_lost="skipped $LOST_RECORDS records \\($LOST_BYTES bytes\\)"
corrupt_length data/frame/validate0001.tfrecord 3
val_lost="skipped $LOST_RECORDS records \\($LOST_BYTES bytes\\)"
corrupt_length data/frame/test0001.tfrecord 5
test_lost="skipped $LOST_RECORDS records \\($LOST_BYTES bytes\\)"
test_at=$CORRUPT_AT
test_rows=$((50 - LOST_RECORDS)) # test0000 and test0001 hold 25 videos each

# train: one epoch, so each file is read once.
expect_output "done at step [0-9]+: run/model.ckpt-[0-9]+.y8m; $train_lost" \
  "$BIN/y8m-train" --train_data_pattern='data/frame/train*.tfrecord' --train_dir=run \
  "${SMALL_MODEL[@]}" --num_epochs=1 --corrupt_records=skip >train.log
cat train.log
grep -Eq "warning: $train_lost of corrupt data \(last: .*train0001.tfrecord: record 7 " train.log ||
  fail "train: no warning naming the bad record"

# eval: the summary line (and evallog.txt) carries the figure.
expect_output "\\| Avg_Loss [0-9.]+ \\| $val_lost \\| [0-9]+ examples/s" \
  "$BIN/y8m-eval" --train_dir=run --eval_data_pattern='data/frame/validate*.tfrecord' --run_once \
  --num_readers=1 --device=cpu --corrupt_records=skip
grep -Eq "$val_lost" run/evallog.txt || fail "evallog.txt lacks the skip figure"
expect_error "validate0001.tfrecord: record 3 at byte offset [0-9]+: length CRC mismatch" \
  "$BIN/y8m-eval" --train_dir=run --eval_data_pattern='data/frame/validate*.tfrecord' --run_once \
  --num_readers=1 --device=cpu

# infer: the ETA's count does not stop it; rows for every readable video.
expect_output "wrote $test_rows rows to sub.csv; $test_lost of corrupt data" \
  "$BIN/y8m-infer" --train_dir=run --input_data_pattern='data/frame/test*.tfrecord' \
  --output_file=sub.csv --device=cpu --corrupt_records=skip
expect_error "test0001.tfrecord: record 5 at byte offset $test_at: length CRC mismatch" \
  "$BIN/y8m-infer" --train_dir=run --input_data_pattern='data/frame/test*.tfrecord' \
  --output_file=sub2.csv --device=cpu
[[ ! -e sub2.csv ]] || fail "a failed y8m-infer left its output file"

# distill: the same records as infer.
expect_output "wrote $test_rows videos in 1 files to distill; $test_lost of corrupt data" \
  "$BIN/y8m-distill" --model_file=run/inference_model.y8m --input_data_pattern='data/frame/test*' \
  --output_dir=distill --file_size=100 --device=cpu --corrupt_records=skip
expect_error "test0001.tfrecord: record 5 at byte offset $test_at: length CRC mismatch" \
  "$BIN/y8m-distill" --model_file=run/inference_model.y8m --input_data_pattern='data/frame/test*' \
  --output_dir=distill2 --device=cpu
echo corrupt records ok
