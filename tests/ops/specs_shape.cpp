// Test specs of the shape family (ops/shape). Axis, sizes and target shapes travel as a trailing
// i64 input ("params"): integer inputs are not differentiated and move to the device with the
// others. Multi-output split is checked through a concat of its pieces in reverse order, optionally
// leaving the last piece unused (its gradient must come back as zeros).
#include "ops/shape/shape.h"
#include "tests/ops/op_harness.h"

#include <random>

namespace y8m::testing {

namespace {

Tensor params(const std::vector<int64_t>& v) {
  return ints(v, {static_cast<int64_t>(v.size())}, DType::i64);
}

std::vector<int64_t> read_params(const Tensor& t) { return t.to_vector<int64_t>(); }

// Data movement only: CUDA must match the CPU bit for bit.
OpSpec exact_spec(const std::string& name) {
  OpSpec s;
  s.op = name;
  s.atol = 0;
  s.rtol = 0;
  return s;
}

// Index tensor of n entries in [0, rows) from a fixed seed.
Tensor random_index(int64_t n, int64_t rows, uint64_t seed, DType dtype) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> dist(0, rows - 1);
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(gen);
  return ints(v, {n}, dtype);
}

OpSpec reshape_spec() {
  OpSpec s = exact_spec("reshape");
  s.run = [](const std::vector<Tensor>& in) { return ops::reshape(in[0], read_params(in[1])); };
  s.grad_cases = [] {
    return std::vector<OpCase>{{"[2, 3, 4] -> [6, 4]", {uniform({2, 3, 4}, 1), params({6, 4})}, {}},
                               {"[33] -> [3, 11]", {uniform({33}, 2), params({3, 11})}, {}},
                               {"[1, 5] -> [-1]", {uniform({1, 5}, 3), params({-1})}, {}}};
  };
  s.parity_cases = [] {
    return std::vector<OpCase>{
        {"[300, 1152] -> [2, 150, 1152]", {uniform({300, 1152}, 4), params({2, 150, 1152})}, {}},
        {"[5, 3862] -> [-1]", {uniform({5, 3862}, 5), params({-1})}, {}},
        {"[0, 1152] -> [0, 32, 36]", {uniform({0, 1152}, 6), params({0, 32, 36})}, {}}};
  };
  return s;
}

OpSpec concat_spec() {
  OpSpec s = exact_spec("concat");
  s.run = [](const std::vector<Tensor>& in) {
    const std::vector<Tensor> xs(in.begin(), in.end() - 1);
    return ops::concat(xs, read_params(in.back())[0]);
  };
  s.grad_cases = [] {
    return std::vector<OpCase>{
        {"[2, 3] + [2, 4] axis -1", {uniform({2, 3}, 11), uniform({2, 4}, 12), params({-1})}, {}},
        {"[1, 3] + [2, 3] + [3, 3] axis 0",
         {uniform({1, 3}, 13), uniform({2, 3}, 14), uniform({3, 3}, 15), params({0})},
         {}},
        {"[2, 1, 3] + [2, 2, 3] axis 1",
         {uniform({2, 1, 3}, 16), uniform({2, 2, 3}, 17), params({1})},
         {}},
        {"[2, 33] + [2, 0] axis 1", {uniform({2, 33}, 18), uniform({2, 0}, 19), params({1})}, {}}};
  };
  s.parity_cases = [] {
    return std::vector<OpCase>{
        {"[32, 1024] + [32, 128] axis -1",
         {uniform({32, 1024}, 21), uniform({32, 128}, 22), params({-1})},
         {}},
        {"[1, 1024] + [1, 128] axis -1",
         {uniform({1, 1024}, 23), uniform({1, 128}, 24), params({-1})},
         {}},
        {"[300, 1152] + [1, 1152] + [0, 1152] axis 0",
         {uniform({300, 1152}, 25), uniform({1, 1152}, 26), uniform({0, 1152}, 27), params({0})},
         {}},
        {"[2, 300, 3] + [2, 300, 5] axis 2",
         {uniform({2, 300, 3}, 28), uniform({2, 300, 5}, 29), params({2})},
         {}}};
  };
  return s;
}

OpSpec split_spec() {
  OpSpec s = exact_spec("split");
  // params = [axis, drop_last, sizes...]
  s.run = [](const std::vector<Tensor>& in) {
    const std::vector<int64_t> p = read_params(in[1]);
    const int64_t axis = p[0];
    std::vector<Tensor> pieces =
        ops::split(in[0], std::vector<int64_t>(p.begin() + 2, p.end()), axis);
    if (p[1] != 0) pieces.pop_back();
    return ops::concat(std::vector<Tensor>(pieces.rbegin(), pieces.rend()), axis);
  };
  s.grad_cases = [] {
    return std::vector<OpCase>{
        {"[5, 4] {2, 3} axis 0", {uniform({5, 4}, 31), params({0, 0, 2, 3})}, {}},
        {"[3, 7] {1, 0, 4, 2} axis -1, last unused",
         {uniform({3, 7}, 32), params({-1, 1, 1, 0, 4, 2})},
         {}},
        {"[2, 6, 3] {3, 3} axis 1", {uniform({2, 6, 3}, 33), params({1, 0, 3, 3})}, {}},
        {"[1, 33] {32, 1} axis 1", {uniform({1, 33}, 34), params({1, 0, 32, 1})}, {}}};
  };
  s.parity_cases = [] {
    return std::vector<OpCase>{
        {"[32, 1152] {1024, 128} axis -1",
         {uniform({32, 1152}, 41), params({-1, 0, 1024, 128})},
         {}},
        {"[300, 1152] {100, 200} axis 0, last unused",
         {uniform({300, 1152}, 42), params({0, 1, 100, 200})},
         {}},
        {"[1, 3862] {3862} axis 1", {uniform({1, 3862}, 43), params({1, 0, 3862})}, {}}};
  };
  return s;
}

OpSpec slice_spec() {
  OpSpec s = exact_spec("slice");
  // params = [axis, begin, end]
  s.run = [](const std::vector<Tensor>& in) {
    const std::vector<int64_t> p = read_params(in[1]);
    return ops::slice(in[0], p[0], p[1], p[2]);
  };
  s.grad_cases = [] {
    return std::vector<OpCase>{
        {"[4, 5] axis 0 [1, 3)", {uniform({4, 5}, 51), params({0, 1, 3})}, {}},
        {"[3, 33] axis -1 [0, 32)", {uniform({3, 33}, 52), params({-1, 0, 32})}, {}},
        {"[2, 3, 4] axis 1 [2, 3)", {uniform({2, 3, 4}, 53), params({1, 2, 3})}, {}}};
  };
  s.parity_cases = [] {
    return std::vector<OpCase>{
        {"[32, 1152] axis -1 [1024, 1152)",
         {uniform({32, 1152}, 61), params({-1, 1024, 1152})},
         {}},
        {"[300, 1152] axis 0 [0, 300)", {uniform({300, 1152}, 62), params({0, 0, 300})}, {}},
        {"[2, 300, 1152] axis 1 [17, 250)",
         {uniform({2, 300, 1152}, 63), params({1, 17, 250})},
         {}},
        {"[5, 3862] axis 1 [0, 0) (empty)", {uniform({5, 3862}, 64), params({1, 0, 0})}, {}}};
  };
  return s;
}

OpSpec transpose_spec() {
  OpSpec s = exact_spec("transpose");
  s.run = [](const std::vector<Tensor>& in) { return ops::transpose(in[0]); };
  s.grad_cases = [] {
    return std::vector<OpCase>{{"[3, 4]", {uniform({3, 4}, 71)}, {}},
                               {"[2, 1, 33]", {uniform({2, 1, 33}, 72)}, {}},
                               {"[2, 2, 3, 5]", {uniform({2, 2, 3, 5}, 73)}, {}}};
  };
  s.parity_cases = [] {
    return std::vector<OpCase>{{"[8, 300, 64]", {uniform({8, 300, 64}, 74)}, {}},
                               {"[1152, 3862]", {uniform({1152, 3862}, 75)}, {}},
                               {"[33, 31]", {uniform({33, 31}, 76)}, {}},
                               {"[0, 5]", {uniform({0, 5}, 77)}, {}}};
  };
  return s;
}

OpSpec gather_spec() {
  OpSpec s = exact_spec("gather_rows");
  s.run = [](const std::vector<Tensor>& in) { return ops::gather_rows(in[0], in[1]); };
  s.grad_cases = [] {
    return std::vector<OpCase>{
        {"[5, 3] index {4, 0, 4, 2, 4} (repeats; rows 1, 3 unused)",
         {uniform({5, 3}, 81), ints({4, 0, 4, 2, 4}, {5})},
         {}},
        {"[4, 2, 3] i64 index {3, 3}", {uniform({4, 2, 3}, 82), ints({3, 3}, {2}, DType::i64)}, {}},
        {"[33, 1] index {32, 0}", {uniform({33, 1}, 83), ints({32, 0}, {2})}, {}}};
  };
  s.parity_cases = [] {
    // Frame sampling: x viewed as [B*300, 1152], index b*300 + t.
    return std::vector<OpCase>{
        {"[600, 1152] 600 random indices",
         {uniform({600, 1152}, 91), random_index(600, 600, 92, DType::i32)},
         {}},
        {"[300, 1152] 2000 i64 indices into 300 rows",
         {uniform({300, 1152}, 93), random_index(2000, 300, 94, DType::i64)},
         {}},
        {"[1, 3862] index {0, 0, 0}", {uniform({1, 3862}, 95), ints({0, 0, 0}, {3})}, {}},
        {"[300, 1152] empty index", {uniform({300, 1152}, 96), ints({}, {0})}, {}}};
  };
  return s;
}

}  // namespace

std::vector<OpSpec> shape_specs() {
  return {reshape_spec(), concat_spec(),    split_spec(),
          slice_spec(),   transpose_spec(), gather_spec()};
}

}  // namespace y8m::testing
