// The lstm and gru ops against PyTorch (tests/ops/fixtures/rnn_torch.txt, written by
// tools/make_rnn_fixtures.py, which documents the TF -> PyTorch weight mapping): nn.LSTM run per
// video on its first n frames, and TF's GRUCell written in torch ops (nn.GRU applies r after the
// recurrent matmul, TF before). Forward outputs and the gradients of a fixed weighted sum of them,
// f64, lengths 5, 2, 0 of T = 5, both directions.
#include "autograd/variable.h"
#include "ops/elementwise/elementwise.h"
#include "ops/reduce/reduce.h"
#include "ops/rnn/rnn.h"
#include "ops/shape/shape.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace y8m::ops {
namespace {

using Case = std::map<std::string, Tensor>;

std::map<std::string, Case> load() {
  const std::string path = std::string(Y8M_OPS_FIXTURES) + "/rnn_torch.txt";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::map<std::string, Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string c, name, dims;
    ls >> c >> name >> dims;
    Shape shape;
    std::istringstream ds(dims);
    for (std::string d; std::getline(ds, d, ',');) shape.push_back(std::stoll(d));
    std::vector<double> v;
    for (double x; ls >> x;) v.push_back(x);
    cases[c][name] = Tensor::from_vector(v, shape);
  }
  return cases;
}

Tensor lengths() { return Tensor::from_vector<int32_t>({5, 2, 0}, {3}); }

Tensor leaf(const Tensor& t) {
  Tensor c = t.clone();
  autograd::set_requires_grad(c, true);
  return c;
}

Tensor weighted(const Tensor& y, const Tensor& w) {
  return ops::sum(ops::reshape(ops::mul(y, w), {-1}), 0);
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], w[i], 1e-12) << what << " at " << i;
}

TEST(RnnTorchFixture, LstmForwardAndGradients) {
  auto cases = load();
  for (const std::string name : {"lstm", "lstm_reverse"}) {
    SCOPED_TRACE(name);
    ASSERT_EQ(cases.count(name), 1u);
    Case& c = cases[name];
    const bool rev = name == "lstm_reverse";
    const Tensor x = leaf(c["x"]), k = leaf(c["kernel"]), b = leaf(c["bias"]);
    const Tensor seq = lstm(x, lengths(), k, b, rev, "sequence");
    const Tensor h = lstm(x, lengths(), k, b, rev, "final_h");
    const Tensor cs = lstm(x, lengths(), k, b, rev, "final_c");
    expect_close(seq, c["seq"], "seq");
    expect_close(h, c["h"], "h");
    expect_close(cs, c["c"], "c");
    autograd::backward(ops::add(ops::add(weighted(seq, c["w_seq"]), weighted(h, c["w_h"])),
                                weighted(cs, c["w_c"])));
    expect_close(autograd::grad(x), c["dx"], "dx");
    expect_close(autograd::grad(k), c["dkernel"], "dkernel");
    expect_close(autograd::grad(b), c["dbias"], "dbias");
  }
}

TEST(RnnTorchFixture, GruForwardAndGradients) {
  auto cases = load();
  for (const std::string name : {"gru", "gru_reverse"}) {
    SCOPED_TRACE(name);
    ASSERT_EQ(cases.count(name), 1u);
    Case& c = cases[name];
    const bool rev = name == "gru_reverse";
    const Tensor x = leaf(c["x"]), gk = leaf(c["gates_kernel"]), gb = leaf(c["gates_bias"]);
    const Tensor ck = leaf(c["candidate_kernel"]), cb = leaf(c["candidate_bias"]);
    const Tensor seq = gru(x, lengths(), gk, gb, ck, cb, rev, "sequence");
    const Tensor h = gru(x, lengths(), gk, gb, ck, cb, rev, "final_h");
    expect_close(seq, c["seq"], "seq");
    expect_close(h, c["h"], "h");
    autograd::backward(ops::add(weighted(seq, c["w_seq"]), weighted(h, c["w_h"])));
    expect_close(autograd::grad(x), c["dx"], "dx");
    expect_close(autograd::grad(gk), c["dgates_kernel"], "dgates_kernel");
    expect_close(autograd::grad(gb), c["dgates_bias"], "dgates_bias");
    expect_close(autograd::grad(ck), c["dcandidate_kernel"], "dcandidate_kernel");
    expect_close(autograd::grad(cb), c["dcandidate_bias"], "dcandidate_bias");
  }
}

}  // namespace
}  // namespace y8m::ops
