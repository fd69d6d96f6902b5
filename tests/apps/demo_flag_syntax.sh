# TensorFlow's flag syntax: "--f v" and "--f=v" both set a flag. Two steps are too few to learn, so
# y8m-demo's exit status (loss fell by half) is not checked here; what the flags set is.
source "$(dirname "$0")/lib.bash" "$@"
out=$("$BIN/y8m-demo" --device cpu --steps 2 --seed=3 2>&1) || true
echo "$out"
grep -q 'parameters on cpu' <<<"$out" || fail "--device cpu not applied"
grep -q '^step    2 ' <<<"$out" || fail "no step 2"
! grep -q '^step    3 ' <<<"$out" || fail "--steps 2 not applied"
