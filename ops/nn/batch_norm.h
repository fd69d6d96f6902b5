// Batch normalization with slim.batch_norm semantics (SPEC §2.1): center and scale, epsilon 1e-3,
// decay 0.999. The channel axis is the last one; statistics are over every other axis.
//
// Training:  mu, var_b = mean and biased variance of x over N = numel / C rows
//            y = gamma * (x - mu) / sqrt(var_b + eps) + beta
//            moving_mean     <- moving_mean     - (1 - decay) * (moving_mean - mu)
//            moving_variance <- moving_variance - (1 - decay) * (moving_variance - var_m)
//            with var_m = var_b * N / (N - 1) for 2-D input (TF's fused kernel; var_b when N = 1) and
//            var_m = var_b for 3-D or higher input.
//            The moving statistics are updated in place (buffers, not differentiated).
// Inference: y = gamma * (x - moving_mean) / sqrt(moving_variance + eps) + beta
//
// Saved for backward (training): the batch mean and inverse std [C]. Gradients: x (overwrite),
// gamma and beta. In inference mode the op is an affine map and its backward follows that.
#pragma once
#include "ops/ops_layer.h"

#include "engine/tensor.h"

namespace y8m::ops {

struct BatchNormOptions {
  bool training = true;
  double epsilon = 1e-3;
  double decay = 0.999;
  bool update_moving = true;  // training only: update moving_mean / moving_variance in place
};

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& moving_mean,
                  Tensor& moving_variance, const BatchNormOptions& opts = {});

}  // namespace y8m::ops
