# Data parallelism with mpirun (README "Training on several GPUs or machines"): training on 2 ranks
# (each rank's reader position in the checkpoint, resume only with the same ranks), inference on 2
# and 3 ranks byte-identical to one process, distillation shards complete and numbered without
# collisions, and a failing rank ending the job with one line naming the rank and the file, leaving
# no output under the final name. Skipped (exit 77) without mpirun or MPI.
source "$(dirname "$0")/lib.bash" "$@"
need_mpi "$BIN/y8m-train"
tiny_data

# Training: 2 ranks of 32 examples, each reading one of the 2 train files per epoch.
expect_output "batch 32 per rank x 2 ranks \(mpi\)" \
  mpirun_local 2 "$BIN/y8m-train" --train_dir=run --train_data_pattern='data/frame/train*' \
  "${SMALL_MODEL[@]}" --num_epochs=2
expect_also "^done at step 10: run/model.ckpt-10.y8m"
[[ $(grep -c "^training " <<<"$OUTPUT") -eq 1 ]] || fail "rank 1 logged too"
expect_output "num_ranks = 2" "$BIN/y8m-inspect" run/model.ckpt-10.y8m
expect_also "examples_consumed.rank0 = 300"
expect_also "examples_consumed.rank1 = 300"
# A 2-rank checkpoint resumes with 2 ranks only.
expect_error "model.ckpt-10.y8m: written by a run of 2 rank\(s\), resumed with 1; resume it with as many ranks or towers \(mpirun -np 2 or --num_gpu=2\)" \
  "$BIN/y8m-train" --train_dir=run --train_data_pattern='data/frame/train*' "${SMALL_MODEL[@]}" \
  --num_epochs=3
expect_output "resuming from run/model.ckpt-10.y8m" \
  mpirun_local 2 "$BIN/y8m-train" --train_dir=run --train_data_pattern='data/frame/train*' \
  "${SMALL_MODEL[@]}" --num_epochs=3
expect_also "^done at step 15: "
# Unequal shares (3 files of 150, 150 and 50 videos on 2 ranks): every rank stops at the step where the
# first runs out of examples, and the checkpoint records where each one stopped.
expect_output "^done at step [0-9]+: uneven/model.ckpt-" \
  mpirun_local 2 "$BIN/y8m-train" --train_dir=uneven \
  --train_data_pattern='data/frame/train*,data/frame/validate0000.tfrecord' "${SMALL_MODEL[@]}" --num_epochs=3
ckpt=$(ls uneven/model.ckpt-*.y8m)
expect_output "examples_consumed.rank0 = [0-9]+" "$BIN/y8m-inspect" "$ckpt"
expect_also "examples_consumed.rank1 = [0-9]+"
# --corrupt_records=skip: rank 0 reports what every rank skipped (a truncated file, read once per
# epoch by whichever rank it falls to), the figure one process reports.
mkdir skipdata
cp data/frame/train0000.tfrecord skipdata/a.tfrecord
head -c 1000000 data/frame/train0001.tfrecord >skipdata/b.tfrecord
skip_run=("$BIN/y8m-train" --train_data_pattern='skipdata/*' "${SMALL_MODEL[@]}" --num_epochs=2
  --corrupt_records=skip)
one=$("${skip_run[@]}" --train_dir=skip1 | grep -Eo "skipped [0-9]+ records \([0-9]+ bytes\)$")
expect_output "; skipped 2 records" mpirun_local 2 "${skip_run[@]}" --train_dir=skip2
[[ $(grep -Eo "skipped [0-9]+ records \([0-9]+ bytes\)$" <<<"$OUTPUT") == "$one" ]] ||
  fail "2 ranks report other skips than one process ($one)"
# More ranks than files: each rank reads whole files.
expect_error "rank [0-2] of 3: --train_data_pattern: 2 file\(s\) for 3 ranks" \
  mpirun_local 3 "$BIN/y8m-train" --train_dir=run3 --train_data_pattern='data/frame/train*' \
  "${SMALL_MODEL[@]}"

# Inference: the CSV of 2 or 3 ranks is the single process's, byte for byte (random frame
# sampling included).
"$BIN/y8m-eval" --train_dir=run --eval_data_pattern='data/frame/validate*' "${SMALL_MODEL[@]}" \
  --build_only >/dev/null
infer=("$BIN/y8m-infer" --train_dir=run --input_data_pattern='data/frame/test*' --seed=3)
"${infer[@]}" --batch_size=8 --output_file=one.csv >/dev/null
expect_output "wrote 50 rows to two.csv" mpirun_local 2 "${infer[@]}" --batch_size=8 --output_file=two.csv
cmp one.csv two.csv || fail "2-rank inference differs from one process"
"${infer[@]}" --batch_size=7 --output_file=one7.csv >/dev/null
mpirun_local 3 "${infer[@]}" --batch_size=7 --output_file=three.csv.gz >/dev/null
gzip -dc three.csv.gz | cmp - one7.csv || fail "3-rank inference differs from one process"
"${infer[@]}" --batch_size=7 --output_file=seed4.csv --seed=4 >/dev/null
! cmp -s one7.csv seed4.csv || fail "frame sampling does not depend on --seed (the test proves nothing)"

# Distillation: 2 ranks write every video once, in files numbered 00000... without gaps.
distill=("$BIN/y8m-distill" --model_file=run/inference_model.y8m
  --input_data_pattern='data/frame/train*' --batch_size=32 --file_size=50)
"${distill[@]}" --output_dir=d1 >/dev/null
expect_output "wrote 300 videos in 7 files to d2" mpirun_local 2 "${distill[@]}" --output_dir=d2
for i in 0 1 2 3 4 5 6; do [[ -f d2/predictions-0000$i.tfrecord ]] || fail "d2 lacks file $i"; done
[[ $(ls d2 | wc -l) -eq 7 ]] || fail "d2 has other files: $(ls d2)"
# The same records (the teacher predicts what one process would), in other files.
[[ $(cat d1/* | wc -c) -eq $(cat d2/* | wc -c) ]] || fail "the distilled records differ in size"
ids() { "$BIN/y8m-infer" --train_dir=run --input_data_pattern="$1/*" --output_file="$1.csv" >/dev/null && tail -n +2 "$1.csv" | cut -d, -f1 | sort; }
[[ $(ids d1) == "$(ids d2)" ]] || fail "2-rank distillation has other videos"
[[ $(ids d2 | uniq -d | wc -l) -eq 0 ]] || fail "a video distilled twice"

# A failing rank ends the job: one line naming the rank and the file, exit non-zero, and no
# checkpoint, CSV or distillation folder under the final name.
mkdir bad
cp data/frame/train0000.tfrecord bad/a.tfrecord
head -c 20000 data/frame/train0001.tfrecord >bad/b.tfrecord
expect_error "^y8m-train: rank [01] of 2: bad/b.tfrecord: record [0-9]+ at byte offset [0-9]+: " \
  mpirun_local 2 "$BIN/y8m-train" --train_dir=badrun --train_data_pattern='bad/*' \
  "${SMALL_MODEL[@]}" --save_model_secs=0
! ls badrun/model.ckpt-* 2>/dev/null || fail "a checkpoint was left"
expect_error "^y8m-infer: rank [01] of 2: bad/b.tfrecord: record " \
  mpirun_local 2 "${infer[@]}" --input_data_pattern='bad/*' --batch_size=8 --output_file=bad.csv
[[ ! -e bad.csv ]] || fail "a partial CSV was left"
expect_error "^y8m-distill: rank [01] of 2: bad/b.tfrecord: record " \
  mpirun_local 2 "${distill[@]}" --input_data_pattern='bad/*' --batch_size=8 --output_dir=bad_distill
[[ ! -e bad_distill ]] || fail "a partial distillation folder was left"

# --num_gpu under mpirun: the ranks are the towers.
expect_output "note: --num_gpu=2 ignored: the 2 ranks are the towers" \
  mpirun_local 2 "$BIN/y8m-train" --train_dir=one_gpu --train_data_pattern='data/frame/train*' \
  "${SMALL_MODEL[@]}" --num_gpu=2 --max_steps=1
echo "mpi_data_parallel: ok"
