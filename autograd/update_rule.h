// The optimizers' update rules (formulas in autograd/optim.h). A header of its own so that the CUDA
// unit (autograd/optim_cuda.cu) needs nothing else from autograd.
#pragma once
#include "autograd/autograd_layer.h"

namespace y8m::autograd {

enum class UpdateRule { kGradientDescent, kMomentum, kAdagrad, kRMSProp, kAdam };

}  // namespace y8m::autograd
