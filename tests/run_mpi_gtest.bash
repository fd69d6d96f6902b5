#!/usr/bin/env bash
# Runs a GoogleTest executable on 2 MPI ranks: run_mpi_gtest.bash <executable> <scratch folder>.
# Exits 77 (ctest: skipped) without mpirun; fails when any rank fails.
exe=$(realpath "$1")
source "$(dirname "$0")/apps/lib.bash" "$(dirname "$exe")" "$2"
need_mpi "$exe"
mpirun_local 2 "$exe"
