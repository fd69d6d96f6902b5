# The same checkpoint exports the same bytes: archives hold no timestamps and serialize their
# graph attributes and metadata in a stable order, so export, quantize and ensemble are
# byte-reproducible.
source "$(dirname "$0")/lib.bash" "$@"
tiny_data
"$BIN/y8m-train" --train_data_pattern='data/frame/train*.tfrecord' --train_dir=run \
  "${SMALL_MODEL[@]}" --max_steps=2 >/dev/null
for i in 1 2 3; do
  "$BIN/y8m-eval" --train_dir=run --build_only --device=cpu >/dev/null
  cp run/inference_model.y8m export$i.y8m
  "$BIN/y8m-quantize" --transform_type quant_uniform --model run/inference_model.y8m \
    --savefile q$i/inference_model.y8m >/dev/null
  # (the ensemble records its members' paths: the same ones every time)
  "$BIN/y8m-ensemble" --models run/inference_model.y8m q1/inference_model.y8m --weights 0.5 0.5 \
    --save_folder ens$i >/dev/null
done
for i in 2 3; do
  cmp export1.y8m export$i.y8m || fail "two exports of one checkpoint differ"
  cmp q1/inference_model.y8m q$i/inference_model.y8m || fail "two quantizations differ"
  cmp ens1/inference_model.y8m ens$i/inference_model.y8m || fail "two ensembles differ"
done
echo reproducible ok
