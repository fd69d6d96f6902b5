// Test specs of the shape family (ops/shape).
#include "tests/ops/op_harness.h"

namespace y8m::testing {

std::vector<OpSpec> shape_specs() { return {}; }

}  // namespace y8m::testing
