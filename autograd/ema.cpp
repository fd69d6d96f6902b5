#include "autograd/ema.h"

#include "engine/parallel.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#ifdef Y8M_WITH_CUDA
#include "autograd/ema_cuda.h"
#include "engine/cuda_context.h"
#endif

namespace y8m::autograd {

namespace {

constexpr int64_t kChunk = 1 << 16;  // elements per CUDA block

template <class T>
void ema_cpu(T* shadow, const T* var, int64_t n, T a) {
  engine::parallel_for(0, n, 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T s = shadow[i];
      const T delta = (s - var[i]) * a;
      shadow[i] = s - delta;
    }
  });
}

}  // namespace

double ExponentialMovingAverage::decay_for_halflife(double halflife) {
  Y8M_CHECK(std::isfinite(halflife) && halflife >= 1,
            "--ema_halflife must be at least 1 (decay = 1 - 1/halflife), got {}", halflife);
  return 1.0 - 1.0 / halflife;
}

ExponentialMovingAverage::ExponentialMovingAverage(NamedTensors vars, double decay)
    : vars_(std::move(vars)), decay_(decay) {
  Y8M_CHECK(decay >= 0 && decay < 1, "ema: decay must be in [0, 1), got {}", decay);
  for (const auto& kv : vars_) {
    const Tensor& v = kv.second;
    Y8M_CHECK(v.dtype() == DType::f32 || (v.dtype() == DType::f64 && v.device().is_cpu()),
              "ema: variable '{}' is {}; the moving average takes f32 (f64 on the CPU)", kv.first,
              v.str());
    Y8M_CHECK(v.device() == vars_.front().second.device(),
              "ema: variable '{}' is on {}, others on {}", kv.first, v.device().str(),
              vars_.front().second.device().str());
    shadows_.push_back(v.clone());
  }
}

void ExponentialMovingAverage::update() {
  ++updates_;
  if (vars_.empty()) return;
  // TF: the decay is a float32 constant and 1 - decay is computed in float32.
  const float a32 = 1.f - static_cast<float>(decay_);
  const double a64 = 1.0 - decay_;
  const Device dev = vars_.front().second.device();
  if (dev.is_cpu()) {
    for (size_t k = 0; k < vars_.size(); ++k) {
      const Tensor& v = vars_[k].second;
      Tensor& s = shadows_[k];
      if (v.dtype() == DType::f32) {
        ema_cpu<float>(s.data<float>(), v.data<float>(), v.numel(), a32);
      } else {
        ema_cpu<double>(s.data<double>(), v.data<double>(), v.numel(), a64);
      }
    }
    return;
  }
#ifdef Y8M_WITH_CUDA
  std::vector<cuda::EmaTensor> tensors;
  std::vector<cuda::EmaChunk> chunks;
  for (size_t k = 0; k < vars_.size(); ++k) {
    const Tensor& v = vars_[k].second;
    if (v.numel() == 0) continue;
    const int32_t t = static_cast<int32_t>(tensors.size());
    tensors.push_back({shadows_[k].data<float>(), v.data<float>(), v.numel()});
    for (int64_t b = 0; b < v.numel(); b += kChunk)
      chunks.push_back({t, b, std::min(v.numel(), b + kChunk)});
  }
  if (chunks.empty()) return;
  // One upload of both tables, from the engine's pool.
  const size_t tb = tensors.size() * sizeof(cuda::EmaTensor),
               cb = chunks.size() * sizeof(cuda::EmaChunk);
  const size_t off_c = (tb + 255) / 256 * 256;
  std::vector<char> host(off_c + cb);
  std::memcpy(host.data(), tensors.data(), tb);
  std::memcpy(host.data() + off_c, chunks.data(), cb);
  Tensor table = Tensor::empty({static_cast<int64_t>(host.size())}, DType::u8, dev);
  engine::cuda::set_device(dev.index);
  cudaStream_t st = engine::cuda::compute_stream(dev.index);
  Y8M_CUDA_CHECK(
      cudaMemcpyAsync(table.data_ptr(), host.data(), host.size(), cudaMemcpyHostToDevice, st));
  char* base = static_cast<char*>(table.data_ptr());
  cuda::ema_update(reinterpret_cast<const cuda::EmaTensor*>(base),
                   reinterpret_cast<const cuda::EmaChunk*>(base + off_c),
                   static_cast<int>(chunks.size()), a32, st);
  // `host` may go: pageable copies are staged before cudaMemcpyAsync returns.
#endif
}

void ExponentialMovingAverage::reset_shadows() {
  for (size_t k = 0; k < vars_.size(); ++k) shadows_[k].copy_from(vars_[k].second);
}

void ExponentialMovingAverage::copy_shadows_to_variables() {
  for (size_t k = 0; k < vars_.size(); ++k) vars_[k].second.copy_from(shadows_[k]);
}

NamedTensors ExponentialMovingAverage::state() const {
  NamedTensors out;
  for (size_t k = 0; k < vars_.size(); ++k)
    out.emplace_back(vars_[k].first + kEmaSuffix, shadows_[k]);
  return out;
}

void ExponentialMovingAverage::load_state(const NamedTensors& state) {
  for (size_t k = 0; k < vars_.size(); ++k) {
    const std::string name = vars_[k].first + kEmaSuffix;
    const Tensor* found = nullptr;
    for (const auto& kv : state)
      if (kv.first == name) found = &kv.second;
    Y8M_CHECK(found != nullptr, "ema: shadow '{}' missing", name);
    Y8M_CHECK(found->shape() == shadows_[k].shape(), "ema: shadow '{}' has shape {}, variable {}",
              name, engine::shape_str(found->shape()), vars_[k].second.str());
    Tensor src = found->dtype() == shadows_[k].dtype() ? *found : found->to(shadows_[k].dtype());
    shadows_[k].copy_from(src.device() == shadows_[k].device() ? src
                                                               : src.to(shadows_[k].device()));
  }
}

}  // namespace y8m::autograd
