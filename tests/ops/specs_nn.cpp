// Test specs of the nn family (ops/nn).
#include "tests/ops/op_harness.h"

namespace y8m::testing {

std::vector<OpSpec> nn_specs() { return {}; }

}  // namespace y8m::testing
