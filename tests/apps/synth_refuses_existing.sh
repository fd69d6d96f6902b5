# y8m-synth refuses to write into a folder that already exists (exit 1), and leaves it alone.
source "$(dirname "$0")/lib.bash" "$@"
expect_error 'already exists' "$BIN/y8m-synth" --preset=tiny --output_dir=/tmp
[[ $STATUS -eq 1 ]] || fail "exit $STATUS, expected 1"
mkdir existing
expect_error 'already exists' "$BIN/y8m-synth" --preset=tiny --output_dir=existing
[[ $STATUS -eq 1 ]] || fail "exit $STATUS, expected 1"
[[ -z $(ls -A existing) ]] || fail "y8m-synth wrote into existing/"
