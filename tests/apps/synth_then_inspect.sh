# y8m-synth writes a dataset that y8m-inspect verifies (counts and every CRC).
source "$(dirname "$0")/lib.bash" "$@"
"$BIN/y8m-synth" --preset=tiny --seed=5 --output_dir=data
expect_output '"total_records": 450, "crc_verified": true' "$BIN/y8m-inspect" --json 'data/frame/*.tfrecord'
