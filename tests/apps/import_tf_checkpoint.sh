# y8m-import (issue 16): TensorFlow checkpoints of the original (tests/fixtures/tf_checkpoints, from
# tools/make_tf_checkpoint_fixtures.py) into archives and checkpoints whose predictions on the
# fixture batch equal TensorFlow's within 1e-5 (y8m-infer's CSV prints 6 significant digits).
FX=$(cd "$(dirname "$0")/../fixtures/tf_checkpoints" && pwd)
source "$(dirname "$0")/lib.bash" "$@"

expect_output '^flag table: y8m-import ok' env Y8M_CHECK_FLAG_TABLE=1 "$BIN/y8m-import"

flags_of() { grep "^$1 " "$FX/flags.txt" | cut -d' ' -f2-; }

# compare <csv> <predictions.txt>: every label/score pair of the CSV against TF's probability.
compare() {
  awk -v csv="$1" '
    FNR == NR { for (c = 2; c <= NF; ++c) p[$1, c - 2] = $c; next }
    FNR > 1 {
      split($0, f, ","); n = split(f[2], w, " ")
      if (n != 20) { print "row " f[1] ": " n / 2 " pairs"; bad = 1 }
      for (i = 1; i < n; i += 2) {
        d = w[i + 1] - p[f[1], w[i]]; if (d < 0) d = -d
        if (!((f[1], w[i]) in p) || d > 1e-5) { print f[1] " class " w[i] ": " w[i + 1] " vs " p[f[1], w[i]]; bad = 1 }
        ++pairs
      }
    }
    END { if (bad || pairs != 30) { print csv ": " pairs " pairs compared"; exit 1 } }' "$2" "$1" ||
    fail "$1 differs from $2"
}

infer() {  # infer <archive> <csv>
  "$BIN/y8m-infer" --model="$1" --input_data_pattern="$FX/batch.tfrecord" --output_file="$2" \
    --top_k=10 --device=cpu >/dev/null
}

# Each fixture from its folder (the `checkpoint` file's entry or the only prefix); the architecture
# from the flags plus model_flags.json (model, features).
expect_output '^y8m-import: read 31 tensors of NetVLADModelLF from .*/netvlad/model.ckpt-7 \(step 7\)$' \
  "$BIN/y8m-import" --checkpoint="$FX/netvlad" $(flags_of netvlad) --output=netvlad.y8m
expect_also '^y8m-import: model flags from .*/netvlad/model_flags.json$'
expect_also '^y8m-import: ignored 76 checkpoint variables not in the model'
infer netvlad.y8m netvlad.csv
compare netvlad.csv "$FX/netvlad.predictions.txt"

expect_output 'EMA shadows\)$' "$BIN/y8m-import" --checkpoint="$FX/netvlad/model.ckpt-7" \
  $(flags_of netvlad) --use_ema --output=ema/inference_model
infer ema/inference_model.y8m ema.csv
compare ema.csv "$FX/netvlad_ema.predictions.txt"

expect_output '1 dequantized\)$' "$BIN/y8m-import" --checkpoint="$FX/netvlad_quant" \
  $(flags_of netvlad_quant) --output=quant.y8m
infer quant.y8m quant.csv
compare quant.csv "$FX/netvlad_quant.predictions.txt"
"$BIN/y8m-import" --checkpoint="$FX/netvlad_fp16" $(flags_of netvlad_fp16) --output=fp16.y8m >/dev/null
infer fp16.y8m fp16.csv
compare fp16.csv "$FX/netvlad_fp16.predictions.txt"

for m in netfv dbof softdbof; do
  "$BIN/y8m-import" --checkpoint="$FX/$m" $(flags_of $m) --output=$m.y8m >/dev/null
  infer $m.y8m $m.csv
  compare $m.csv "$FX/$m.predictions.txt"
done

# A .tar.gz bundle as released (one folder with the checkpoint and model_flags.json): extracted into
# a temporary folder that is gone afterwards, also when the import fails.
mkdir -p tmp bundle && cp -r "$FX/netfv" bundle/released && tar czf released.tar.gz -C bundle released
expect_output '^y8m-import: extracted 4 files of released.tar.gz$' env TMPDIR="$PWD/tmp" \
  "$BIN/y8m-import" --checkpoint=released.tar.gz $(flags_of netfv) --output=tgz.y8m
expect_also 'model flags from .*/released/model_flags.json$'
infer tgz.y8m tgz.csv
compare tgz.csv "$FX/netfv.predictions.txt"
[[ -z $(ls tmp) ]] || fail "temporary folder left: $(ls tmp)"
head -c 100 released.tar.gz >cut.tgz
expect_error 'cut.tgz' env TMPDIR="$PWD/tmp" "$BIN/y8m-import" --checkpoint=cut.tgz --output=cut.y8m
[[ -z $(ls tmp) && ! -e cut.y8m ]] || fail "a failed bundle import left files behind"
rm -r tmp bundle

# A y8m checkpoint: y8m-eval exports it (sampling flags as eval.py took them) to the same numbers.
expect_output '^y8m-import: wrote run/model.ckpt-3.y8m$' "$BIN/y8m-import" \
  --checkpoint="$FX/dbof/model.ckpt-3" $(flags_of dbof) --output_checkpoint_dir=run
"$BIN/y8m-eval" --train_dir=run --build_only --sample_all --iterations=5 --device=cpu >/dev/null
infer run/inference_model.y8m run.csv
cmp run.csv dbof.csv

# Errors: one line naming the variable or file; nothing written.
expect_error "no variable 'tower/video_FV/cluster_weights' \(and [0-9]+ more missing\) for NetFVModelLF; the checkpoint has under 'tower/': audio_VLAD" \
  "$BIN/y8m-import" --checkpoint="$FX/netvlad" $(flags_of netvlad) --model=NetFVModelLF \
  --output=wrong_model.y8m
expect_error "no variable 'tower/hidden1_bn/beta' \(and 3 more missing\) for NetVLADModelLF" \
  "$BIN/y8m-import" --checkpoint="$FX/netvlad" $(flags_of netvlad) --netvlad_relu=True \
  --output=relu.y8m
expect_error "variable 'tower/hidden1_weights' is \[4352, 4\], but NetVLADModelLF needs \[4352, 8\]" \
  "$BIN/y8m-import" --checkpoint="$FX/netvlad" $(flags_of netvlad) --netvlad_hidden_size=8 \
  --output=wrong_shape.y8m
expect_error "variable 'tower/gating_bn/beta' \[4\] has no place in NetVLADModelLF" \
  "$BIN/y8m-import" --checkpoint="$FX/netvlad" $(flags_of netvlad) --gating=False \
  --output=no_gating.y8m
mkdir missing
cp "$FX"/netfv/inference_model.* "$FX/netfv/model_flags.json" missing/
expect_error "no variable 'tower/hidden1_weights/ExponentialMovingAverage'" "$BIN/y8m-import" \
  --checkpoint=missing $(flags_of netfv) --use_ema --output=missing.y8m
cp "$FX/netvlad/model.ckpt-7.index" missing/inference_model.index  # another model's index
expect_error "missing/inference_model.data-00000-of-00001.*lies outside the data file" \
  "$BIN/y8m-import" --checkpoint=missing $(flags_of netfv) --output=missing.y8m
expect_error '^y8m-import: nowhere: not a TensorFlow checkpoint' "$BIN/y8m-import" \
  --checkpoint=nowhere $(flags_of netfv) --output=nowhere.y8m
expect_error 'give at least one' "$BIN/y8m-import" --checkpoint="$FX/netfv" $(flags_of netfv)
expect_error '^y8m-import: --output: netvlad.y8m already exists$' "$BIN/y8m-import" \
  --checkpoint="$FX/netvlad" $(flags_of netvlad) --output=netvlad.y8m
for f in wrong_model relu wrong_shape no_gating missing nowhere; do
  [[ ! -e $f.y8m ]] || fail "a refused import wrote $f.y8m"
done
[[ -z $(ls | grep tmp) ]] || fail "temporaries left: $(ls)"
echo "import ok"
