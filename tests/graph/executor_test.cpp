// ops/graph: the tracer (names, initializers, constants, errors, dynamic batch), the executor
// (every op of ops/op_list.h has an entry; validation errors; release of intermediates; input
// checks) and the Protobuf form (pipeline/archive.h).
#include "ops/graph/executor.h"
#include "graph_test_util.h"
#include "ops/graph/op_schema.h"
#include "ops/graph/op_table.h"
#include "ops/graph/trace.h"
#include "ops/op_list.h"
#include "pipeline/archive.h"
#include "pipeline/graph_proto.h"
#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>

namespace y8m::ops::graph {
namespace {

using graph_testing::bit_equal;
using graph_testing::uniform_f32;

using testing::expect_error;

TEST(Executor, KnowsEveryListedOp) {
  std::set<std::string> listed;
  for (const OpInfo& i : kOpList) listed.insert(i.name);
  const std::vector<std::string> known = executable_ops();
  for (const std::string& op : listed)
    EXPECT_TRUE(std::count(known.begin(), known.end(), op))
        << op << " has no entry in ops/graph/op_table.cpp";
  for (const std::string& op : known)
    EXPECT_TRUE(listed.count(op)) << op << " is not in ops/op_list.h";
}

// A function of (a [B, 6], b [B, 6]) using the ops no model of the zoo uses, traced at two batch
// sizes: the executor must reproduce it bit for bit at a third.
Tensor many_ops(const Tensor& a, const Tensor& b, const Tensor& w, const Tensor& index) {
  Tensor x = ops::concat({ops::relu6(a), ops::tanh(b)}, 1);  // [B, 12]
  std::vector<Tensor> parts = ops::split(x, {5, 7}, 1);      // [B, 5], [B, 7]
  Tensor y = ops::slice(parts[1], 1, 1, 6);                  // [B, 5]
  Tensor z = ops::div(ops::sub(parts[0], y), ops::add_scalar(ops::exp(y), 1.0));
  z = ops::mul(z, ops::sqrt(ops::add_scalar(ops::square(y), 0.5)));
  z = ops::add(z, ops::log(ops::add_scalar(ops::sigmoid(z), 1.0)));
  Tensor t = ops::transpose(ops::matmul(z, w, false, true));                 // [3, B]
  Tensor m = ops::max(t, 0, true);                                           // [1, B]
  Tensor s = ops::mean(ops::softmax(ops::transpose(t)), 1, true);            // [B, 1]
  Tensor g = ops::gather_rows(ops::l2_normalize(w, 0), index);               // [2, 5]
  Tensor r = ops::add(ops::matmul(s, m), ops::sum(ops::relu(a), 1, false));  // [B, B] + [B]
  Tensor loss = ops::sigmoid_cross_entropy(ops::sigmoid(parts[0]), ops::sigmoid(y));
  return ops::add(ops::reshape(ops::mul(r, loss), {-1}), ops::mean(ops::sum(g, 0), 0));
}

GraphWithWeights trace_many(int64_t b, const Tensor& w, const Tensor& index) {
  autograd::NoGradGuard ng;
  Tracer tr;
  const Tensor a = uniform_f32({b, 6}, 1, -8, 8), bb = uniform_f32({b, 6}, 2);
  tr.add_input("a", a, {-1, 6});
  tr.add_input("b", bb, {-1, 6});
  tr.add_initializers({{"w", w}});
  return tr.finish({{"out", many_ops(a, bb, w, index)}});
}

TEST(Trace, AnyOpSequenceRunsAtAnotherBatch) {
  const Tensor w = uniform_f32({3, 5}, 3);
  const Tensor index = Tensor::from_vector<int32_t>({2, 0}, {2});
  const GraphWithWeights g =
      merge_batch_traces(trace_many(2, w, index), 2, trace_many(3, w, index), 3);
  EXPECT_EQ(g.graph.initializers, (std::vector<std::string>{"w", "constants/0"}));
  EXPECT_EQ(g.graph.inputs[0].shape, (Shape{-1, 6}));
  const Executor exe(g.graph, g.initializers);
  const Tensor a = uniform_f32({4, 6}, 11, -8, 8), b = uniform_f32({4, 6}, 12);
  engine::Generator gen(0);
  RunStats stats;
  const Tensor got = exe.run({{"a", a}, {"b", b}}, gen, &stats).at("out");
  autograd::NoGradGuard ng;
  EXPECT_TRUE(bit_equal(got, many_ops(a, b, w, index)));
  EXPECT_EQ(stats.nodes, static_cast<int64_t>(g.graph.nodes.size()));
}

TEST(Trace, NamesValuesAndDropsDeadCode) {
  autograd::NoGradGuard ng;
  Tracer tr;
  const Tensor x = uniform_f32({2, 3}, 1), w = uniform_f32({3, 4}, 2);
  tr.add_input("x", x);
  tr.add_initializers({{"layer/w", w}, {"unused", uniform_f32({1}, 3)}});
  const Tensor dead = ops::exp(x);  // not an output: dropped
  (void)dead;
  const Tensor y = ops::relu(ops::matmul(x, w));
  const GraphWithWeights g = tr.finish({{"y", y}});
  ASSERT_EQ(g.graph.nodes.size(), 2u);
  EXPECT_EQ(g.graph.nodes[0].op, "matmul");
  EXPECT_EQ(g.graph.nodes[0].inputs, (std::vector<std::string>{"x", "layer/w"}));
  EXPECT_FALSE(g.graph.nodes[0].attrs.at("trans_a").b());
  EXPECT_EQ(g.graph.nodes[1].outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(g.graph.initializers, std::vector<std::string>{"layer/w"});
  EXPECT_FALSE(tracing());
}

TEST(Trace, Errors) {
  expect_error([] { Tracer tr; }, {"trace", "grad mode"});
  autograd::NoGradGuard ng;
  {
    Tracer tr;
    expect_error([] { Tracer again; }, {"trace", "already active"});
    const Tensor x = uniform_f32({2, 3}, 1);
    tr.add_input("x", x);
    const Tensor y = ops::relu(x);
    // A view made outside ops cannot be captured.
    expect_error([&] { ops::exp(y.reshape({3, 2})); }, {"exp", "relu_0", "outside ops"});
    expect_error([&] { tr.finish({{"out", x}}); }, {"out", "not produced"});
  }
  // A constant computed from the inputs outside ops differs between the two traces.
  auto trace = [](int64_t b) {
    Tracer tr;
    const Tensor x = uniform_f32({b, 3}, 1);
    tr.add_input("x", x);
    const Tensor scale = Tensor::full({b, 1}, 2.0);
    return tr.finish({{"y", ops::mul(x, scale)}});
  };
  expect_error([&] { merge_batch_traces(trace(2), 2, trace(3), 3); },
               {"constants/0", "node 0 (mul)", "outside ops"});
  // An attribute that follows the batch (other than a reshape dimension).
  auto trace_slice = [](int64_t b) {
    Tracer tr;
    const Tensor x = uniform_f32({b, 3}, 1);
    tr.add_input("x", x);
    return tr.finish({{"y", ops::slice(x, 0, 0, b)}});
  };
  expect_error([&] { merge_batch_traces(trace_slice(2), 2, trace_slice(3), 3); },
               {"'end'", "node 0 (slice)", "batch"});
}

// The tracer checks every recorded node against the op's schema (ops/op_list.h), so an op entry
// whose Y8M_TRACE_OP line disagrees with its row fails at trace time, not when the archive loads.
TEST(Trace, RecordedNodesFollowTheOpSchema) {
  autograd::NoGradGuard ng;
  Tracer tr;
  const Tensor x = uniform_f32({2, 3}, 1);
  tr.add_input("x", x);
  const Tensor y = uniform_f32({2, 3}, 2), z = uniform_f32({2, 3}, 3);
  expect_error(
      [&] {
        record_op("sum", {{"axis", 1}}, {x}, {y});
      },
      {"trace: sum", "Y8M_TRACE_OP", "needs the attribute 'keepdim'"});
  expect_error(
      [&] {
        record_op("sum", {{"axis", 1.5}, {"keepdim", false}}, {x}, {y});
      },
      {"trace: sum", "'axis' must be int"});
  expect_error(
      [&] {
        record_op("relu", {{"alpha", 0.5}}, {x}, {y});
      },
      {"trace: relu", "unknown attribute 'alpha'"});
  expect_error([&] { record_op("add", {}, {x}, {y}); }, {"trace: add", "needs 2 inputs, got 1"});
  expect_error(
      [&] {
        record_op("matmul", {{"trans_a", false}, {"trans_b", false}}, {x, Tensor()}, {y});
      },
      {"trace: matmul", "input 1 is empty but not optional"});
  expect_error(
      [&] {
        record_op("split", {{"sizes", std::vector<int64_t>{1, 1}}, {"axis", 0}}, {x}, {y});
      },
      {"trace: split", "must write 2 outputs, got 1"});
  expect_error([&] { record_op("conv2d", {}, {x}, {z}); }, {"conv2d", "not in ops/op_list.h"});
}

// Every op_list row parses into a schema, and the executor's table follows the list.
TEST(OpSchema, EveryRowParses) {
  ASSERT_EQ(op_schemas().size(), std::size(kOpList));
  const OpSchema* vlad = find_schema("vlad");
  ASSERT_NE(vlad, nullptr);
  EXPECT_EQ(vlad->inputs, (std::vector<std::string>{"logits", "z", "centers"}));
  EXPECT_EQ(vlad->optional, (std::vector<bool>{false, false, true}));
  ASSERT_EQ(vlad->attrs.size(), 1u);
  EXPECT_EQ(vlad->attrs[0].second, AttrType::i);
  const OpSchema* split = find_schema("split");
  ASSERT_NE(split, nullptr);
  EXPECT_EQ(split->outputs_from, "sizes");
  EXPECT_TRUE(find_schema("concat")->variadic);
  EXPECT_TRUE(find_schema("relu6")->differentiable);
  EXPECT_EQ(find_schema("conv2d"), nullptr);
  for (size_t i = 0; i < op_table().size(); ++i)
    EXPECT_EQ(op_table()[i].schema, &op_schemas()[i]) << op_schemas()[i].name;
}

// x [B, 3] -> relu -> ... : a hand-written graph.
Graph chain(int n) {
  Graph g;
  g.inputs.push_back({"x", DType::f32, {-1, 3}});
  std::string prev = "x";
  for (int i = 0; i < n; ++i) {
    const std::string out = "v" + std::to_string(i);
    g.nodes.push_back({i % 2 ? "relu" : "tanh", {prev}, {out}, {}});
    prev = out;
  }
  g.outputs = {prev};
  return g;
}

TEST(Executor, ReleasesIntermediatesAfterLastUse) {
  const Executor exe(chain(20), {});
  engine::Generator gen(0);
  RunStats stats;
  const Tensor x = uniform_f32({4, 3}, 1);
  const Tensor y = exe.run({{"x", x}}, gen, &stats).at("v19");
  EXPECT_EQ(stats.nodes, 20);
  EXPECT_LE(stats.peak_live_values, 2);
  autograd::NoGradGuard ng;
  Tensor want = x;
  for (int i = 0; i < 20; ++i) want = i % 2 ? ops::relu(want) : ops::tanh(want);
  EXPECT_TRUE(bit_equal(y, want));
}

TEST(Executor, ValidationErrorsNameTheProblem) {
  Graph g = chain(2);
  g.nodes[1].op = "conv2d";
  expect_error([&] { validate(g); }, {"node 1", "unknown op 'conv2d'"});
  g = chain(2);
  g.nodes[1].inputs = {"nope"};
  expect_error([&] { validate(g); }, {"node 1 (relu)", "'nope'"});
  g = chain(1);
  g.nodes[0] = {"sum", {"x"}, {"v0"}, {{"axis", "1"}, {"keepdim", false}}};
  expect_error([&] { validate(g); }, {"node 0 (sum)", "'axis'", "int", "string"});
  g.nodes[0].attrs = {{"keepdim", false}};
  expect_error([&] { validate(g); }, {"node 0 (sum)", "needs the attribute 'axis'"});
  g.nodes[0].attrs = {{"axis", 1}, {"keepdim", false}, {"foo", 2.0}};
  expect_error([&] { validate(g); }, {"node 0 (sum)", "unknown attribute 'foo'"});
  g = chain(2);
  g.nodes[1].outputs = {"v0"};
  expect_error([&] { validate(g); }, {"node 1", "'v0'", "already exists"});
  g = chain(1);
  g.outputs = {"missing"};
  expect_error([&] { validate(g); }, {"output 'missing'"});
  g = chain(1);
  g.nodes[0] = {
      "sample_frames", {"x"}, {"v0"}, {{"max_frames", 3}, {"num_samples", 2}, {"mode", "reverse"}}};
  expect_error([&] { validate(g); }, {"node 0 (sample_frames)", "reverse"});
  g.nodes[0] = {"vlad", {"x", "x", ""}, {"v0"}, {{"samples", 2}}};
  validate(g);  // centers are optional
  g.nodes[0].inputs = {"x", "", ""};
  expect_error([&] { validate(g); }, {"node 0 (vlad)", "input 1", "not optional"});
  g.nodes[0] = {
      "batch_norm", {"x", "x", "x", "x", "x"}, {"v0"}, {{"epsilon", 1e-3}, {"training", true}}};
  expect_error([&] { validate(g); }, {"node 0 (batch_norm)", "training"});
}

TEST(Executor, InitializerAndInputErrors) {
  Graph g;
  g.inputs.push_back({"x", DType::f32, {-1, 3}});
  g.inputs.push_back({"n", DType::i32, {-1}});
  g.initializers = {"w"};
  g.nodes.push_back({"matmul", {"x", "w"}, {"y"}, {{"trans_a", false}, {"trans_b", false}}});
  g.outputs = {"y"};
  expect_error([&] { (void)Executor(g, {}); }, {"initializer 'w'"});
  const Executor exe(g, {{"w", uniform_f32({3, 2}, 1)}, {"extra", uniform_f32({1}, 2)}});
  engine::Generator gen(0);
  const Tensor n = Tensor::from_vector<int32_t>({1, 2}, {2});
  expect_error([&] { exe.run({{"x", uniform_f32({2, 3}, 1)}}, gen); }, {"missing graph input 'n'"});
  expect_error(
      [&] {
        exe.run({{"x", uniform_f32({2, 3}, 1).to(DType::f64)}, {"n", n}}, gen);
      },
      {"input 'x'", "f32 [B, 3]", "f64[2, 3]"});
  expect_error(
      [&] {
        exe.run({{"x", uniform_f32({2, 4}, 1)}, {"n", n}}, gen);
      },
      {"input 'x'", "[B, 3]"});
  expect_error(
      [&] {
        exe.run({{"x", uniform_f32({3, 3}, 1)}, {"n", n}}, gen);
      },
      {"batch size", "'x' has 3", "'n' has 2"});
  expect_error(
      [&] {
        exe.run({{"x", uniform_f32({2, 3}, 1)}, {"n", n}, {"z", n}}, gen);
      },
      {"'z' is not an input"});
  EXPECT_EQ(exe.run({{"x", uniform_f32({2, 3}, 1)}, {"n", n}}, gen).at("y").shape(), (Shape{2, 2}));
}

TEST(GraphProto, RoundTripKeepsEverything) {
  Graph g = chain(2);
  g.initializers = {"w"};
  g.nodes.push_back({"reshape", {"v1"}, {"r"}, {{"shape", std::vector<int64_t>{-1, 3}}}});
  g.nodes.push_back({"mul_scalar", {"r"}, {"s"}, {{"scalar", 1.0 / 3.0}}});
  g.nodes.push_back(
      {"sample_frames", {"x"}, {"i"}, {{"max_frames", 3}, {"num_samples", 2}, {"mode", "random"}}});
  g.nodes.push_back(
      {"split", {"s"}, {"s0", "s1"}, {{"sizes", std::vector<int64_t>{1, 2}}, {"axis", 1}}});
  g.outputs = {"s0", "i"};
  const Graph back = pipeline::parse_graph(pipeline::serialize_graph(g), "test");
  ASSERT_EQ(back.nodes.size(), g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    EXPECT_EQ(back.nodes[i].op, g.nodes[i].op);
    EXPECT_EQ(back.nodes[i].inputs, g.nodes[i].inputs);
    EXPECT_EQ(back.nodes[i].outputs, g.nodes[i].outputs);
    EXPECT_TRUE(back.nodes[i].attrs == g.nodes[i].attrs) << i;
  }
  EXPECT_EQ(back.inputs[0].shape, (Shape{-1, 3}));
  EXPECT_EQ(back.inputs[0].dtype, DType::f32);
  EXPECT_EQ(back.outputs, g.outputs);
  EXPECT_EQ(back.initializers, g.initializers);
}

}  // namespace
}  // namespace y8m::ops::graph
