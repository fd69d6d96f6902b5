# y8m-train --optimizer (issue 10): each tf.train optimizer trains, records itself in its checkpoints
# (TF slot names), resumes exactly (3 + 3 steps give the same checkpoint file, byte for byte, as 6
# straight), and refuses a resume with another --optimizer; an unknown name lists the five. EMA
# fine-tuning and distilled training run with a non-Adam optimizer.
source "$(dirname "$0")/lib.bash" "$@"
tiny_data
train=("$BIN/y8m-train" --train_data_pattern='../data/frame/train*.tfrecord' "${SMALL_MODEL[@]}")

# slot_names <checkpoint>: the optimizer tensors of the checkpoint, one per line.
slot_names() {
  "$BIN/y8m-inspect" --json "$1" | grep -Eo '"name": "optimizer/[^"]*"' | sed 's/.*"optimizer\///; s/"$//'
}

declare -A slot=([GradientDescentOptimizer]='' [MomentumOptimizer]='experts/biases/Momentum'
  [RMSPropOptimizer]='experts/biases/RMSProp_1' [AdagradOptimizer]='experts/biases/Adagrad'
  [AdamOptimizer]='experts/biases/Adam_1')
mkdir straight split
for opt in GradientDescentOptimizer MomentumOptimizer RMSPropOptimizer AdagradOptimizer AdamOptimizer; do
  # The same relative train_dir in two folders, so that the recorded flags agree too.
  (cd straight && expect_output 'done at step 6' "${train[@]}" --train_dir="$opt" --optimizer="$opt" \
    --max_steps=6)
  (cd split && expect_output 'done at step 3' "${train[@]}" --train_dir="$opt" --optimizer="$opt" \
    --max_steps=3)
  (cd split && expect_output "resuming from $opt/model.ckpt-3.y8m" "${train[@]}" --train_dir="$opt" \
    --optimizer="$opt" --max_steps=6)
  cmp "straight/$opt/model.ckpt-6.y8m" "split/$opt/model.ckpt-6.y8m" ||
    fail "$opt: 3 + 3 steps differ from 6 straight"
  "$BIN/y8m-inspect" --json "split/$opt/model.ckpt-6.y8m" | grep -q "\"optimizer\": \"$opt\"" ||
    fail "$opt: the checkpoint does not record its optimizer"
  if [[ -z ${slot[$opt]} ]]; then
    [[ -z $(slot_names "split/$opt/model.ckpt-6.y8m") ]] || fail "$opt: unexpected slots"
  else
    slot_names "split/$opt/model.ckpt-6.y8m" | grep -qx "${slot[$opt]}" ||
      fail "$opt: no slot ${slot[$opt]}"
  fi
done
# Different optimizers reach different weights.
! cmp -s straight/MomentumOptimizer/model.ckpt-6.y8m straight/RMSPropOptimizer/model.ckpt-6.y8m ||
  fail "Momentum and RMSProp gave the same checkpoint"

# A resume with another optimizer (the default included) is refused, naming both.
cd split
expect_error "--optimizer=AdagradOptimizer differs from the optimizer of the checkpoint being resumed \(MomentumOptimizer/model.ckpt-6.y8m: MomentumOptimizer\); pass --optimizer=MomentumOptimizer" \
  "${train[@]}" --train_dir=MomentumOptimizer --optimizer=AdagradOptimizer --max_steps=8
expect_error '--optimizer=AdamOptimizer differs from the optimizer of the checkpoint being resumed .*: RMSPropOptimizer' \
  "${train[@]}" --train_dir=RMSPropOptimizer --max_steps=8
[[ ! -e MomentumOptimizer/model.ckpt-8.y8m ]] || fail "a refused resume trained"
expect_error "^y8m-train: --optimizer: unknown optimizer 'FooOptimizer'; the tf.train optimizers y8m implements are GradientDescentOptimizer, MomentumOptimizer, RMSPropOptimizer, AdagradOptimizer, AdamOptimizer$" \
  "${train[@]}" --train_dir=foo --optimizer=FooOptimizer
[[ ! -e foo ]] || fail "a refused run left foo/"
expect_output 'done at step 2' "${train[@]}" --train_dir=mom05 --optimizer=MomentumOptimizer \
  --momentum=0.5 --max_steps=2

# EMA fine-tuning with RMSProp, resumed; distilled training with Momentum.
expect_output 'done at step 2' "$BIN/y8m-train" --train_data_pattern='../data/frame/train*.tfrecord' \
  --ema_source=AdamOptimizer/model.ckpt-6.y8m --ema_halflife=20 --train_dir=ema \
  --optimizer=RMSPropOptimizer --batch_size=32 --num_readers=1 --device=cpu --max_steps=2
expect_output 'resuming from ema/model.ckpt-2.y8m \(step 2\) with EMA shadows' \
  "$BIN/y8m-train" --train_data_pattern='../data/frame/train*.tfrecord' --train_dir=ema \
  --optimizer=RMSPropOptimizer --batch_size=32 --num_readers=1 --device=cpu --max_steps=3
slot_names ema/model.ckpt-3.y8m | grep -qx 'experts/biases/RMSProp' || fail "EMA run: no RMSProp slot"
"$BIN/y8m-eval" --train_dir=AdamOptimizer --eval_data_pattern='../data/frame/validate*.tfrecord' \
  --run_once --num_readers=1 --device=cpu >/dev/null
"$BIN/y8m-distill" --model_file=AdamOptimizer/inference_model.y8m \
  --input_data_pattern='../data/frame/train*.tfrecord' --output_dir=distill --device=cpu >/dev/null
expect_output 'done at step 2' "$BIN/y8m-train-distill" --train_data_pattern='distill/*.tfrecord' \
  "${SMALL_MODEL[@]}" --train_dir=student --optimizer=MomentumOptimizer --max_steps=2
slot_names student/model.ckpt-2.y8m | grep -qx 'experts/biases/Momentum' ||
  fail "distilled run: no Momentum slot"
echo optimizers ok
