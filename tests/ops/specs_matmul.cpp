// Test specs of the matmul family (ops/matmul).
#include "tests/ops/op_harness.h"

namespace y8m::testing {

std::vector<OpSpec> matmul_specs() { return {}; }

}  // namespace y8m::testing
