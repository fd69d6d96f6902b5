// Test specs of the reduce family (ops/reduce).
#include "tests/ops/op_harness.h"

namespace y8m::testing {

std::vector<OpSpec> reduce_specs() { return {}; }

}  // namespace y8m::testing
