// Finite-difference gradient check (tests only). For f(inputs) -> output, compares the full
// Jacobian computed by backward (one backward per output element) against central differences in
// double on the CPU. An input element where the left and right one-sided differences disagree sits
// on a kink (relu at 0, max ties) and is skipped, as Caffe's checker does.
#pragma once
#include "autograd/autograd_layer.h"

#include "autograd/variable.h"

#include <functional>
#include <string>
#include <vector>

namespace y8m::autograd {

struct GradcheckOptions {
  double eps = 1e-6;   // perturbation
  double atol = 1e-6;  // |analytic - numeric| <= atol + rtol * |numeric|   (STYLE.md)
  double rtol = 1e-5;
  double kink_tol = 1e-3;  // one-sided slopes differing by more than this (relative) mark a kink
  double max_skipped_fraction = 0.5;  // fail if more input elements than this are kinks
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // first mismatch: input, element, output element, both values
  int64_t checked = 0;  // Jacobian entries compared
  int64_t skipped = 0;  // input elements skipped as kinks
};

// `inputs` must be f64 CPU tensors; those with requires_grad set are checked. `fn` must be
// deterministic and must not modify its inputs.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& opts = {});

}  // namespace y8m::autograd
