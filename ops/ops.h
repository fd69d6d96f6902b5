// Convenience header: every op of y8m.
#pragma once
#include "ops/elementwise/elementwise.h"
#include "ops/fused/gated_moe.h"
#include "ops/fused/vlad.h"
#include "ops/matmul/matmul.h"
#include "ops/nn/batch_norm.h"
#include "ops/nn/frames.h"
#include "ops/nn/loss.h"
#include "ops/op_list.h"
#include "ops/reduce/reduce.h"
#include "ops/rnn/rnn.h"
#include "ops/sampling/frame_sampling.h"
#include "ops/shape/shape.h"
