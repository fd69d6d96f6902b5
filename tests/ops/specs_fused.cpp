// Test specs of the fused family (ops/fused): vlad and gated_moe. Each family member appends its
// specs.
#include "tests/ops/op_harness.h"

namespace y8m::testing {

std::vector<OpSpec> vlad_specs();
std::vector<OpSpec> gated_moe_specs();
std::vector<OpSpec> dequant_matmul_specs();

std::vector<OpSpec> fused_specs() {
  std::vector<OpSpec> v = vlad_specs();
  for (auto& s : gated_moe_specs()) v.push_back(s);
  for (auto& s : dequant_matmul_specs()) v.push_back(s);
  return v;
}

}  // namespace y8m::testing
