// Devices (names, availability), memory accounting on the CPU, pinned host tensors and the per-step
// Workspace. The CPU counters are process-wide, so every check is relative to a snapshot taken in
// the test (gtest runs tests one after another on one thread).
#include "engine/device.h"
#include "engine/memory.h"
#include "engine/tensor.h"
#include "engine/workspace.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace y8m::engine {
namespace {

using testing::error_of;

TEST(Device, ParsesGoodNames) {
  EXPECT_EQ(device_from_name("cpu"), Device::cpu());
  EXPECT_EQ(device_from_name("cuda"), Device::cuda(0));
  EXPECT_EQ(device_from_name("gpu"), Device::cuda(0));
  EXPECT_EQ(device_from_name("cuda:0"), Device::cuda(0));
  EXPECT_EQ(device_from_name("cuda:3").index, 3);
  EXPECT_TRUE(device_from_name("cuda:3").is_cuda());
  EXPECT_EQ(device_from_name("gpu:12"), Device::cuda(12));
  EXPECT_EQ(Device::cuda(2).str(), "cuda:2");
  EXPECT_EQ(Device::cpu().str(), "cpu");
  EXPECT_NE(Device::cuda(0), Device::cuda(1));
  EXPECT_NE(Device::cpu(), Device::cuda(0));
  EXPECT_EQ((Device{DeviceType::CPU, 5}), Device::cpu());  // the CPU has no ordinal
}

TEST(Device, RejectsBadNamesNamingThem) {
  for (const char* bad : {"", "CPU", "tpu", "cuda:", "cuda:-1", "cuda:1x", "cuda: 1", "cuda:+1",
                          "cuda:99999999999", "gpu:a", "cpu:0", "cuda0"}) {
    const std::string msg = error_of([&] { device_from_name(bad); });
    EXPECT_EQ(msg.rfind("device: ", 0), 0u) << bad << ": " << msg;
    EXPECT_NE(msg.find(std::string("'") + bad + "'"), std::string::npos) << msg;
  }
}

TEST(Device, AvailabilityIsConsistent) {
  const int n = cuda_device_count();
  EXPECT_GE(n, 0);
  if (!cuda_built()) {
    EXPECT_EQ(n, 0);
  }
  EXPECT_EQ(default_device(), n > 0 ? Device::cuda(0) : Device::cpu());
  if (n == 0) {
    EXPECT_FALSE(cuda_unavailable_reason().empty());
  } else {
    EXPECT_TRUE(cuda_unavailable_reason().empty());
  }
}

TEST(Device, CudaTensorWithoutDeviceFailsWithReason) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  const std::string msg = error_of([] { Tensor::zeros({2}, DType::f32, Device::cuda(0)); });
  EXPECT_NE(msg.find("cuda:0"), std::string::npos) << msg;
  EXPECT_NE(msg.find(cuda_built() ? "CUDA" : "without CUDA"), std::string::npos) << msg;
  EXPECT_FALSE(error_of([] { Tensor::zeros({2}).to(Device::cuda(0)); }).empty());
}

TEST(MemoryStats, CpuCurrentFollowsAllocationsAndFrees) {
  const MemoryStats s0 = memory_stats(Device::cpu());
  {
    Tensor a = Tensor::empty({1000}, DType::f32);
    const MemoryStats s1 = memory_stats(Device::cpu());
    EXPECT_EQ(s1.current_bytes - s0.current_bytes, 4000);
    EXPECT_EQ(s1.num_allocs - s0.num_allocs, 1);
    {
      Tensor b = Tensor::empty({3, 7}, DType::f64);
      EXPECT_EQ(memory_stats(Device::cpu()).current_bytes - s0.current_bytes, 4000 + 168);
      // Views and handle copies allocate nothing.
      Tensor v = b.reshape({-1}).slice_rows(2, 5);
      Tensor c = b;
      EXPECT_EQ(memory_stats(Device::cpu()).current_bytes - s0.current_bytes, 4000 + 168);
      EXPECT_EQ(memory_stats(Device::cpu()).num_allocs - s0.num_allocs, 2);
      b = Tensor();
      c = Tensor();
      // The view still holds the storage.
      EXPECT_EQ(memory_stats(Device::cpu()).current_bytes - s0.current_bytes, 4000 + 168);
    }
    EXPECT_EQ(memory_stats(Device::cpu()).current_bytes - s0.current_bytes, 4000);
  }
  EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, s0.current_bytes);
}

TEST(MemoryStats, EmptyTensorsCountOneByte) {
  const int64_t before = memory_stats(Device::cpu()).current_bytes;
  Tensor z = Tensor::empty({0, 4});
  EXPECT_EQ(memory_stats(Device::cpu()).current_bytes - before, 1);
  z = Tensor();
  EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, before);
}

TEST(MemoryStats, PeakAndReset) {
  reset_peak_memory(Device::cpu());
  const MemoryStats s0 = memory_stats(Device::cpu());
  EXPECT_EQ(s0.peak_bytes, s0.current_bytes);
  {
    Tensor a = Tensor::empty({1 << 20}, DType::u8);
    Tensor b = Tensor::empty({1 << 18}, DType::f32);
  }
  {
    Tensor c = Tensor::empty({1 << 10}, DType::u8);
    const MemoryStats s1 = memory_stats(Device::cpu());
    EXPECT_EQ(s1.current_bytes - s0.current_bytes, 1 << 10);
    EXPECT_EQ(s1.peak_bytes - s0.current_bytes, 2 << 20);  // a and b together
    reset_peak_memory(Device::cpu());
    EXPECT_EQ(memory_stats(Device::cpu()).peak_bytes, s1.current_bytes);
  }
  // The peak stays after the free until the next reset.
  EXPECT_EQ(memory_stats(Device::cpu()).peak_bytes - s0.current_bytes, 1 << 10);
  reset_peak_memory(Device::cpu());
  EXPECT_EQ(memory_stats(Device::cpu()).peak_bytes, s0.current_bytes);
}

TEST(MemoryStats, RawAllocateIsAlignedAndCounted) {
  const int64_t before = memory_stats(Device::cpu()).current_bytes;
  void* p = allocate(100, Device::cpu());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kCpuAlignment, 0u);
  EXPECT_EQ(memory_stats(Device::cpu()).current_bytes - before, 100);
  deallocate(p, 100, Device::cpu());
  deallocate(nullptr, 100, Device::cpu());  // a no-op
  EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, before);
  EXPECT_NE(error_of([] { memory_stats(Device::cuda(16)); }).find("bad device cuda:16"),
            std::string::npos);
}

TEST(Pinned, HostTensorsWorkWithoutCuda) {
  const int64_t before = memory_stats(Device::cpu()).current_bytes;
  {
    Tensor p = Tensor::empty({4, 8}, DType::f32, Device::cpu(), /*pinned=*/true);
    EXPECT_TRUE(p.is_pinned());
    EXPECT_TRUE(p.device().is_cpu());
    EXPECT_EQ(memory_stats(Device::cpu()).current_bytes - before, 128);
    p.fill(2.5);
    EXPECT_EQ(p.row(3).to_vector<float>(), std::vector<float>(8, 2.5f));
    EXPECT_TRUE(p.slice_rows(1, 2).is_pinned());
    Tensor c = p.clone();
    EXPECT_FALSE(c.is_pinned());
    EXPECT_EQ(c.to_vector<float>(), p.to_vector<float>());
  }
  EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, before);
  const std::string msg = error_of([] { Tensor::empty({2}, DType::f32, Device::cuda(0), true); });
  EXPECT_NE(msg.find("pinned memory is host memory, not cuda:0"), std::string::npos) << msg;
}

TEST(Workspace, BumpAllocatesAndGrowsToTheWholeStep) {
  Workspace ws(Device::cpu());
  EXPECT_EQ(ws.capacity(), 0u);
  // First step: nothing reserved yet, every request gets its own block.
  void* a = ws.get(100);
  void* b = ws.get(300);
  EXPECT_NE(a, b);
  EXPECT_EQ(ws.used(), 0u);
  ws.reset();
  EXPECT_EQ(ws.capacity(), 256u + 512u);  // requests rounded to 256 bytes, merged into one block
  EXPECT_EQ(ws.used(), 0u);

  // Steady state: the same requests come from the main block, back to back, allocating nothing.
  const int64_t allocs = memory_stats(Device::cpu()).num_allocs;
  for (int step = 0; step < 3; ++step) {
    char* p1 = static_cast<char*>(ws.get(100));
    char* p2 = static_cast<char*>(ws.get(300));
    EXPECT_EQ(p2 - p1, 256);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p1) % kCpuAlignment, 0u);
    EXPECT_EQ(ws.used(), 768u);
    ws.reset();
    EXPECT_EQ(ws.used(), 0u);
  }
  EXPECT_EQ(memory_stats(Device::cpu()).num_allocs, allocs);
  EXPECT_EQ(ws.capacity(), 768u);

  // A bigger step: the part that fits comes from the main block, the rest overflows, and the next
  // reset sizes the main block to the whole step.
  char* q1 = static_cast<char*>(ws.get(512));
  char* q2 = static_cast<char*>(ws.get(1000));  // does not fit in the remaining 256 bytes
  char* q3 = static_cast<char*>(ws.get(0));     // still fits in the main block (256 bytes)
  EXPECT_EQ(q3 - q1, 512);
  EXPECT_NE(q2, nullptr);
  EXPECT_EQ(ws.used(), 768u);
  ws.reset();
  EXPECT_EQ(ws.capacity(), 768u + 1024u);
  const int64_t allocs2 = memory_stats(Device::cpu()).num_allocs;
  ws.get(512);
  ws.get(1000);
  ws.get(0);
  EXPECT_EQ(ws.used(), 1792u);
  ws.reset();
  EXPECT_EQ(memory_stats(Device::cpu()).num_allocs, allocs2);
  // A smaller step never shrinks the block.
  ws.get(10);
  ws.reset();
  EXPECT_EQ(ws.capacity(), 1792u);
}

TEST(Workspace, MemoryIsWritableAndCounted) {
  const int64_t before = memory_stats(Device::cpu()).current_bytes;
  {
    Workspace ws(Device::cpu());
    char* p = static_cast<char*>(ws.get(1000));
    for (int i = 0; i < 1000; ++i) p[i] = static_cast<char>(i);
    EXPECT_EQ(memory_stats(Device::cpu()).current_bytes - before, 1024);
    ws.reset();
    EXPECT_EQ(memory_stats(Device::cpu()).current_bytes - before, 1024);
  }
  EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, before);
}

TEST(Workspace, ThreadWorkspaceIsOnePerDevice) {
  Workspace& w1 = thread_workspace(Device::cpu());
  Workspace& w2 = thread_workspace(Device::cpu());
  EXPECT_EQ(&w1, &w2);
  EXPECT_TRUE(w1.device().is_cpu());
}

}  // namespace
}  // namespace y8m::engine
