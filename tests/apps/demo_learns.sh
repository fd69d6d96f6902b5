# y8m-demo learns on the CPU: its exit status checks that the loss fell by half, and it says so.
source "$(dirname "$0")/lib.bash" "$@"
expect_output 'learned' "$BIN/y8m-demo" --device=cpu --steps=200
