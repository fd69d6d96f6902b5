// Test specs of the fused vlad op (ops/fused/vlad.h). Inputs: logits [B*S, K], z [B*S, F], centers
// [F, K] (undefined for LightVLAD) and an integer {B}, which the harness leaves out of gradients.
#include "ops/fused/vlad.h"
#include "tests/ops/op_harness.h"

#include <string>

namespace y8m::testing {

namespace {

// logits in [-2, 2) (batch-normalized assignment logits), z in [-1, 1) (batch-normalized frames),
// centers in [-0.1, 0.1) so that asum * C (asum ~ S / K) is comparable to the aggregate.
OpCase vlad_case(int64_t b, int64_t s, int64_t f, int64_t k, bool centers, uint64_t seed,
                 const std::string& extra = "") {
  const std::string label = "B=" + std::to_string(b) + " S=" + std::to_string(s) +
                            " F=" + std::to_string(f) + " K=" + std::to_string(k) +
                            (centers ? "" : " LightVLAD") + extra;
  return {label,
          {uniform({b * s, k}, seed, -2.0, 2.0), uniform({b * s, f}, seed + 1),
           centers ? uniform({f, k}, seed + 2, -0.1, 0.1) : Tensor(), ints({b}, {1}, DType::i64)},
          {}};
}

// The frames of the last video are all zero rows: its aggregate is -asum*C (with centers) or zero
// (LightVLAD: both normalizations clamp).
OpCase zero_video_case(int64_t b, int64_t s, int64_t f, int64_t k, bool centers, uint64_t seed) {
  OpCase c = vlad_case(b, s, f, k, centers, seed, " last video all-zero frames");
  double* z = c.inputs[1].data<double>();
  for (int64_t i = (b - 1) * s * f; i < b * s * f; ++i) z[i] = 0.0;
  return c;
}

}  // namespace

std::vector<OpSpec> vlad_specs() {
  OpSpec s;
  s.op = "vlad";
  s.run = [](const std::vector<Tensor>& in) {
    return ops::vlad(in[0], in[1], in[2], in[3].to_vector<int64_t>()[0]);
  };
  // Gradcheck cost: one backward per output element (B*F*K) and two forwards per input element.
  s.grad_cases = [] {
    return std::vector<OpCase>{vlad_case(2, 3, 4, 3, true, 501),  vlad_case(2, 3, 4, 3, false, 503),
                               vlad_case(1, 3, 4, 3, true, 505),  vlad_case(1, 1, 5, 2, true, 507),
                               vlad_case(1, 2, 33, 2, true, 509), vlad_case(2, 4, 3, 1, true, 511)};
  };
  // The NetVLAD1 video (F=1024) and audio (F=128) streams at S=300 with fewer clusters (the f64
  // reference stays fast), a batch of one, LightVLAD, and videos of all-zero frames.
  s.parity_cases = [] {
    return std::vector<OpCase>{
        vlad_case(2, 300, 1024, 16, true, 521),       vlad_case(2, 300, 128, 8, true, 523),
        vlad_case(1, 300, 1024, 16, true, 525),       vlad_case(3, 300, 128, 33, false, 527),
        zero_video_case(2, 300, 1024, 16, true, 529), zero_video_case(2, 300, 128, 8, false, 531)};
  };
  // GEMMs over S (forward) and F, K (backward) inside: between the reduction and GEMM tolerances.
  s.atol = 2e-5;
  s.rtol = 1e-4;
  return {s};
}

}  // namespace y8m::testing
