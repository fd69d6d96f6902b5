# A corrupt file: y8m-inspect exits 1 and names the file, the record and the offset.
source "$(dirname "$0")/lib.bash" "$@"
"$BIN/y8m-synth" --preset=tiny --output_dir=data --video_level
f=data/video/test0000.tfrecord
printf 'X' | dd of="$f" bs=1 seek=200 conv=notrunc status=none
expect_error 'test0000.tfrecord: record 0 at byte offset 0: data CRC mismatch' "$BIN/y8m-inspect" "$f"
[[ $STATUS -eq 1 ]] || fail "exit $STATUS, expected 1"
