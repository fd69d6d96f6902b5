#include "autograd/optim.h"

#include "engine/parallel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#ifdef Y8M_WITH_CUDA
#include "autograd/optim_cuda.h"
#include "engine/cuda_context.h"
#endif

namespace y8m::autograd {

namespace {

constexpr int64_t kChunk = 1 << 16;  // elements per CUDA block in the multi-tensor kernels

template <class T>
double sum_squares_cpu(const T* g, int64_t n) {
  // Fixed chunking, so the result does not depend on the thread count.
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<size_t>(chunks), 0.0);
  engine::parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      // Eight interleaved partial sums (a fixed order): a dependency chain per lane the compiler
      // can vectorize without reassociating.
      double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      const int64_t lo = c * kChunk, hi = std::min(n, (c + 1) * kChunk);
      int64_t i = lo;
      for (; i + 8 <= hi; i += 8)
        for (int k = 0; k < 8; ++k) acc[k] += double(g[i + k]) * g[i + k];
      for (; i < hi; ++i) acc[0] += double(g[i]) * g[i];
      part[static_cast<size_t>(c)] =
          ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
  });
  double s = 0;
  for (double p : part) s += p;
  return s;
}

template <class T>
void adam_cpu(T* p, const T* g, T* m, T* v, int64_t n, T clip, T denom, bool do_clip, T alpha, T b1,
              T b2, T eps) {
  const T one_m_b1 = T(1) - b1, one_m_b2 = T(1) - b2;
  // Separate loops for the clipped and unclipped cases and restrict-qualified pointers: the
  // compiler vectorizes the update (sqrt and division included), which is memory-bound.
  engine::parallel_for(0, n, 1 << 14, [&](int64_t b, int64_t e) {
    T* __restrict pp = p;
    const T* __restrict gp = g;
    T* __restrict mp = m;
    T* __restrict vp = v;
    auto update = [&](int64_t i, T gi) {
      const T mi = mp[i] + (gi - mp[i]) * one_m_b1;
      const T vi = vp[i] + (gi * gi - vp[i]) * one_m_b2;
      mp[i] = mi;
      vp[i] = vi;
      pp[i] = pp[i] - (mi * alpha) / (std::sqrt(vi) + eps);
    };
    if (do_clip) {
      for (int64_t i = b; i < e; ++i) update(i, (gp[i] * clip) / denom);
    } else {
      for (int64_t i = b; i < e; ++i) update(i, gp[i]);
    }
  });
}

}  // namespace

Adam::Adam(NamedTensors params, AdamOptions opts)
    : params_(std::move(params)), opts_(opts), beta1_power_(1.f), beta2_power_(1.f) {
  Y8M_CHECK(
      opts_.beta1 >= 0 && opts_.beta1 < 1 && opts_.beta2 >= 0 && opts_.beta2 < 1 && opts_.eps >= 0,
      "adam: bad options beta1={} beta2={} eps={}", opts_.beta1, opts_.beta2, opts_.eps);
  for (auto& kv : params_) {
    const Tensor& p = kv.second;
    Y8M_CHECK(p.dtype() == DType::f32 || (p.dtype() == DType::f64 && p.device().is_cpu()),
              "adam: parameter '{}' is {}; Adam takes f32 (f64 on the CPU)", kv.first, p.str());
    Y8M_CHECK(p.device() == params_.front().second.device(),
              "adam: parameter '{}' is on {}, others on {}", kv.first, p.device().str(),
              params_.front().second.device().str());
    m_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
    v_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
  }
}

AdamStepResult Adam::step(double lr, const Tensor& loss) {
  AdamStepResult r;
  // TF keeps beta powers as float32 variables updated by multiplication. They (and the step count)
  // change only once the step is known to be applied.
  const float b1p = beta1_power_ * static_cast<float>(opts_.beta1);
  const float b2p = beta2_power_ * static_cast<float>(opts_.beta2);
  const float alpha = static_cast<float>(lr) * std::sqrt(1.f - b2p) / (1.f - b1p);
  const bool do_clip = opts_.clip_norm > 0;
  const bool check = opts_.check_finite;
  auto commit = [&] {
    ++step_;
    beta1_power_ = b1p;
    beta2_power_ = b2p;
  };
  auto host_loss_finite = [&] {
    if (!check || !loss.defined()) return true;
    const Tensor l = loss.to(Device::cpu());
    return std::isfinite(l.dtype() == DType::f64 ? l.item<double>()
                                                 : static_cast<double>(l.item<float>()));
  };
  const Device dev = params_.empty() ? Device::cpu() : params_.front().second.device();

  if (dev.is_cpu()) {
    r.loss_finite = host_loss_finite();
    // Squared norms of every gradient first (clipping needs them; the check reads them), so that
    // a non-finite one stops the step before any tensor changes.
    std::vector<double> sumsq(params_.size(), 0.0);
    for (size_t k = 0; k < params_.size(); ++k) {
      Tensor g = grad(params_[k].second);
      if (!g.defined() || !(do_clip || check)) continue;
      sumsq[k] = g.dtype() == DType::f32 ? sum_squares_cpu(g.data<float>(), g.numel())
                                         : sum_squares_cpu(g.data<double>(), g.numel());
      if (check && !std::isfinite(sumsq[k]) && r.bad_gradient.empty())
        r.bad_gradient = params_[k].first;
    }
    if (!r.loss_finite || !r.bad_gradient.empty()) {
      r.applied = false;
      return r;
    }
    commit();
    for (size_t k = 0; k < params_.size(); ++k) {
      Tensor p = params_[k].second;
      Tensor g = grad(p);
      if (!g.defined()) continue;
      const int64_t n = p.numel();
      if (p.dtype() == DType::f32) {
        const float clip = static_cast<float>(opts_.clip_norm);
        const float denom = do_clip ? std::max(static_cast<float>(std::sqrt(sumsq[k])), clip) : 1.f;
        adam_cpu<float>(p.data<float>(), g.data<float>(), m_[k].data<float>(), v_[k].data<float>(),
                        n, clip, denom, do_clip, alpha, static_cast<float>(opts_.beta1),
                        static_cast<float>(opts_.beta2), static_cast<float>(opts_.eps));
      } else {
        const double clip = opts_.clip_norm;
        const double denom = do_clip ? std::max(std::sqrt(sumsq[k]), clip) : 1.0;
        adam_cpu<double>(p.data<double>(), g.data<double>(), m_[k].data<double>(),
                         v_[k].data<double>(), n, clip, denom, do_clip, alpha, opts_.beta1,
                         opts_.beta2, opts_.eps);
      }
    }
    return r;
  }
#ifdef Y8M_WITH_CUDA
  // Build the tensor and chunk tables for the parameters that have a gradient this step.
  std::vector<cuda::AdamTensor> tensors;
  std::vector<cuda::AdamChunk> chunks;
  std::vector<int> first_chunk{0};
  std::vector<size_t> param_of;  // table index -> params_ index
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor p = params_[k].second;
    Tensor g = grad(p);
    if (!g.defined() || p.numel() == 0) continue;
    const int32_t t = static_cast<int32_t>(tensors.size());
    tensors.push_back(
        {p.data<float>(), g.data<float>(), m_[k].data<float>(), v_[k].data<float>(), p.numel()});
    param_of.push_back(k);
    for (int64_t b = 0; b < p.numel(); b += kChunk)
      chunks.push_back({t, b, std::min(p.numel(), b + kChunk)});
    first_chunk.push_back(static_cast<int>(chunks.size()));
  }
  const bool device_loss = check && loss.defined() && loss.device() == dev &&
                           loss.dtype() == DType::f32 && !chunks.empty();
  if (!device_loss) r.loss_finite = host_loss_finite();
  if (!r.loss_finite) {
    r.applied = false;
    return r;
  }
  if (chunks.empty()) {
    commit();
    return r;
  }
  // One upload of all tables and the zeroed check status, from the engine's pool.
  const size_t tb = tensors.size() * sizeof(cuda::AdamTensor),
               cb = chunks.size() * sizeof(cuda::AdamChunk), fb = first_chunk.size() * sizeof(int);
  const size_t off_c = (tb + 255) / 256 * 256, off_f = off_c + (cb + 255) / 256 * 256;
  const size_t off_s = off_f + (fb + 255) / 256 * 256, off_p = off_s + 256,
               off_d = off_p + (chunks.size() * 4 + 255) / 256 * 256;
  const size_t total = off_d + tensors.size() * 4;
  std::vector<char> host(off_p);
  std::memcpy(host.data(), tensors.data(), tb);
  std::memcpy(host.data() + off_c, chunks.data(), cb);
  std::memcpy(host.data() + off_f, first_chunk.data(), fb);
  const int status_init[2] = {0, std::numeric_limits<int>::max()};
  std::memcpy(host.data() + off_s, status_init, sizeof(status_init));
  Tensor table = Tensor::empty({static_cast<int64_t>(total)}, DType::u8, dev);
  engine::cuda::set_device(dev.index);
  cudaStream_t s = engine::cuda::compute_stream(dev.index);
  Y8M_CUDA_CHECK(
      cudaMemcpyAsync(table.data_ptr(), host.data(), host.size(), cudaMemcpyHostToDevice, s));
  char* base = static_cast<char*>(table.data_ptr());
  cuda::AdamLaunch a;
  a.tensors = reinterpret_cast<const cuda::AdamTensor*>(base);
  a.chunks = reinterpret_cast<const cuda::AdamChunk*>(base + off_c);
  a.first_chunk = reinterpret_cast<const int*>(base + off_f);
  a.partials = reinterpret_cast<float*>(base + off_p);
  a.denoms = reinterpret_cast<float*>(base + off_d);
  a.num_tensors = static_cast<int>(tensors.size());
  a.num_chunks = static_cast<int>(chunks.size());
  a.clip_norm = do_clip ? static_cast<float>(opts_.clip_norm) : 0.f;
  a.alpha = alpha;
  a.beta1 = static_cast<float>(opts_.beta1);
  a.beta2 = static_cast<float>(opts_.beta2);
  a.eps = static_cast<float>(opts_.eps);
  a.loss = device_loss ? loss.data<float>() : nullptr;
  a.status = check ? reinterpret_cast<int*>(base + off_s) : nullptr;
  if (do_clip || check) cuda::adam_norms(a, s);
  if (check) {
    int status[2];
    Y8M_CUDA_CHECK(cudaMemcpyAsync(status, a.status, sizeof(status), cudaMemcpyDeviceToHost, s));
    Y8M_CUDA_CHECK(cudaStreamSynchronize(s));
    r.loss_finite = status[0] == 0;
    if (status[1] != std::numeric_limits<int>::max())
      r.bad_gradient = params_[param_of[static_cast<size_t>(status[1])]].first;
    if (!r.loss_finite || !r.bad_gradient.empty()) {
      r.applied = false;
      return r;
    }
  }
  commit();
  cuda::adam_update(a, s);
  // `host` must outlive the copy: pageable copies are staged before cudaMemcpyAsync returns.
  return r;
#else
  Y8M_FAIL("adam: parameters on {} but y8m was built without CUDA", dev.str());
#endif
}

NamedTensors Adam::state() const {
  NamedTensors out;
  for (size_t k = 0; k < params_.size(); ++k) {
    out.emplace_back(params_[k].first + "/Adam", m_[k]);
    out.emplace_back(params_[k].first + "/Adam_1", v_[k]);
  }
  out.emplace_back("beta1_power", Tensor::scalar(beta1_power_));
  out.emplace_back("beta2_power", Tensor::scalar(beta2_power_));
  return out;
}

void Adam::load_state(const NamedTensors& state, int64_t step) {
  auto find = [&](const std::string& name) -> const Tensor& {
    for (auto& kv : state)
      if (kv.first == name) return kv.second;
    Y8M_FAIL("adam: optimizer state '{}' missing", name);
  };
  for (size_t k = 0; k < params_.size(); ++k) {
    const Tensor& m = find(params_[k].first + "/Adam");
    const Tensor& v = find(params_[k].first + "/Adam_1");
    Y8M_CHECK(m.shape() == m_[k].shape() && v.shape() == v_[k].shape(),
              "adam: state for '{}' has shape {}, parameter {}", params_[k].first,
              engine::shape_str(m.shape()), m_[k].str());
    m_[k].copy_from(m.to(m_[k].device()).to(m_[k].dtype()));
    v_[k].copy_from(v.to(v_[k].device()).to(v_[k].dtype()));
  }
  beta1_power_ = find("beta1_power").item<float>();
  beta2_power_ = find("beta2_power").item<float>();
  step_ = step;
}

double clip_by_norm_(Tensor& g, double max_norm) {
  Y8M_CHECK(max_norm > 0, "clip_by_norm: max_norm must be positive, got {}", max_norm);
  double norm = 0;
  if (g.device().is_cpu()) {
    if (g.dtype() == DType::f32) {
      norm = std::sqrt(sum_squares_cpu(g.data<float>(), g.numel()));
    } else {
      engine::check_dtype(g, DType::f64, "clip_by_norm");
      norm = std::sqrt(sum_squares_cpu(g.data<double>(), g.numel()));
    }
  } else {
#ifdef Y8M_WITH_CUDA
    engine::check_dtype(g, DType::f32, "clip_by_norm");
    const int parts =
        static_cast<int>(std::min<int64_t>(1024, std::max<int64_t>(1, (g.numel() + 4095) / 4096)));
    Tensor scratch = Tensor::empty({parts + 1}, DType::f32, g.device());
    engine::cuda::set_device(g.device().index);
    cuda::sum_squares(g.data<float>(), g.numel(), scratch.data<float>() + 1, parts,
                      scratch.data<float>(), engine::cuda::compute_stream(g.device().index));
    norm = std::sqrt(static_cast<double>(scratch.slice_rows(0, 1).item<float>()));
#endif
  }
  if (norm > max_norm) engine::scale_(g, max_norm / norm);
  return norm;
}

}  // namespace y8m::autograd
