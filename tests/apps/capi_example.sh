# The C API as a user gets it: `cmake --install` into a temporary prefix, the README's C example
# (capi/example.c, the same text) compiled with `cc $(pkg-config --cflags --libs y8m)` against the
# installed header and liby8m.so, run on an archive trained here; its rows equal y8m-infer's
# --top_k=1 CSV. The installed library exports only y8m_* functions.
source "$(dirname "$0")/lib.bash" "$@"
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "$BIN/.." && pwd)
command -v pkg-config >/dev/null || fail "pkg-config not found (scripts/install-deps.sh installs it)"

# The example in README.md is capi/example.c.
awk '/^## Using a y8m archive from your program/{s=1} s&&/^```c$/{p=1;next} p&&/^```$/{exit} p' \
  "$SRC/README.md" >readme_example.c
cmp readme_example.c "$SRC/capi/example.c" || fail "README.md's C example differs from capi/example.c"

cmake --install "$BUILD" --prefix "$WORK/prefix" --component capi >/dev/null
PC=$(find "$WORK/prefix" -name y8m.pc)
[[ -n $PC ]] || fail "no y8m.pc installed under $WORK/prefix"
export PKG_CONFIG_PATH=$(dirname "$PC")
LIBDIR=$(pkg-config --variable=libdir y8m)
[[ -f $LIBDIR/liby8m.so && -f $(pkg-config --variable=includedir y8m)/y8m.h ]] ||
  fail "y8m.pc points to $LIBDIR, which lacks liby8m.so or y8m.h"
ls "$LIBDIR"/liby8m.so.1 >/dev/null || fail "no liby8m.so.1 (SOVERSION) in $LIBDIR"
exported=$(nm -D --defined-only "$LIBDIR/liby8m.so" | awk '$2 == "T" {print $3}')
grep -vq '^y8m_' <<<"$exported" && fail "liby8m.so exports more than y8m_*: $(grep -v '^y8m_' <<<"$exported" | head -3)"
grep -q '^y8m_predict$' <<<"$exported" || fail "liby8m.so does not export y8m_predict"

# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror -o example "$SRC/capi/example.c" $(pkg-config --cflags --libs y8m)

"$BIN/y8m-synth" --preset=tiny --output_dir=data >/dev/null
expect_output '^done at step 4' "$BIN/y8m-train" --train_data_pattern='data/frame/train*.tfrecord' \
  --train_dir=run --max_steps=4 "${SMALL_MODEL[@]}"
expect_output 'exported' "$BIN/y8m-eval" --train_dir=run --build_only --device=cpu
"$BIN/y8m-infer" --train_dir=run --input_data_pattern='data/frame/test*.tfrecord' --output_file=infer.csv \
  --top_k=1 --device=cpu >/dev/null
LD_LIBRARY_PATH=$LIBDIR ./example run/inference_model.y8m 'data/frame/test*.tfrecord' >example.csv
[[ $(wc -l <example.csv) -eq 50 ]] || fail "example printed $(wc -l <example.csv) rows, expected 50"
tail -n +2 infer.csv | cmp - example.csv || fail "the example's rows differ from y8m-infer's"

expect_error "run/missing.y8m" env LD_LIBRARY_PATH="$LIBDIR" ./example run/missing.y8m 'data/frame/test*.tfrecord'
echo capi example ok
