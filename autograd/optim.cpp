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

// The kernels' coefficients in the parameters' type. 1 - beta is rounded once, as TF's kernels do.
template <class T>
struct Coeffs {
  T lr, alpha, beta1, one_m_beta1, beta2, one_m_beta2, momentum, eps;
  explicit Coeffs(const UpdateCoeffs& c)
      : lr(static_cast<T>(c.lr)),
        alpha(static_cast<T>(c.alpha)),
        beta1(static_cast<T>(c.beta1)),
        one_m_beta1(T(1) - beta1),
        beta2(static_cast<T>(c.beta2)),
        one_m_beta2(T(1) - beta2),
        momentum(static_cast<T>(c.momentum)),
        eps(static_cast<T>(c.eps)) {}
};

// One element of rule R (TF's operation order, training_ops.cc). Slots a rule does not use are
// null.
template <UpdateRule R, class T>
inline void update_element(T* __restrict p, T* __restrict s0, T* __restrict s1, int64_t i, T g,
                           const Coeffs<T>& c) {
  if constexpr (R == UpdateRule::kGradientDescent) {
    p[i] = p[i] - g * c.lr;
  } else if constexpr (R == UpdateRule::kMomentum) {
    const T a = s0[i] * c.momentum + g;
    s0[i] = a;
    p[i] = p[i] - a * c.lr;
  } else if constexpr (R == UpdateRule::kAdagrad) {
    const T a = s0[i] + g * g;
    s0[i] = a;
    p[i] = p[i] - g * c.lr * (T(1) / std::sqrt(a));
  } else if constexpr (R == UpdateRule::kRMSProp) {
    const T ms = s0[i] + (g * g - s0[i]) * c.one_m_beta2;
    const T mom = s1[i] * c.momentum + g * c.lr / std::sqrt(ms + c.eps);
    s0[i] = ms;
    s1[i] = mom;
    p[i] = p[i] - mom;
  } else {
    const T m = s0[i] + (g - s0[i]) * c.one_m_beta1;
    const T v = s1[i] + (g * g - s1[i]) * c.one_m_beta2;
    s0[i] = m;
    s1[i] = v;
    p[i] = p[i] - (m * c.alpha) / (std::sqrt(v) + c.eps);
  }
}

// One tensor: g is clipped as g * clip / denom when do_clip. Separate loops for the clipped and
// unclipped cases and restrict-qualified pointers: the compiler vectorizes the update, which is
// memory-bound.
template <UpdateRule R, class T>
void update_cpu_tensor(T* p, const T* g, T* s0, T* s1, int64_t n, T clip, T denom, bool do_clip,
                       const UpdateCoeffs& uc) {
  const Coeffs<T> c(uc);
  engine::parallel_for(0, n, 1 << 14, [&](int64_t b, int64_t e) {
    const T* __restrict gp = g;
    if (do_clip) {
      for (int64_t i = b; i < e; ++i) update_element<R, T>(p, s0, s1, i, (gp[i] * clip) / denom, c);
    } else {
      for (int64_t i = b; i < e; ++i) update_element<R, T>(p, s0, s1, i, gp[i], c);
    }
  });
}

template <class T>
void update_cpu_tensor(UpdateRule r, T* p, const T* g, T* s0, T* s1, int64_t n, T clip, T denom,
                       bool do_clip, const UpdateCoeffs& c) {
  switch (r) {
    case UpdateRule::kGradientDescent:
      return update_cpu_tensor<UpdateRule::kGradientDescent>(p, g, s0, s1, n, clip, denom, do_clip,
                                                             c);
    case UpdateRule::kMomentum:
      return update_cpu_tensor<UpdateRule::kMomentum>(p, g, s0, s1, n, clip, denom, do_clip, c);
    case UpdateRule::kAdagrad:
      return update_cpu_tensor<UpdateRule::kAdagrad>(p, g, s0, s1, n, clip, denom, do_clip, c);
    case UpdateRule::kRMSProp:
      return update_cpu_tensor<UpdateRule::kRMSProp>(p, g, s0, s1, n, clip, denom, do_clip, c);
    case UpdateRule::kAdam:
      return update_cpu_tensor<UpdateRule::kAdam>(p, g, s0, s1, n, clip, denom, do_clip, c);
  }
}

template <class T>
T* data_or_null(const std::vector<std::vector<Tensor>>& slots, size_t j, size_t k) {
  return j < slots.size() ? slots[j][k].data<T>() : nullptr;
}

}  // namespace

Optimizer::Optimizer(std::string name, std::string what, NamedTensors params, UpdateRule rule,
                     std::vector<std::pair<std::string, double>> slots, double clip_norm,
                     bool check_finite)
    : name_(std::move(name)),
      what_(std::move(what)),
      params_(std::move(params)),
      rule_(rule),
      slot_specs_(std::move(slots)),
      clip_norm_(clip_norm),
      check_finite_(check_finite) {
  Y8M_ASSERT(slot_specs_.size() <= 2, "{}: at most two slots", what_);
  for (auto& kv : params_) {
    const Tensor& p = kv.second;
    Y8M_CHECK(p.dtype() == DType::f32 || (p.dtype() == DType::f64 && p.device().is_cpu()),
              "{}: parameter '{}' is {}; {} takes f32 (f64 on the CPU)", what_, kv.first, p.str(),
              name_);
    Y8M_CHECK(p.device() == params_.front().second.device(),
              "{}: parameter '{}' is on {}, others on {}", what_, kv.first, p.device().str(),
              params_.front().second.device().str());
  }
  for (const auto& spec : slot_specs_) {
    slots_.emplace_back();
    for (auto& kv : params_)
      slots_.back().push_back(
          Tensor::full(kv.second.shape(), spec.second, kv.second.dtype(), kv.second.device()));
  }
}

StepResult Optimizer::step(double lr, const Tensor& loss) {
  const UpdateCoeffs c = coeffs(lr);
  const Device dev = params_.empty() ? Device::cpu() : params_.front().second.device();
  if (!dev.is_cpu()) return step_cuda(c, loss);
  StepResult r;
  const bool do_clip = clip_norm_ > 0;
  if (check_finite_ && loss.defined()) {
    const Tensor l = loss.to(Device::cpu());
    r.loss_finite = std::isfinite(l.dtype() == DType::f64 ? l.item<double>()
                                                          : static_cast<double>(l.item<float>()));
  }
  // Squared norms of every gradient first (clipping needs them; the check reads them), so that a
  // non-finite one stops the step before any tensor changes.
  std::vector<double> sumsq(params_.size(), 0.0);
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor g = grad(params_[k].second);
    if (!g.defined() || !(do_clip || check_finite_)) continue;
    sumsq[k] = g.dtype() == DType::f32 ? sum_squares_cpu(g.data<float>(), g.numel())
                                       : sum_squares_cpu(g.data<double>(), g.numel());
    if (check_finite_ && !std::isfinite(sumsq[k]) && r.bad_gradient.empty())
      r.bad_gradient = params_[k].first;
  }
  if (!r.loss_finite || !r.bad_gradient.empty()) {
    r.applied = false;
    return r;
  }
  ++step_;
  commit(c);
  update_cpu(c, sumsq);
  return r;
}

void Optimizer::update_cpu(const UpdateCoeffs& c, const std::vector<double>& sumsq) {
  const bool do_clip = clip_norm_ > 0;
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor p = params_[k].second;
    Tensor g = grad(p);
    if (!g.defined()) continue;
    if (p.dtype() == DType::f32) {
      const float clip = static_cast<float>(clip_norm_);
      const float denom = do_clip ? std::max(static_cast<float>(std::sqrt(sumsq[k])), clip) : 1.f;
      update_cpu_tensor<float>(rule_, p.data<float>(), g.data<float>(),
                               data_or_null<float>(slots_, 0, k), data_or_null<float>(slots_, 1, k),
                               p.numel(), clip, denom, do_clip, c);
    } else {
      const double denom = do_clip ? std::max(std::sqrt(sumsq[k]), clip_norm_) : 1.0;
      update_cpu_tensor<double>(
          rule_, p.data<double>(), g.data<double>(), data_or_null<double>(slots_, 0, k),
          data_or_null<double>(slots_, 1, k), p.numel(), clip_norm_, denom, do_clip, c);
    }
  }
}

StepResult Optimizer::step_cuda(const UpdateCoeffs& c, const Tensor& loss) {
  StepResult r;
#ifdef Y8M_WITH_CUDA
  const Device dev = params_.front().second.device();
  const bool do_clip = clip_norm_ > 0;
  const bool check = check_finite_;
  // Build the tensor and chunk tables for the parameters that have a gradient this step.
  std::vector<cuda::OptTensor> tensors;
  std::vector<cuda::OptChunk> chunks;
  std::vector<int> first_chunk{0};
  std::vector<size_t> param_of;  // table index -> params_ index
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor p = params_[k].second;
    Tensor g = grad(p);
    if (!g.defined() || p.numel() == 0) continue;
    const int32_t t = static_cast<int32_t>(tensors.size());
    tensors.push_back({p.data<float>(), g.data<float>(), data_or_null<float>(slots_, 0, k),
                       data_or_null<float>(slots_, 1, k), p.numel()});
    param_of.push_back(k);
    for (int64_t b = 0; b < p.numel(); b += kChunk)
      chunks.push_back({t, b, std::min(p.numel(), b + kChunk)});
    first_chunk.push_back(static_cast<int>(chunks.size()));
  }
  const bool device_loss = check && loss.defined() && loss.device() == dev &&
                           loss.dtype() == DType::f32 && !chunks.empty();
  if (check && loss.defined() && !device_loss) {
    const Tensor l = loss.to(Device::cpu());
    r.loss_finite = std::isfinite(l.dtype() == DType::f64 ? l.item<double>()
                                                          : static_cast<double>(l.item<float>()));
  }
  if (!r.loss_finite) {
    r.applied = false;
    return r;
  }
  if (chunks.empty()) {
    ++step_;
    commit(c);
    return r;
  }
  // One upload of all tables and the zeroed check status, from the engine's pool.
  const size_t tb = tensors.size() * sizeof(cuda::OptTensor),
               cb = chunks.size() * sizeof(cuda::OptChunk), fb = first_chunk.size() * sizeof(int);
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
  cuda::OptLaunch a;
  a.tensors = reinterpret_cast<const cuda::OptTensor*>(base);
  a.chunks = reinterpret_cast<const cuda::OptChunk*>(base + off_c);
  a.first_chunk = reinterpret_cast<const int*>(base + off_f);
  a.partials = reinterpret_cast<float*>(base + off_p);
  a.denoms = reinterpret_cast<float*>(base + off_d);
  a.num_tensors = static_cast<int>(tensors.size());
  a.num_chunks = static_cast<int>(chunks.size());
  a.clip_norm = do_clip ? static_cast<float>(clip_norm_) : 0.f;
  a.lr = static_cast<float>(c.lr);
  a.alpha = static_cast<float>(c.alpha);
  a.beta1 = static_cast<float>(c.beta1);
  a.beta2 = static_cast<float>(c.beta2);
  a.momentum = static_cast<float>(c.momentum);
  a.eps = static_cast<float>(c.eps);
  a.loss = device_loss ? loss.data<float>() : nullptr;
  a.status = check ? reinterpret_cast<int*>(base + off_s) : nullptr;
  if (do_clip || check) cuda::grad_norms(a, s);
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
  ++step_;
  commit(c);
  cuda::update(rule_, a, s);
  // `host` must outlive the copy: pageable copies are staged before cudaMemcpyAsync returns.
  return r;
#else
  (void)c;
  (void)loss;
  Y8M_FAIL("{}: parameters on {} but y8m was built without CUDA", what_,
           params_.front().second.device().str());
#endif
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  for (size_t k = 0; k < params_.size(); ++k)
    for (size_t j = 0; j < slots_.size(); ++j)
      out.emplace_back(params_[k].first + "/" + slot_specs_[j].first, slots_[j][k]);
  extra_state(&out);
  return out;
}

const Tensor& Optimizer::find_state(const NamedTensors& state, const std::string& name) const {
  for (auto& kv : state)
    if (kv.first == name) return kv.second;
  Y8M_FAIL("{}: optimizer state '{}' missing", what_, name);
}

void Optimizer::load_state(const NamedTensors& state, int64_t step) {
  for (size_t k = 0; k < params_.size(); ++k) {
    for (size_t j = 0; j < slots_.size(); ++j) {
      const Tensor& t = find_state(state, params_[k].first + "/" + slot_specs_[j].first);
      Y8M_CHECK(t.shape() == slots_[j][k].shape(), "{}: state for '{}' has shape {}, parameter {}",
                what_, params_[k].first, engine::shape_str(t.shape()), slots_[j][k].str());
    }
  }
  load_extra_state(state);
  for (size_t k = 0; k < params_.size(); ++k)
    for (size_t j = 0; j < slots_.size(); ++j) {
      Tensor& dst = slots_[j][k];
      dst.copy_from(find_state(state, params_[k].first + "/" + slot_specs_[j].first)
                        .to(dst.device())
                        .to(dst.dtype()));
    }
  step_ = step;
}

Adam::Adam(NamedTensors params, AdamOptions opts)
    : Optimizer("AdamOptimizer", "adam", std::move(params), UpdateRule::kAdam,
                {{"Adam", 0.0}, {"Adam_1", 0.0}}, opts.clip_norm, opts.check_finite),
      opts_(opts) {
  Y8M_CHECK(
      opts_.beta1 >= 0 && opts_.beta1 < 1 && opts_.beta2 >= 0 && opts_.beta2 < 1 && opts_.eps >= 0,
      "adam: bad options beta1={} beta2={} eps={}", opts_.beta1, opts_.beta2, opts_.eps);
}

UpdateCoeffs Adam::coeffs(double lr) const {
  // TF keeps beta powers as float32 variables updated by multiplication; they change only once
  // the step is known to be applied (commit).
  const float b1p = beta1_power_ * static_cast<float>(opts_.beta1);
  const float b2p = beta2_power_ * static_cast<float>(opts_.beta2);
  UpdateCoeffs c;
  c.lr = lr;
  c.alpha = static_cast<float>(lr) * std::sqrt(1.f - b2p) / (1.f - b1p);
  c.beta1 = opts_.beta1;
  c.beta2 = opts_.beta2;
  c.eps = opts_.eps;
  return c;
}

void Adam::commit(const UpdateCoeffs&) {
  beta1_power_ *= static_cast<float>(opts_.beta1);
  beta2_power_ *= static_cast<float>(opts_.beta2);
}

void Adam::extra_state(NamedTensors* out) const {
  out->emplace_back("beta1_power", Tensor::scalar(beta1_power_));
  out->emplace_back("beta2_power", Tensor::scalar(beta2_power_));
}

void Adam::load_extra_state(const NamedTensors& state) {
  const float b1 = find_state(state, "beta1_power").item<float>();
  const float b2 = find_state(state, "beta2_power").item<float>();
  beta1_power_ = b1;
  beta2_power_ = b2;
}

namespace {

class GradientDescent : public Optimizer {
 public:
  GradientDescent(NamedTensors params, const OptimizerConfig& o)
      : Optimizer("GradientDescentOptimizer", "gradient descent", std::move(params),
                  UpdateRule::kGradientDescent, {}, o.clip_norm, o.check_finite) {}
};

// use_nesterov false (TF's default).
class Momentum : public Optimizer {
 public:
  Momentum(NamedTensors params, const OptimizerConfig& o)
      : Optimizer("MomentumOptimizer", "momentum", std::move(params), UpdateRule::kMomentum,
                  {{"Momentum", 0.0}}, o.clip_norm, o.check_finite),
        momentum_(o.momentum) {
    Y8M_CHECK(std::isfinite(momentum_), "momentum: bad momentum {}", momentum_);
  }

 protected:
  UpdateCoeffs coeffs(double lr) const override {
    UpdateCoeffs c;
    c.lr = lr;
    c.momentum = momentum_;
    return c;
  }

 private:
  double momentum_;
};

// initial_accumulator_value 0.1 (TF's default).
class Adagrad : public Optimizer {
 public:
  Adagrad(NamedTensors params, const OptimizerConfig& o)
      : Optimizer("AdagradOptimizer", "adagrad", std::move(params), UpdateRule::kAdagrad,
                  {{"Adagrad", 0.1}}, o.clip_norm, o.check_finite) {}
};

// TF's defaults: decay 0.9, momentum 0, epsilon 1e-10, centered false; ms starts at 1.
class RMSProp : public Optimizer {
 public:
  RMSProp(NamedTensors params, const OptimizerConfig& o)
      : Optimizer("RMSPropOptimizer", "rmsprop", std::move(params), UpdateRule::kRMSProp,
                  {{"RMSProp", 1.0}, {"RMSProp_1", 0.0}}, o.clip_norm, o.check_finite) {}

 protected:
  UpdateCoeffs coeffs(double lr) const override {
    UpdateCoeffs c;
    c.lr = lr;
    c.beta2 = 0.9;  // decay
    c.momentum = 0.0;
    c.eps = 1e-10;
    return c;
  }
};

}  // namespace

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = {"GradientDescentOptimizer", "MomentumOptimizer",
                                                 "RMSPropOptimizer", "AdagradOptimizer",
                                                 "AdamOptimizer"};
  return names;
}

void check_optimizer_name(const std::string& name, const std::string& flag) {
  const auto& names = optimizer_names();
  if (std::find(names.begin(), names.end(), name) != names.end()) return;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  Y8M_FAIL("{}: unknown optimizer '{}'; the tf.train optimizers y8m implements are {}", flag, name,
           list);
}

std::unique_ptr<Optimizer> make_optimizer(NamedTensors params, const OptimizerConfig& o) {
  check_optimizer_name(o.name);
  if (o.name == "GradientDescentOptimizer")
    return std::make_unique<GradientDescent>(std::move(params), o);
  if (o.name == "MomentumOptimizer") return std::make_unique<Momentum>(std::move(params), o);
  if (o.name == "RMSPropOptimizer") return std::make_unique<RMSProp>(std::move(params), o);
  if (o.name == "AdagradOptimizer") return std::make_unique<Adagrad>(std::move(params), o);
  AdamOptions ao;
  ao.clip_norm = o.clip_norm;
  ao.check_finite = o.check_finite;
  return std::make_unique<Adam>(std::move(params), ao);
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
