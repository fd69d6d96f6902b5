# A build without MPI: a process started as one of several ranks fails with one line saying so (no
# train_dir, no CSV left). (--num_gpu towers need no MPI: app.towers.) Skipped (exit 77) in builds with MPI (mpi_data_parallel
# covers them).
source "$(dirname "$0")/lib.bash" "$@"
if has_mpi "$BIN/y8m-train"; then
  echo "skipped: this build has MPI (see app.mpi_data_parallel)"
  exit 77
fi
tiny_data
expect_error "^y8m-train: started as rank 1 of 2 \(OMPI_COMM_WORLD_SIZE=2\), but this y8m was built without MPI" \
  env OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=1 "$BIN/y8m-train" --train_dir=run \
  --train_data_pattern='data/frame/train*' "${SMALL_MODEL[@]}"
[[ ! -e run ]] || fail "a train_dir was left"
expect_error "^y8m-infer: started as rank 0 of 3 \(PMIX_SIZE=3\)" \
  env PMIX_SIZE=3 PMIX_RANK=0 "$BIN/y8m-infer" --train_dir=run --input_data_pattern='data/frame/test*' \
  --output_file=a.csv
[[ ! -e a.csv ]] || fail "a CSV was left"
echo "mpi_absent: ok"
