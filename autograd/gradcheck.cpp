#include "autograd/gradcheck.h"

#include <algorithm>
#include <cmath>

namespace y8m::autograd {

namespace {
std::vector<double> eval_flat(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                              const std::vector<Tensor>& inputs) {
  NoGradGuard ng;
  Tensor out = fn(inputs);
  return out.to_vector<double>();
}
}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& opts) {
  GradcheckResult res;
  for (const Tensor& in : inputs) {
    Y8M_CHECK(
        !in.defined() || (in.device().is_cpu() && (in.dtype() == DType::f64 || !requires_grad(in))),
        "gradcheck: differentiable inputs must be f64 CPU tensors, got {}", in.str());
  }
  // Analytic Jacobian, one row per output element.
  Tensor out = fn(inputs);
  Y8M_CHECK(out.dtype() == DType::f64, "gradcheck: output must be f64, got {}", out.str());
  const int64_t n_out = out.numel();
  const std::vector<double> f0 = out.to_vector<double>();
  std::vector<std::vector<std::vector<double>>> analytic(inputs.size());  // [input][out][elem]
  for (size_t k = 0; k < inputs.size(); ++k)
    if (inputs[k].defined() && requires_grad(inputs[k]))
      analytic[k].assign(static_cast<size_t>(n_out),
                         std::vector<double>(static_cast<size_t>(inputs[k].numel()), 0.0));
  if (!requires_grad(out)) {
    res.ok = false;
    res.message = "output does not depend on any input that requires grad";
    return res;
  }
  for (int64_t o = 0; o < n_out; ++o) {
    for (const Tensor& in : inputs)
      if (in.defined()) zero_grad(in);
    Tensor seed = Tensor::zeros(out.shape(), DType::f64);
    seed.data<double>()[o] = 1.0;
    backward(out, seed);
    for (size_t k = 0; k < inputs.size(); ++k) {
      if (analytic[k].empty()) continue;
      Tensor g = grad(inputs[k]);
      if (!g.defined()) continue;  // no path: zero row
      Y8M_CHECK(g.shape() == inputs[k].shape(),
                "gradcheck: gradient of input {} has shape {}, input {}", k,
                engine::shape_str(g.shape()), inputs[k].str());
      const double* gp = g.data<double>();
      std::copy(gp, gp + g.numel(), analytic[k][static_cast<size_t>(o)].begin());
    }
  }
  for (const Tensor& in : inputs)
    if (in.defined()) zero_grad(in);

  // Numeric Jacobian by central differences, column by column.
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (analytic[k].empty()) continue;
    double* x = inputs[k].data<double>();
    const int64_t n_in = inputs[k].numel();
    int64_t skipped_here = 0;
    for (int64_t j = 0; j < n_in; ++j) {
      const double orig = x[j];
      x[j] = orig + opts.eps;
      const std::vector<double> fp = eval_flat(fn, inputs);
      x[j] = orig - opts.eps;
      const std::vector<double> fm = eval_flat(fn, inputs);
      x[j] = orig;
      bool kink = false;
      for (int64_t o = 0; o < n_out && !kink; ++o) {
        const double right = (fp[o] - f0[o]) / opts.eps;
        const double left = (f0[o] - fm[o]) / opts.eps;
        kink = std::fabs(right - left) >
               opts.kink_tol * std::max(1.0, std::fabs(right) + std::fabs(left));
      }
      if (kink) {
        ++res.skipped;
        ++skipped_here;
        continue;
      }
      for (int64_t o = 0; o < n_out; ++o) {
        const double num = (fp[o] - fm[o]) / (2 * opts.eps);
        const double ana = analytic[k][static_cast<size_t>(o)][static_cast<size_t>(j)];
        ++res.checked;
        if (!(std::fabs(ana - num) <= opts.atol + opts.rtol * std::fabs(num))) {
          res.ok = false;
          res.message = fmt::format(
              "input {} element {}, output element {}: analytic {:.10g} vs numeric {:.10g}", k, j,
              o, ana, num);
          return res;
        }
      }
    }
    if (n_in > 0 &&
        static_cast<double>(skipped_here) > opts.max_skipped_fraction * static_cast<double>(n_in)) {
      res.ok = false;
      res.message =
          fmt::format("input {}: {} of {} elements sit on kinks; choose other test values", k,
                      skipped_here, n_in);
      return res;
    }
  }
  return res;
}

}  // namespace y8m::autograd
