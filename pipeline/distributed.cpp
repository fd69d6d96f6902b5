#include "pipeline/distributed.h"

#include "engine/error.h"

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>

#ifdef Y8M_HAVE_MPI
#include <mpi.h>
#endif
#ifdef Y8M_HAVE_NCCL
#include "engine/cuda_context.h"

#include <cuda_runtime.h>
#include <nccl.h>
#endif

namespace y8m::pipeline {

namespace {

// An integer environment variable, or -1 when unset.
int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : -1;
}

// Size, rank and local rank from the variables the launchers set (Open MPI, PMIx, PMI/Slurm).
struct Launch {
  int size = 1, rank = 0, local_rank = 0;
  std::string variable;  // the variable that gave the size
};

Launch launch_from_environment() {
  Launch l;
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"}) {
    if (env_int(v) > 0) {
      l.size = env_int(v);
      l.variable = v;
      break;
    }
  }
  for (const char* v : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"})
    if (env_int(v) >= 0) {
      l.rank = env_int(v);
      break;
    }
  for (const char* v : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (env_int(v) >= 0) {
      l.local_rank = env_int(v);
      break;
    }
  return l;
}

class SingleCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  std::string backend() const override { return "single"; }
  void allreduce_sum(float*, size_t) override {}
  void allreduce_sum(double*, size_t) override {}
  void allreduce_sum(const std::vector<Tensor>&) override {}
  void broadcast(void*, size_t, int root) override {
    Y8M_CHECK(root == 0, "broadcast: root {} of a single process", root);
  }
  void barrier() override {}
  std::vector<std::string> gather(const std::string& bytes, int root) override {
    Y8M_CHECK(root == 0, "gather: root {} of a single process", root);
    return {bytes};
  }
  [[noreturn]] void abort(const std::string& message) override {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
    std::exit(1);
  }
};

#ifdef Y8M_HAVE_MPI
void mpi_check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  Y8M_FAIL("{}: {}", call, std::string(text, static_cast<size_t>(len)));
}

// Buffers larger than INT_MAX elements go in pieces (MPI counts are int).
constexpr size_t kMaxCount = size_t{1} << 30;

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(int local_rank) : local_rank_(local_rank) {
    int provided = 0;
    // Only the main thread calls MPI (the reader's threads never do).
    mpi_check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    // Errors come back as codes (mpi_check), so that they are reported like any other.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  std::string backend() const override { return "mpi"; }
  void allreduce_sum(float* data, size_t n) override { reduce_bcast(data, n, MPI_FLOAT, 4); }
  void allreduce_sum(double* data, size_t n) override { reduce_bcast(data, n, MPI_DOUBLE, 8); }
  void broadcast(void* data, size_t bytes, int root) override {
    char* p = static_cast<char*>(data);
    for (size_t done = 0; done < bytes; done += kMaxCount) {
      const int count = static_cast<int>(std::min(kMaxCount, bytes - done));
      mpi_check(MPI_Bcast(p + done, count, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    }
  }
  void barrier() override { mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
  std::vector<std::string> gather(const std::string& bytes, int root) override {
    Y8M_CHECK(bytes.size() < kMaxCount * 2, "gather: {} bytes from one rank is too many",
              bytes.size());
    const int mine = static_cast<int>(bytes.size());
    std::vector<int> sizes(static_cast<size_t>(size_));
    mpi_check(MPI_Gather(&mine, 1, MPI_INT, sizes.data(), 1, MPI_INT, root, MPI_COMM_WORLD),
              "MPI_Gather");
    std::vector<int> displs(static_cast<size_t>(size_), 0);
    std::string all;
    if (rank_ == root) {
      int64_t total = 0;
      for (int r = 0; r < size_; ++r) {
        Y8M_CHECK(total + sizes[static_cast<size_t>(r)] <= INT32_MAX,
                  "gather: more than 2 GiB in all");
        displs[static_cast<size_t>(r)] = static_cast<int>(total);
        total += sizes[static_cast<size_t>(r)];
      }
      all.resize(static_cast<size_t>(total));
    }
    mpi_check(MPI_Gatherv(bytes.data(), mine, MPI_BYTE, all.data(), sizes.data(), displs.data(),
                          MPI_BYTE, root, MPI_COMM_WORLD),
              "MPI_Gatherv");
    std::vector<std::string> out;
    if (rank_ == root)
      for (int r = 0; r < size_; ++r)
        out.emplace_back(all.substr(static_cast<size_t>(displs[static_cast<size_t>(r)]),
                                    static_cast<size_t>(sizes[static_cast<size_t>(r)])));
    return out;
  }
  [[noreturn]] void abort(const std::string& message) override {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
    std::fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::exit(1);  // MPI_Abort does not return; this keeps [[noreturn]] honest
  }

 private:
  // Sum at rank 0, then broadcast: every rank gets the same bits.
  void reduce_bcast(void* data, size_t n, MPI_Datatype type, size_t elem) {
    char* p = static_cast<char*>(data);
    for (size_t done = 0; done < n; done += kMaxCount) {
      const int count = static_cast<int>(std::min(kMaxCount, n - done));
      void* chunk = p + done * elem;
      mpi_check(MPI_Reduce(rank_ == 0 ? MPI_IN_PLACE : chunk, chunk, count, type, MPI_SUM, 0,
                           MPI_COMM_WORLD),
                "MPI_Reduce");
      mpi_check(MPI_Bcast(chunk, count, type, 0, MPI_COMM_WORLD), "MPI_Bcast");
    }
  }

  int rank_ = 0, size_ = 1, local_rank_ = 0;
};
#endif  // Y8M_HAVE_MPI

#ifdef Y8M_HAVE_NCCL
void nccl_check(ncclResult_t rc, const char* call) {
  Y8M_CHECK(rc == ncclSuccess, "{}: {}", call, ncclGetErrorString(rc));
}

// Device tensors with NCCL; host collectives through the bootstrap communicator.
class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(Communicator& host, Device device) : host_(host), device_(device) {
    Y8M_CHECK(device.is_cuda(), "NCCL: needs a CUDA device, got {}", device.str());
    ncclUniqueId id;
    if (host.is_root()) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    host.broadcast(&id, sizeof(id), 0);
    Y8M_CUDA_CHECK(cudaSetDevice(device.index));
    nccl_check(ncclCommInitRank(&comm_, host.size(), id, host.rank()), "ncclCommInitRank");
  }
  ~NcclCommunicator() override { ncclCommDestroy(comm_); }
  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }
  int local_rank() const override { return host_.local_rank(); }
  std::string backend() const override { return "nccl"; }
  void allreduce_sum(float* data, size_t n) override { host_.allreduce_sum(data, n); }
  void allreduce_sum(double* data, size_t n) override { host_.allreduce_sum(data, n); }
  void allreduce_sum(const std::vector<Tensor>& tensors) override {
    std::vector<Tensor> on_host;
    const cudaStream_t stream = engine::cuda::compute_stream(device_.index);
    nccl_check(ncclGroupStart(), "ncclGroupStart");
    for (const Tensor& t : tensors) {
      if (!t.device().is_cuda()) {
        on_host.push_back(t);
        continue;
      }
      Y8M_CHECK(t.dtype() == DType::f32, "allreduce_sum: f32 tensors only, got {}", t.str());
      nccl_check(ncclAllReduce(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()),
                               ncclFloat, ncclSum, comm_, stream),
                 "ncclAllReduce");
    }
    nccl_check(ncclGroupEnd(), "ncclGroupEnd");
    Y8M_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (!on_host.empty()) Communicator::allreduce_sum(on_host);
  }
  void broadcast(void* data, size_t bytes, int root) override {
    host_.broadcast(data, bytes, root);
  }
  void barrier() override { host_.barrier(); }
  std::vector<std::string> gather(const std::string& bytes, int root) override {
    return host_.gather(bytes, root);
  }
  [[noreturn]] void abort(const std::string& message) override {
    host_.abort(message);
    std::exit(1);  // not reached
  }

 private:
  Communicator& host_;
  Device device_;
  ncclComm_t comm_ = nullptr;
};
#endif  // Y8M_HAVE_NCCL

// What the communicators of one thread group share: a reusable barrier and one slot per rank.
struct ThreadGroupState {
  explicit ThreadGroupState(int n)
      : size(n), slots(static_cast<size_t>(n)), strings(static_cast<size_t>(n)) {}
  void barrier() {
    std::unique_lock<std::mutex> l(mu);
    const uint64_t gen = generation;
    if (++arrived == size) {
      arrived = 0;
      ++generation;
      cv.notify_all();
    } else {
      cv.wait(l, [&] { return generation != gen; });
    }
  }
  const int size;
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  uint64_t generation = 0;
  std::vector<const void*> slots;
  std::vector<std::string> strings;
};

// Rank `rank` of a group of threads in this process (--num_gpu towers). A sum reads every rank's
// buffer in rank order into a private total before any rank writes, so every rank gets the same
// bits; abort ends the process, as MPI_Abort ends the job.
class ThreadCommunicator : public Communicator {
 public:
  ThreadCommunicator(std::shared_ptr<ThreadGroupState> s, int rank)
      : s_(std::move(s)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return s_->size; }
  int local_rank() const override { return rank_; }
  std::string backend() const override { return "threads"; }
  void allreduce_sum(float* data, size_t n) override { sum(data, n); }
  void allreduce_sum(double* data, size_t n) override { sum(data, n); }
  using Communicator::allreduce_sum;
  void broadcast(void* data, size_t bytes, int root) override {
    if (rank_ == root) s_->slots[static_cast<size_t>(root)] = data;
    s_->barrier();
    if (rank_ != root && bytes > 0) std::memcpy(data, s_->slots[static_cast<size_t>(root)], bytes);
    s_->barrier();
  }
  using Communicator::broadcast;
  void barrier() override { s_->barrier(); }
  std::vector<std::string> gather(const std::string& bytes, int root) override {
    s_->strings[static_cast<size_t>(rank_)] = bytes;
    s_->barrier();
    std::vector<std::string> out;
    if (rank_ == root) out = s_->strings;
    s_->barrier();
    return out;
  }
  [[noreturn]] void abort(const std::string& message) override {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
    std::fflush(stdout);
    std::_Exit(1);
  }

 private:
  template <class T>
  void sum(T* data, size_t n) {
    s_->slots[static_cast<size_t>(rank_)] = data;
    s_->barrier();
    std::vector<T> total(n, T(0));
    for (int r = 0; r < s_->size; ++r) {
      const T* x = static_cast<const T*>(s_->slots[static_cast<size_t>(r)]);
      for (size_t i = 0; i < n; ++i) total[i] += x[i];
    }
    s_->barrier();  // every rank has read every buffer
    std::memcpy(data, total.data(), n * sizeof(T));
  }

  std::shared_ptr<ThreadGroupState> s_;
  int rank_;
};

thread_local Communicator* t_world = nullptr;

std::unique_ptr<Communicator> make_world() {
  const Launch l = launch_from_environment();
  if (l.size <= 1) return make_single_communicator();
#ifdef Y8M_HAVE_MPI
  return std::make_unique<MpiCommunicator>(l.local_rank);
#else
  Y8M_FAIL(
      "started as rank {} of {} ({}={}), but this y8m was built without MPI: install "
      "libopenmpi-dev (scripts/install-deps.sh) and rebuild, or run a single process",
      l.rank, l.size, l.variable, l.size);
#endif
}

}  // namespace

void Communicator::allreduce_sum(const std::vector<Tensor>& tensors) {
  size_t total = 0;
  for (const Tensor& t : tensors) {
    Y8M_CHECK(t.dtype() == DType::f32, "allreduce_sum: f32 tensors only, got {}", t.str());
    total += static_cast<size_t>(t.numel());
  }
  std::vector<float> buf(total);
  size_t off = 0;
  for (const Tensor& t : tensors) {
    const Tensor h = t.to(Device::cpu());
    std::memcpy(buf.data() + off, h.data<float>(), h.nbytes());
    off += static_cast<size_t>(t.numel());
  }
  allreduce_sum(buf.data(), total);
  off = 0;
  for (const Tensor& t : tensors) {
    if (t.device().is_cpu()) {
      std::memcpy(t.data_ptr(), buf.data() + off, t.nbytes());
    } else {
      Tensor h = Tensor::empty(t.shape(), DType::f32, Device::cpu());
      std::memcpy(h.data_ptr(), buf.data() + off, h.nbytes());
      Tensor dst = t;
      dst.copy_from(h);
    }
    off += static_cast<size_t>(t.numel());
  }
}

std::string Communicator::broadcast(std::string s, int root) {
  uint64_t n = broadcast(static_cast<uint64_t>(s.size()), root);
  s.resize(static_cast<size_t>(n));
  if (n > 0) broadcast(s.data(), s.size(), root);
  return s;
}

uint64_t Communicator::broadcast(uint64_t v, int root) {
  broadcast(&v, sizeof(v), root);
  return v;
}

Communicator& world() {
  if (t_world != nullptr) return *t_world;
  static std::unique_ptr<Communicator> comm = make_world();
  return *comm;
}

ScopedWorld::ScopedWorld(Communicator& comm) : previous_(t_world) { t_world = &comm; }
ScopedWorld::~ScopedWorld() { t_world = previous_; }

std::vector<std::unique_ptr<Communicator>> make_thread_group(int n) {
  Y8M_CHECK(n >= 1, "make_thread_group: {} ranks", n);
  auto state = std::make_shared<ThreadGroupState>(n);
  std::vector<std::unique_ptr<Communicator>> out;
  for (int r = 0; r < n; ++r) out.push_back(std::make_unique<ThreadCommunicator>(state, r));
  return out;
}

std::unique_ptr<Communicator> make_single_communicator() {
  return std::make_unique<SingleCommunicator>();
}

bool have_mpi() {
#ifdef Y8M_HAVE_MPI
  return true;
#else
  return false;
#endif
}

bool have_nccl() {
#ifdef Y8M_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& bootstrap, Device device) {
#ifdef Y8M_HAVE_NCCL
  return std::make_unique<NcclCommunicator>(bootstrap, device);
#else
  (void)bootstrap;
  Y8M_FAIL(
      "NCCL for {}: this y8m was built without NCCL (it needs the CUDA toolkit's nccl.h and MPI)",
      device.str());
#endif
}

Device rank_default_device(const Communicator& comm) {
  const int gpus = engine::cuda_device_count();
  if (gpus == 0) return Device::cpu();
  return Device::cuda(comm.local_rank() % gpus);
}

int run_on_ranks(const char* app, const std::function<int()>& body) {
  Communicator* comm = nullptr;
  try {
    comm = &world();
    return body();
  } catch (const std::exception& e) {
    if (comm == nullptr || comm->size() == 1) throw;
    comm->abort(fmt::format("{}: rank {} of {}: {}", app, comm->rank(), comm->size(), e.what()));
  }
  return 1;  // not reached
}

void for_each_sharded_batch(Communicator& comm, io::Reader& reader, engine::Generator& gen,
                            const std::function<void(const io::Batch&, engine::Generator&)>& fn) {
  io::Batch batch;
  bool have = reader.next(&batch);
  if (comm.size() == 1) {
    for (; have; have = reader.next(&batch)) fn(batch, gen);
    return;
  }
  const uint64_t seed = gen.seed(), base = gen.offset();
  const int64_t full = reader.options().batch_size;
  uint64_t per_batch = 0;
  if (comm.is_root() && have) {
    Y8M_CHECK(batch.index == 0, "sharded reading: rank 0 got batch {} first", batch.index);
    fn(batch, gen);
    per_batch = gen.offset() - base;
    have = reader.next(&batch);
  }
  per_batch = comm.broadcast(per_batch, 0);
  for (; have; have = reader.next(&batch)) {
    const uint64_t start = base + static_cast<uint64_t>(batch.index) * per_batch;
    gen.set_state(seed, start);
    fn(batch, gen);
    Y8M_CHECK(batch.size < full || gen.offset() - start == per_batch,
              "sharded reading: batch {} drew {} random counters, batch 0 {}; the ranks cannot "
              "reproduce one process's frame sampling",
              batch.index, gen.offset() - start, per_batch);
  }
}

int64_t shard_examples(int64_t total, int64_t batch, int shards, int shard) {
  int64_t n = 0;
  for (int64_t k = shard; k * batch < total; k += shards) n += std::min(batch, total - k * batch);
  return n;
}

uint64_t tensors_checksum(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 0x100000001b3ull;
    }
  };
  for (const auto& [name, t] : tensors) {
    mix(name.data(), name.size());
    const Tensor c = t.to(Device::cpu());
    mix(c.data_ptr(), c.nbytes());
  }
  return h;
}

void check_same_on_all_ranks(Communicator& comm,
                             const std::vector<std::pair<std::string, Tensor>>& tensors,
                             const std::string& what) {
  if (comm.size() == 1) return;
  const uint64_t mine = tensors_checksum(tensors);
  const uint64_t root = comm.broadcast(mine, 0);
  Y8M_CHECK(mine == root, "{} differ from rank 0's (checksum {:016x}, rank 0 {:016x})", what, mine,
            root);
}

}  // namespace y8m::pipeline
