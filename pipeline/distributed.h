// Data parallelism across processes: the communication layer that training, inference and
// distillation share (README "Training on several GPUs or machines").
//
// A process started by an MPI launcher (mpirun, srun --mpi=pmix: OMPI_COMM_WORLD_SIZE, PMIX_SIZE
// or PMI_SIZE in the environment) with more than one rank gets the MPI backend (built when CMake
// finds MPI: Y8M_HAVE_MPI); any other process gets the single-process backend, whose collectives
// return their input. A build without MPI started as one of several ranks fails with one line
// saying so.
//
// Sums are bitwise identical on every rank: the MPI backend reduces to rank 0 and broadcasts the
// result, the NCCL backend (Y8M_HAVE_NCCL, device buffers) uses ring all-reduce, which hands every
// rank the same chunks. Identical sums keep the weights identical after every optimizer step.
#pragma once

#include "engine/device.h"
#include "engine/rng.h"
#include "engine/tensor.h"
#include "io/reader.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace y8m::pipeline {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // The rank among the processes of this machine (OMPI_COMM_WORLD_LOCAL_RANK and the like).
  virtual int local_rank() const = 0;
  virtual std::string backend() const = 0;  // "single", "mpi", "nccl"

  // Host buffers, summed over the ranks in place.
  virtual void allreduce_sum(float* data, size_t n) = 0;
  virtual void allreduce_sum(double* data, size_t n) = 0;
  // f32 tensors on any device, summed in place. This default stages them through one host buffer
  // (one reduction for all); the NCCL backend reduces device tensors where they are.
  virtual void allreduce_sum(const std::vector<Tensor>& tensors);
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Every rank's bytes, in rank order, on `root` (an empty vector elsewhere).
  virtual std::vector<std::string> gather(const std::string& bytes, int root) = 0;
  // Prints `message` (one line) to stderr and ends every rank of the job with exit status 1.
  [[noreturn]] virtual void abort(const std::string& message) = 0;

  bool is_root() const { return rank() == 0; }
  std::string broadcast(std::string s, int root);
  uint64_t broadcast(uint64_t v, int root);
};

// The process's communicator, created on first use from the environment (above); on a thread
// inside a ScopedWorld, that one.
Communicator& world();

// Makes world() return `comm` on this thread while it lives (the towers of --num_gpu).
class ScopedWorld {
 public:
  explicit ScopedWorld(Communicator& comm);
  ~ScopedWorld();
  ScopedWorld(const ScopedWorld&) = delete;
  ScopedWorld& operator=(const ScopedWorld&) = delete;

 private:
  Communicator* previous_;
};

// N communicators for N threads of this process, rank r for the r-th (y8m-train --num_gpu=N:
// one tower per thread and device). Collectives block until every rank calls them; sums are
// identical on every rank (rank order); abort ends the process. Host buffers only: CUDA tensors
// are staged through the host, or reduced by make_nccl_communicator bootstrapped from the group.
std::vector<std::unique_ptr<Communicator>> make_thread_group(int n);

// The single-process backend (rank 0 of 1).
std::unique_ptr<Communicator> make_single_communicator();

// Whether this build has the MPI / NCCL backends.
bool have_mpi();
bool have_nccl();

// A communicator that reduces CUDA tensors of `device` with NCCL among the ranks of `bootstrap`
// (which broadcasts NCCL's unique id and carries every host collective). Throws in builds without
// NCCL, and for a CPU device.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& bootstrap, Device device);

// The device of a rank when --device is not given: cuda:<local rank modulo the GPUs> when GPUs are
// present, else the CPU.
Device rank_default_device(const Communicator& comm);

// Runs an app's body on every rank. In a job of several ranks an exception is reported as
// "<app>: rank <r> of <P>: <what>" and ends the whole job (MPI_Abort, exit status 1); in a
// single process it propagates (apps::run_app prints it).
int run_on_ranks(const char* app, const std::function<int()>& body);

// Runs fn on each batch an evaluation-mode reader sharded over the ranks delivers (ReaderOptions
// num_shards = comm.size(), shard = comm.rank(): batches k with k % P == rank), with `gen` at the
// state the single process's generator has before batch k: the process predicts what one process
// would, so inference is byte-identical however many ranks run it. Frame sampling draws the same
// number of counters for every batch of one shape: rank 0 runs batch 0 and broadcasts its count c,
// and batch k starts at offset k * c (checked on every full batch). A single process runs the
// batches in order with gen as is.
void for_each_sharded_batch(Communicator& comm, io::Reader& reader, engine::Generator& gen,
                            const std::function<void(const io::Batch&, engine::Generator&)>& fn);

// Examples in the batches of `shard` when `total` examples in batches of `batch` are shared
// round-robin among `shards` (for progress lines).
int64_t shard_examples(int64_t total, int64_t batch, int shards, int shard);

// A 64-bit FNV-1a hash of the tensors' bytes (names included), for checking that ranks hold the
// same weights.
uint64_t tensors_checksum(const std::vector<std::pair<std::string, Tensor>>& tensors);
// Fails on every rank whose tensors differ from rank 0's, naming `what`.
void check_same_on_all_ranks(Communicator& comm,
                             const std::vector<std::pair<std::string, Tensor>>& tensors,
                             const std::string& what);

}  // namespace y8m::pipeline
