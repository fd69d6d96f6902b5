# y8m-train as a hostile user drives it (issue 13): a held train_dir, stale temporaries of killed
# writers, a diverging learning rate, absurd flags, empty input. Each case checks the message and
# that nothing invalid is left behind.
source "$(dirname "$0")/lib.bash" "$@"
tiny_data
train=("$BIN/y8m-train" --train_data_pattern='data/frame/train*.tfrecord' "${SMALL_MODEL[@]}")

# One trainer per train_dir: another process holds the lock (flock(1) stands in for a running
# y8m-train; the pid it wrote is named).
mkdir held && echo 4242 > held/y8m-train.lock
expect_error "'held' is in use by another y8m-train \(pid 4242" \
  flock held/y8m-train.lock "${train[@]}" --train_dir=held --max_steps=2
[[ -z $(ls held | grep -v y8m-train.lock) ]] || fail "the refused run wrote into held/"
expect_output 'done at step 2' "${train[@]}" --train_dir=held --max_steps=2  # lock released

# Stale temporaries: a checkpoint write killed by SIGKILL (dead pid) and an older pid-less one go;
# a live y8m-eval's export temporary stays.
sh -c 'exit 0' & dead=$!; wait $dead
printf 'partial' > "held/model.ckpt-3.y8m.tmp-$dead-0badf00d"
printf 'partial' > held/model.ckpt-4.y8m.tmp-0badf00d
printf 'partial' > "held/inference_model.y8m.tmp-$$-0badf00d"
expect_output "removed held/model.ckpt-3.y8m.tmp-$dead-0badf00d .*left by a writer that was killed" \
  "${train[@]}" --train_dir=held --max_steps=3
[[ ! -e held/model.ckpt-4.y8m.tmp-0badf00d && -e "held/inference_model.y8m.tmp-$$-0badf00d" ]] ||
  fail "stale temporaries: wrong files removed: $(ls held)"

# kill -9 while checkpoints are being written (one every step): whatever instant it lands, every
# model.ckpt-*.y8m verifies, and the rerun removes the killed write's temporary and resumes.
"${train[@]}" --train_dir=killed --max_steps=100000 --save_model_secs=0 --keep_checkpoint_max=3 \
  --netvlad_hidden_size=256 --num_epochs=1000 >/dev/null 2>&1 &
pid=$!
caught=0
# Until a checkpoint exists and the next one's write is in flight (bounded: the run has 1000
# epochs, and the loop ends if it exits).
for ((i = 0; i < 2000000 && caught == 0; i++)); do
  compgen -G 'killed/model.ckpt-*.y8m.tmp-*' >/dev/null &&
    compgen -G 'killed/model.ckpt-*.y8m' >/dev/null && caught=1
  kill -0 $pid 2>/dev/null || break
done
kill -9 $pid 2>/dev/null || fail "y8m-train ended before it could be killed"
wait $pid 2>/dev/null || true
echo "killed during a checkpoint write: $caught"
for f in killed/model.ckpt-*.y8m; do
  "$BIN/y8m-inspect" "$f" >/dev/null || fail "$f does not verify after kill -9"
done
expect_output 'resuming from killed/model.ckpt-' "${train[@]}" --train_dir=killed --max_steps=100000 \
  --save_model_secs=0 --keep_checkpoint_max=3 --netvlad_hidden_size=256 --num_epochs=1
! compgen -G 'killed/*.tmp-*' >/dev/null || fail "temporaries left: $(ls killed)"

# A full disk while writing a checkpoint (a 1 MB file-size limit; the checkpoint is ~14 MB): the run
# fails naming the file, and leaves no temporary and no checkpoint.
expect_error 'model.ckpt-1.y8m.tmp-[0-9]+-[0-9a-f]+: .*(File too large|write)' bash -c \
  "trap '' XFSZ; ulimit -f 1024; exec \"\$@\"" _ "${train[@]}" --train_dir=full \
  --max_steps=1 --netvlad_hidden_size=256
! compgen -G 'full/*.y8m*' >/dev/null || fail "a failed checkpoint write left: $(ls full)"

# A diverging run stops before the first non-finite update, naming the step, and keeps the last
# finite state; y8m-eval evaluates that state.
expect_error 'step 2: the loss is .*the update was not applied and training stopped, saved the state before it as diverge/model.ckpt-1.y8m' \
  "${train[@]}" --train_dir=diverge --max_steps=6 --base_learning_rate=1e38
expect_output 'step 1 \| examples 100 \| Avg_Hit@1' "$BIN/y8m-eval" --train_dir=diverge \
  --eval_data_pattern='data/frame/validate*.tfrecord' --run_once --num_readers=1 --device=cpu
expect_error 'the model diverged' \
  "${train[@]}" --train_dir=diverge2 --max_steps=60 --base_learning_rate=1e38 --on_nonfinite=skip

# Absurd flags: refused before anything is written.
expect_error '--base_learning_rate must be a finite number, got nan' \
  "${train[@]}" --train_dir=absurd --base_learning_rate=nan
expect_error '--num_epochs must be > 0, got 0' "${train[@]}" --train_dir=absurd --num_epochs=0
expect_error '--keep_checkpoint_max must be >= 0' "${train[@]}" --train_dir=absurd --keep_checkpoint_max=-2
expect_error '--on_nonfinite must be stop or skip' "${train[@]}" --train_dir=absurd --on_nonfinite=maybe
[[ ! -e absurd ]] || fail "a refused run left absurd/"

# No examples (an empty file; every record skipped as corrupt): an error, no model.ckpt-0.
mkdir empty && : > empty/train0000.tfrecord
expect_error 'no training examples in the 1 file' \
  "$BIN/y8m-train" --train_data_pattern='empty/*.tfrecord' --train_dir=none "${SMALL_MODEL[@]}"
head -c 3000 data/frame/train0000.tfrecord > empty/train0001.tfrecord
printf 'XXXXXXXX' | dd of=empty/train0001.tfrecord bs=1 seek=20 conv=notrunc 2>/dev/null
expect_error 'no training examples in the 2 file.*corrupt records skipped' \
  "$BIN/y8m-train" --train_data_pattern='empty/*.tfrecord' --train_dir=none "${SMALL_MODEL[@]}" \
  --corrupt_records=skip
[[ ! -e none ]] || fail "a run without examples left none/"
echo train reliability ok
