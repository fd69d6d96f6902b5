#include "engine/stream.h"

#include "engine/error.h"

#ifdef Y8M_WITH_CUDA
#include "engine/cuda_context.h"

#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>
#endif

namespace y8m::engine {

#ifdef Y8M_WITH_CUDA
namespace cuda {

namespace {
constexpr int kMaxDevices = 16;
// Per-device handles, created once on first use and kept for the life of the process (destroying
// streams at exit races with the driver's own teardown).
struct DeviceContext {
  std::once_flag once;
  cudaStream_t compute = nullptr;
  cudaStream_t copy = nullptr;
  cublasHandle_t cublas = nullptr;
};
std::array<DeviceContext, kMaxDevices>& contexts() {
  static std::array<DeviceContext, kMaxDevices> c;
  return c;
}
std::atomic<bool> g_tf32{false};

DeviceContext& context(int device) {
  Y8M_CHECK(device >= 0 && device < kMaxDevices && device < cuda_device_count(),
            "cuda: device cuda:{} does not exist ({} devices)", device, cuda_device_count());
  DeviceContext& c = contexts()[device];
  std::call_once(c.once, [&] {
    Y8M_CUDA_CHECK(cudaSetDevice(device));
    Y8M_CUDA_CHECK(cudaStreamCreateWithFlags(&c.compute, cudaStreamNonBlocking));
    Y8M_CUDA_CHECK(cudaStreamCreateWithFlags(&c.copy, cudaStreamNonBlocking));
    Y8M_CUBLAS_CHECK(cublasCreate(&c.cublas));
    Y8M_CUBLAS_CHECK(cublasSetStream(c.cublas, c.compute));
    Y8M_CUBLAS_CHECK(cublasSetMathMode(c.cublas, CUBLAS_PEDANTIC_MATH));
  });
  return c;
}
}  // namespace

void throw_cuda_error(cudaError_t err, const char* expr, const char* file, int line) {
  cudaGetLastError();
  Y8M_FAIL("CUDA error {} ({}) in {} at {}:{}", cudaGetErrorName(err), cudaGetErrorString(err),
           expr, file, line);
}

void throw_cublas_error(cublasStatus_t st, const char* expr, const char* file, int line) {
  Y8M_FAIL("cuBLAS error {} ({}) in {} at {}:{}", cublasGetStatusName(st),
           cublasGetStatusString(st), expr, file, line);
}

bool sync_after_launch() {
  static const bool on = [] {
    const char* v = std::getenv("Y8M_CUDA_SYNC_LAUNCHES");
    return v != nullptr && v[0] != '\0' && v[0] != '0';
  }();
  return on;
}

void check_launch(const char* kernel, const char* file, int line) {
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess && sync_after_launch()) err = cudaDeviceSynchronize();
  if (err != cudaSuccess) {
    Y8M_FAIL("CUDA kernel {} failed: {} ({}) at {}:{}", kernel, cudaGetErrorName(err),
             cudaGetErrorString(err), file, line);
  }
}

cudaStream_t compute_stream(int device) { return context(device).compute; }
cudaStream_t copy_stream(int device) { return context(device).copy; }

cublasHandle_t cublas_handle(int device) {
  DeviceContext& c = context(device);
  Y8M_CUBLAS_CHECK(cublasSetMathMode(
      c.cublas, g_tf32.load() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
  return c.cublas;
}

void set_tf32_enabled(bool on) { g_tf32.store(on); }
bool tf32_enabled() { return g_tf32.load(); }

void set_device(int device) {
  thread_local int current = -1;
  if (current != device) {
    Y8M_CUDA_CHECK(cudaSetDevice(device));
    current = device;
  }
}

}  // namespace cuda
#endif  // Y8M_WITH_CUDA

void synchronize(Device device) {
  if (device.is_cpu()) return;
#ifdef Y8M_WITH_CUDA
  cuda::set_device(device.index);
  Y8M_CUDA_CHECK(cudaStreamSynchronize(cuda::compute_stream(device.index)));
  Y8M_CUDA_CHECK(cudaStreamSynchronize(cuda::copy_stream(device.index)));
#else
  Y8M_FAIL("synchronize: {}", cuda_unavailable_reason());
#endif
}

Event::~Event() {
#ifdef Y8M_WITH_CUDA
  if (handle_ != nullptr) cudaEventDestroy(static_cast<cudaEvent_t>(handle_));
#endif
}

void Event::record(Device device, bool copy_stream) {
#ifdef Y8M_WITH_CUDA
  Y8M_CHECK(device.is_cuda(), "event: record needs a CUDA device, got {}", device.str());
  cuda::set_device(device.index);
  if (handle_ == nullptr) {
    cudaEvent_t e;
    Y8M_CUDA_CHECK(cudaEventCreate(&e));
    handle_ = e;
    device_ = device.index;
  }
  Y8M_CHECK(device_ == device.index, "event: recorded on cuda:{} before, now {}", device_,
            device.str());
  cudaStream_t s =
      copy_stream ? cuda::copy_stream(device.index) : cuda::compute_stream(device.index);
  Y8M_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(handle_), s));
#else
  (void)copy_stream;
  Y8M_FAIL("event: {} ({})", device.str(), cuda_unavailable_reason());
#endif
}

void Event::wait_on_compute(Device device) {
#ifdef Y8M_WITH_CUDA
  Y8M_CHECK(handle_ != nullptr, "event: wait on an event that was never recorded");
  Y8M_CUDA_CHECK(cudaStreamWaitEvent(cuda::compute_stream(device.index),
                                     static_cast<cudaEvent_t>(handle_), 0));
#else
  Y8M_FAIL("event: {} ({})", device.str(), cuda_unavailable_reason());
#endif
}

void Event::synchronize() {
#ifdef Y8M_WITH_CUDA
  if (handle_ != nullptr) Y8M_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(handle_)));
#endif
}

bool Event::done() const {
#ifdef Y8M_WITH_CUDA
  if (handle_ == nullptr) return true;
  const cudaError_t err = cudaEventQuery(static_cast<cudaEvent_t>(handle_));
  if (err == cudaErrorNotReady) {
    cudaGetLastError();  // not an error: leave no trace for the next launch check
    return false;
  }
  Y8M_CUDA_CHECK(err);
  return true;
#else
  return true;
#endif
}

float Event::elapsed_ms(const Event& start, const Event& end) {
#ifdef Y8M_WITH_CUDA
  Y8M_CHECK(start.handle_ != nullptr && end.handle_ != nullptr,
            "event: elapsed_ms on unrecorded events");
  float ms = 0.f;
  Y8M_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start.handle_),
                                      static_cast<cudaEvent_t>(end.handle_)));
  return ms;
#else
  (void)start;
  (void)end;
  Y8M_FAIL("event: {}", cuda_unavailable_reason());
#endif
}

}  // namespace y8m::engine
