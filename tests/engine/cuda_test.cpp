// The engine on a CUDA device: host/device copies, casts, fills, memory accounting and
// out-of-memory messages, events, and CPU/CUDA parity of the random fills (uniform bit-exact,
// normal within 1e-6). Every test skips with the reason when no device is usable; the CPU-only
// checks of the same API (errors without a device) run everywhere.
#include "engine/device.h"
#include "engine/memory.h"
#include "engine/rng.h"
#include "engine/stream.h"
#include "engine/tensor.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace y8m::engine {
namespace {

using testing::error_of;

const Device kGpu = Device::cuda(0);

TEST(CudaEvent, NeedsACudaDevice) {
  Event e;
  EXPECT_THROW(e.record(Device::cpu()), Error);
  EXPECT_NO_THROW(synchronize(Device::cpu()));
  EXPECT_NO_THROW(e.synchronize());  // never recorded: nothing to wait for
  if (cuda_device_count() == 0) {
    EXPECT_THROW(e.record(kGpu), Error);
  }
}

TEST(CudaTensor, RoundTripAndViews) {
  Y8M_REQUIRE_CUDA();
  std::vector<float> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.25f - 7.f;
  Tensor h = Tensor::from_vector(v, {100, 10});
  Tensor d = h.to(kGpu);
  EXPECT_TRUE(d.device().is_cuda());
  EXPECT_EQ(d.str(), "f32[100, 10] on cuda:0");
  EXPECT_TRUE(d.to(kGpu).same(d));
  EXPECT_EQ(d.to_vector<float>(), v);
  EXPECT_EQ(d.to(Device::cpu()).to_vector<float>(), v);
  // Views of device tensors copy the right rows.
  EXPECT_EQ(d.slice_rows(7, 8).to_vector<float>(),
            std::vector<float>(v.begin() + 70, v.begin() + 80));
  EXPECT_EQ(d.row(99).to_vector<float>(), std::vector<float>(v.begin() + 990, v.end()));
}

TEST(CudaTensor, CopiesFillsAndRawHelpers) {
  Y8M_REQUIRE_CUDA();
  Tensor d = Tensor::zeros({4, 3}, DType::f32, kGpu);
  EXPECT_EQ(d.to_vector<float>(), std::vector<float>(12, 0.f));
  d.slice_rows(1, 2).fill(5);
  EXPECT_EQ(d.to_vector<float>()[3], 5.f);
  EXPECT_EQ(d.to_vector<float>()[6], 0.f);
  Tensor c = d.clone();
  EXPECT_FALSE(c.shares_storage(d));
  EXPECT_EQ(c.to_vector<float>(), d.to_vector<float>());
  // Host -> device copy into a view, device -> host copy from a view.
  d.slice_rows(2, 4).copy_from(Tensor::full({6}, -1.5));
  Tensor back = Tensor::zeros({2, 3});
  back.copy_from(d.slice_rows(2, 4));
  EXPECT_EQ(back.to_vector<float>(), std::vector<float>(6, -1.5f));
  for (DType dt :
       {DType::u8, DType::i8, DType::i32, DType::i64, DType::f16, DType::bf16, DType::f64}) {
    EXPECT_EQ(Tensor::full({33}, 3, dt, kGpu).to_vector<double>(), std::vector<double>(33, 3.0))
        << dtype_name(dt);
  }
  Tensor a = Tensor::full({1000}, 1.5, DType::f32, kGpu);
  Tensor s = add(a, a);
  scale_(s, 2.0);
  EXPECT_EQ(s.to_vector<float>(), std::vector<float>(1000, 6.f));
  const std::string msg = error_of([&] { add(a, Tensor::full({1000}, 1.5)); });
  EXPECT_NE(msg.find("different devices"), std::string::npos) << msg;
}

TEST(CudaTensor, CastsMatchTheCpuBitForBit) {
  Y8M_REQUIRE_CUDA();
  const int64_t n = 4099;
  Tensor src = Tensor::empty({n});
  fill_normal(src, 1, 0, 0.0, 30000.0);  // includes values that overflow f16
  src.data<float>()[0] = 5.96e-8f;       // and an f16 subnormal, a tie and a signed zero
  src.data<float>()[1] = 65520.f;
  src.data<float>()[2] = -0.f;
  Tensor dsrc = src.to(kGpu);
  for (DType dt : {DType::f16, DType::bf16, DType::f64}) {
    Tensor cpu = src.to(dt), gpu = dsrc.to(dt);
    EXPECT_EQ(gpu.device(), kGpu);
    ASSERT_EQ(gpu.to(Device::cpu()).to_vector<double>(), cpu.to_vector<double>()) << dtype_name(dt);
    // And back to f32.
    EXPECT_EQ(gpu.to(DType::f32).to_vector<float>(), cpu.to(DType::f32).to_vector<float>())
        << dtype_name(dt);
  }
  const std::string msg = error_of([&] { Tensor::zeros({2}, DType::i32, kGpu).to(DType::f32); });
  EXPECT_NE(msg.find("not supported on CUDA"), std::string::npos) << msg;
}

TEST(CudaRng, UniformIsBitExactWithTheCpu) {
  Y8M_REQUIRE_CUDA();
  for (DType dt : {DType::f32, DType::f64}) {
    for (int64_t n : {int64_t(1), int64_t(33), int64_t(1) << 20}) {
      Tensor cpu = Tensor::empty({n}, dt), gpu = Tensor::empty({n}, dt, kGpu);
      fill_uniform(cpu, 99, 12345, -0.5, 1.25);
      fill_uniform(gpu, 99, 12345, -0.5, 1.25);
      ASSERT_EQ(gpu.to_vector<double>(), cpu.to_vector<double>()) << dtype_name(dt) << " n=" << n;
    }
  }
  // The largest draw (see rng_test.cpp) is kept below hi on both backends.
  Tensor cpu = Tensor::empty({4}), gpu = Tensor::empty({4}, DType::f32, kGpu);
  fill_uniform(cpu, 0, 2330056, 1.0, 2.0);
  fill_uniform(gpu, 0, 2330056, 1.0, 2.0);
  EXPECT_EQ(gpu.to_vector<float>(), cpu.to_vector<float>());
  EXPECT_LT(gpu.to_vector<float>()[2], 2.f);
}

TEST(CudaRng, NormalMatchesTheCpu) {
  Y8M_REQUIRE_CUDA();
  const int64_t n = (int64_t(1) << 20) + 3;
  Tensor cpu = Tensor::empty({n}), gpu = Tensor::empty({n}, DType::f32, kGpu);
  Generator gc(5, 100), gg(5, 100);
  fill_normal(cpu, gc, 0.5, 2.0);
  fill_normal(gpu, gg, 0.5, 2.0);
  EXPECT_EQ(gc.offset(), gg.offset());
  const std::vector<float> a = cpu.to_vector<float>(), b = gpu.to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_LE(std::fabs(a[i] - b[i]), 1e-6 * (1 + std::fabs(a[i]))) << i;
  Tensor c64 = Tensor::empty({1000}, DType::f64), g64 = Tensor::empty({1000}, DType::f64, kGpu);
  fill_normal(c64, 8, 0);
  fill_normal(g64, 8, 0);
  const std::vector<double> x = c64.to_vector<double>(), y = g64.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(x[i], y[i], 1e-12 * (1 + std::fabs(x[i]))) << i;
}

TEST(CudaMemory, StatsCountDeviceAllocations) {
  Y8M_REQUIRE_CUDA();
  const MemoryStats s0 = memory_stats(kGpu);
  const int64_t cpu0 = memory_stats(Device::cpu()).current_bytes;
  {
    Tensor a = Tensor::empty({1 << 20}, DType::f32, kGpu);
    const MemoryStats s1 = memory_stats(kGpu);
    EXPECT_EQ(s1.current_bytes - s0.current_bytes, 4 << 20);
    EXPECT_EQ(s1.num_allocs - s0.num_allocs, 1);
    EXPECT_GE(s1.peak_bytes, s1.current_bytes);
    EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, cpu0);  // the host is not charged
  }
  EXPECT_EQ(memory_stats(kGpu).current_bytes, s0.current_bytes);
  reset_peak_memory(kGpu);
  EXPECT_EQ(memory_stats(kGpu).peak_bytes, s0.current_bytes);
}

TEST(CudaMemory, OutOfMemoryNamesRequestedAndFreeBytes) {
  Y8M_REQUIRE_CUDA();
  const int64_t before = memory_stats(kGpu).current_bytes;
  const std::string msg = error_of([] { Tensor::empty({int64_t(1) << 50}, DType::u8, kGpu); });
  EXPECT_NE(msg.find("out of memory on cuda:0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("requested 1125899906842624 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bytes free"), std::string::npos) << msg;
  EXPECT_EQ(memory_stats(kGpu).current_bytes, before);
  // The device stays usable after the failure.
  EXPECT_EQ(Tensor::full({3}, 2, DType::f32, kGpu).to_vector<float>(), std::vector<float>(3, 2.f));
  const std::string bad = error_of([] { Tensor::zeros({1}, DType::f32, Device::cuda(15)); });
  EXPECT_NE(bad.find("cuda:15"), std::string::npos) << bad;
}

TEST(CudaMemory, PinnedHostTensorsCopyToTheDevice) {
  Y8M_REQUIRE_CUDA();
  const int64_t before = memory_stats(Device::cpu()).current_bytes;
  {
    Tensor p = Tensor::empty({256}, DType::f32, Device::cpu(), true);
    EXPECT_TRUE(p.is_pinned());
    EXPECT_EQ(memory_stats(Device::cpu()).current_bytes - before, 1024);
    p.fill(4);
    Tensor d = p.to(kGpu);
    EXPECT_EQ(d.to_vector<float>(), std::vector<float>(256, 4.f));
  }
  EXPECT_EQ(memory_stats(Device::cpu()).current_bytes, before);
}

TEST(CudaMemory, AllocatorIsNamedAndFollowsTheOverride) {
  Y8M_REQUIRE_CUDA();
  const std::string name = cuda_allocator_name(kGpu);
  const char* env = std::getenv("Y8M_CUDA_ALLOCATOR");
  if (env != nullptr && std::string(env) == "caching") {
    EXPECT_EQ(name.rfind("caching cudaMalloc (Y8M_CUDA_ALLOCATOR=caching)", 0), 0u) << name;
  } else {
    EXPECT_TRUE(name.rfind("stream-ordered pool", 0) == 0 || name.rfind("caching", 0) == 0) << name;
  }
  // Blocks come back and are reused with the right contents whichever allocator it is: the same
  // sizes many times, then an upload into a reused block (the copy stream's first use of it).
  for (int i = 0; i < 20; ++i) {
    Tensor a = Tensor::full({1000 + i % 3}, i, DType::f32, kGpu);
    ASSERT_EQ(a.to_vector<float>(), std::vector<float>(1000 + i % 3, static_cast<float>(i)));
  }
  const std::vector<float> v(1001, 2.5f);
  EXPECT_EQ(Tensor::from_vector(v, {1001}).to(kGpu).to_vector<float>(), v);
  EXPECT_THROW(cuda_allocator_name(Device::cpu()), Error);
}

// The reader's pool contract: a pinned buffer read by an upload reports the pending read until
// the copy has completed, and refilling it after wait_host_reads() leaves the upload intact.
TEST(CudaMemory, PinnedUploadKeepsItsReadPendingUntilCopied) {
  Y8M_REQUIRE_CUDA();
  const int64_t n = int64_t{32} << 20;
  Tensor p = Tensor::empty({n}, DType::u8, Device::cpu(), true);
  std::memset(p.data_ptr(), 7, static_cast<size_t>(n));
  EXPECT_FALSE(p.host_read_pending());  // never uploaded
  Tensor d = p.to(kGpu);
  p.wait_host_reads();
  EXPECT_FALSE(p.host_read_pending());
  std::memset(p.data_ptr(), 9, static_cast<size_t>(n));  // the pool refills it
  const std::vector<uint8_t> back = d.to_vector<uint8_t>();
  EXPECT_EQ(back.front(), 7);
  EXPECT_EQ(back.back(), 7);
  EXPECT_EQ(std::count(back.begin(), back.end(), uint8_t{7}), n);
  // A pageable source has no pending read (the copy stages it before returning).
  Tensor h = Tensor::full({100}, 1.0);
  Tensor dh = h.to(kGpu);
  EXPECT_FALSE(h.host_read_pending());
  EXPECT_EQ(dh.to_vector<float>(), std::vector<float>(100, 1.f));
}

TEST(CudaEvent, RecordWaitAndElapsed) {
  Y8M_REQUIRE_CUDA();
  Event start, stop, copy_done;
  start.record(kGpu);
  Tensor t = Tensor::empty({1 << 20}, DType::f32, kGpu);
  fill_uniform(t, 1, 0);
  stop.record(kGpu);
  stop.synchronize();
  EXPECT_GE(Event::elapsed_ms(start, stop), 0.f);
  copy_done.record(kGpu, /*copy_stream=*/true);
  copy_done.wait_on_compute(kGpu);
  synchronize(kGpu);
  Event never;
  EXPECT_THROW(never.wait_on_compute(kGpu), Error);
  EXPECT_THROW(Event::elapsed_ms(start, never), Error);
}

}  // namespace
}  // namespace y8m::engine
