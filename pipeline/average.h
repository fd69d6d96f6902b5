// Weight averaging (weights_average.py, SPEC §12.2): the element-wise mean of same-architecture
// archives or checkpoints. Batch-norm statistics are averaged too; a checkpoint's optimizer state
// is dropped. Different kinds, architectures (model configs), tensor sets, shapes or dtypes, and
// quantized tensors are refused with an error naming the files and the difference.
#pragma once

#include "io/container.h"

#include <string>
#include <vector>

namespace y8m::pipeline {

struct Averaged {
  io::ContainerContents contents;
  int64_t step = 0;  // the largest step among checkpoint inputs
};

Averaged average_models(const std::vector<std::string>& paths);

}  // namespace y8m::pipeline
