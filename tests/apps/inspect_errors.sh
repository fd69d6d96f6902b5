# y8m-inspect on files that are not what they claim: an empty or non-container .y8m is an error
# naming the file (not "0 records"), and a corrupt record's message offers no flag y8m-inspect lacks.
source "$(dirname "$0")/lib.bash" "$@"
tiny_data
: >empty.y8m
expect_error '^y8m-inspect: empty.y8m: not a y8m archive or checkpoint \(empty file\)$' \
  "$BIN/y8m-inspect" empty.y8m
head -c 5000 data/frame/test0000.tfrecord >records.y8m
expect_error '^y8m-inspect: records.y8m: not a y8m archive or checkpoint \(no Y8MCONT magic' \
  "$BIN/y8m-inspect" records.y8m
expect_error 'records.y8m: not a y8m archive' "$BIN/y8m-inspect" --json 'data/frame/test*' records.y8m
# An empty TFRecord file is valid (TensorFlow writes one for an empty dataset).
: >empty.tfrecord
expect_output '^total: 0 records in 1 files$' "$BIN/y8m-inspect" empty.tfrecord
cp data/frame/test0000.tfrecord bad.tfrecord
printf 'X' | dd of=bad.tfrecord bs=1 seek=200 conv=notrunc status=none
out=$("$BIN/y8m-inspect" bad.tfrecord 2>&1) && fail "a corrupt file exited 0"
echo "$out"
grep -q 'bad.tfrecord: record 0 at byte offset 0: data CRC mismatch' <<<"$out" || fail "no record named"
! grep -q -- '--corrupt_records' <<<"$out" || fail "y8m-inspect suggests a flag it does not have"
echo inspect errors ok
