# An unknown flag is an error (exit 1) that suggests the nearest flag name.
source "$(dirname "$0")/lib.bash" "$@"
expect_error 'unknown flag --stepz \(did you mean --steps\?\)' "$BIN/y8m-demo" --stepz=3
[[ $STATUS -eq 1 ]] || fail "exit $STATUS, expected 1"
