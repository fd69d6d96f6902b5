// Every model of the zoo frozen into a graph (pipeline/archive.h): the executor reproduces the
// eager forward bit for bit on the CPU from the same generator state, at batch sizes other than the
// traced one; --n_rounds and --sample_all are baked in; archives round-trip through the file.
#include "graph_test_util.h"
#include "io/container.h"
#include "pipeline/archive.h"
#include "pipeline/checkpoint.h"
#include "pipeline/graph_proto.h"
#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

namespace y8m::pipeline {
namespace {

using graph_testing::bit_equal;
using graph_testing::eager_predictions;
using graph_testing::inputs_for;
using graph_testing::make_model;
using graph_testing::Variant;
namespace og = ops::graph;

class ZooGraph : public ::testing::TestWithParam<Variant> {};

TEST_P(ZooGraph, ExecutorEqualsEagerAtAnyBatch) {
  const models::ModelConfig& c = GetParam().config;
  auto model = make_model(c, 3);
  ExportOptions opts;
  opts.trace_batch = 2;
  const og::GraphWithWeights g = trace_model(*model, opts);
  EXPECT_FALSE(model->is_training());
  const og::Executor exe(g.graph, g.initializers);
  for (int64_t b : {5, 2, 1}) {
    const auto in = inputs_for(c, b, 100 + static_cast<uint64_t>(b));
    engine::Generator ge(42, 7), gg(42, 7);
    const Tensor want = eager_predictions(*model, in, 1, ge);
    const Tensor got = exe.run(in, gg).at("predictions");
    EXPECT_EQ(got.shape(), (Shape{b, c.num_classes}));
    EXPECT_TRUE(bit_equal(got, want)) << "B=" << b;
    EXPECT_EQ(gg.offset(), ge.offset()) << "the graph must draw exactly what the model draws";
  }
}

TEST_P(ZooGraph, ArchiveRoundTripWithRoundsEqualsEager) {
  const models::ModelConfig& c = GetParam().config;
  auto model = make_model(c, 4);
  model->train();  // export switches to eval for the trace and restores the mode
  testing::TempDir dir;
  ExportOptions opts;
  opts.n_rounds = 3;
  opts.metadata["note"] = "test";
  export_model(*model, dir.file("m.y8m"), opts);
  EXPECT_TRUE(model->is_training());
  model->eval();

  const ArchiveModel am(dir.file("m.y8m"));
  EXPECT_EQ(am.config(), c);
  EXPECT_EQ(am.archive().metadata.at("n_rounds"), "3");
  EXPECT_EQ(am.archive().metadata.at("note"), "test");
  const auto in = inputs_for(c, 4, 7);
  engine::Generator ge(9, 0), gg(9, 0);
  const Tensor want = eager_predictions(*model, in, 3, ge);
  EXPECT_TRUE(bit_equal(am.predict(in, gg), want));
  EXPECT_EQ(gg.offset(), ge.offset());
  // The archive's input description.
  const og::Graph& graph = am.archive().graph;
  if (c.frame_features) {
    ASSERT_NE(graph.find_input("frames"), nullptr);
    EXPECT_EQ(graph.find_input("frames")->dtype, DType::u8);
    EXPECT_EQ(graph.find_input("frames")->shape, (Shape{-1, c.max_frames, c.total_feature_size()}));
    EXPECT_EQ(graph.find_input("num_frames")->shape, (Shape{-1}));
  } else {
    ASSERT_NE(graph.find_input("features"), nullptr);
    EXPECT_EQ(graph.find_input("features")->shape, (Shape{-1, c.total_feature_size()}));
    EXPECT_EQ(graph.inputs.size(), 1u);
  }
  EXPECT_EQ(graph.outputs, std::vector<std::string>{"predictions"});
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooGraph, ::testing::ValuesIn(graph_testing::zoo_variants()),
                         [](const ::testing::TestParamInfo<Variant>& p) { return p.param.label; });

int count_ops(const og::Graph& g, const std::string& op) {
  int n = 0;
  for (const og::Node& node : g.nodes) n += node.op == op;
  return n;
}

TEST(NetVLADGraph, BatchFreeAttributesAndOneSampleNodePerRound) {
  auto model = make_model(graph_testing::small_netvlad(), 5);
  ExportOptions opts;
  opts.n_rounds = 2;
  const og::Graph g = trace_model(*model, opts).graph;
  EXPECT_EQ(count_ops(g, "sample_frames"), 2);
  EXPECT_EQ(count_ops(g, "prepare_frames"), 1);
  EXPECT_EQ(count_ops(g, "vlad"), 4);  // video and audio, per round
  for (const og::Node& n : g.nodes) {
    if (n.op == "vlad") {
      EXPECT_EQ(n.attrs.at("samples").i(), 5);
    }
    if (n.op == "sample_frames") {
      EXPECT_EQ(n.attrs.at("mode").s(), "random");
      EXPECT_EQ(n.attrs.at("num_samples").i(), 5);
      EXPECT_EQ(n.inputs, std::vector<std::string>{"num_frames"});
    }
    if (n.op == "reshape") {
      // Activations follow the batch (-1 first); weight reshapes (diag_part) are fixed.
      const auto& s = n.attrs.at("shape").ints();
      for (size_t d = 1; d < s.size(); ++d) EXPECT_GE(s[d], 0);
    }
  }
  // Weights are initializers under their model names.
  std::set<std::string> inits(g.initializers.begin(), g.initializers.end());
  EXPECT_TRUE(inits.count("hidden1_weights"));
  EXPECT_TRUE(inits.count("video_VLAD/cluster_bn/moving_variance"));
  EXPECT_TRUE(inits.count("gating_prob_weights"));
}

// The real sizes of SPEC §1 (300 frame slots, 1152 features, 3862 classes) with --sample_all, on a
// small cluster and hidden size.
TEST(NetVLADGraph, RealInputSizes) {
  models::ModelConfig c = models::netvlad_config(4, 16);
  c.sample_all = true;
  auto model = make_model(c, 11);
  ExportOptions opts;
  opts.trace_batch = 1;
  const og::GraphWithWeights g = trace_model(*model, opts);
  const og::Executor exe(g.graph, g.initializers);
  const auto in = inputs_for(c, 3, 12);
  engine::Generator ge(5), gg(5);
  const Tensor want = eager_predictions(*model, in, 1, ge);
  const Tensor got = exe.run(in, gg).at("predictions");
  EXPECT_EQ(got.shape(), (Shape{3, 3862}));
  EXPECT_TRUE(bit_equal(got, want));
}

// Y8M_DISABLE_FUSION=1: the models use the composite VLAD and MoE, which trace to primitive ops.
TEST(NetVLADGraph, CompositePathTracesToPrimitives) {
  struct Env {
    Env() { setenv("Y8M_DISABLE_FUSION", "1", 1); }
    ~Env() { unsetenv("Y8M_DISABLE_FUSION"); }
  } env;
  const models::ModelConfig c = graph_testing::small_netvlad();
  auto model = make_model(c, 12);
  const og::GraphWithWeights g = trace_model(*model);
  EXPECT_EQ(count_ops(g.graph, "vlad"), 0);
  EXPECT_EQ(count_ops(g.graph, "gated_moe"), 0);
  EXPECT_GT(count_ops(g.graph, "softmax"), 0);
  const og::Executor exe(g.graph, g.initializers);
  const auto in = inputs_for(c, 4, 13);
  engine::Generator ge(6), gg(6);
  EXPECT_TRUE(bit_equal(exe.run(in, gg).at("predictions"), eager_predictions(*model, in, 1, ge)));
}

TEST(NetVLADGraph, ExportFromCheckpointBakesSampleAll) {
  models::ModelConfig c = graph_testing::small_netvlad();
  c.iterations = c.max_frames;  // --sample_all needs S == T
  auto model = make_model(c, 6);
  testing::TempDir dir;
  CheckpointState s;
  s.step = 17;
  s.model_config = models::to_map(c);
  for (const auto& kv : model->named_parameters()) s.model.push_back(kv);
  for (const auto& kv : model->named_buffers()) s.model.push_back(kv);
  save_checkpoint(dir.path(), s, 0);
  ExportOptions opts;
  opts.model_flags = {{"sample_all", "true"}};
  opts.n_rounds = 2;
  export_checkpoint(checkpoint_path(dir.path(), 17), dir.file("m.y8m"), opts);

  const ArchiveModel am(dir.file("m.y8m"));
  EXPECT_TRUE(am.config().sample_all);
  EXPECT_EQ(am.archive().metadata.at("step"), "17");
  EXPECT_EQ(am.archive().metadata.at("sample_all"), "true");
  for (const og::Node& n : am.archive().graph.nodes) {
    if (n.op == "sample_frames") {
      EXPECT_EQ(n.attrs.at("mode").s(), "sample_all");
    }
  }
  // Equal to the eager model built with --sample_all from the same weights.
  c.sample_all = true;
  auto eager = models::create_model(c, 0);
  for (const auto& kv : s.model) eager->load_tensor(kv.first, kv.second);
  eager->eval();
  const auto in = graph_testing::inputs_for(c, 6, 21);
  engine::Generator ge(3, 3), gg(3, 3);
  EXPECT_TRUE(bit_equal(am.predict(in, gg), eager_predictions(*eager, in, 2, ge)));
}

// eval.py builds its graph from its own flags: the frame-sampling flags replace the checkpoint's,
// every other architecture flag must agree with it.
TEST(Export, EvalConfigTakesSamplingFlagsAndChecksTheRest) {
  models::ModelConfig c = graph_testing::small_netvlad();
  const auto m = models::to_map(c);
  const models::ModelConfig same = eval_model_config(m, "ck", {});
  EXPECT_TRUE(same == c);
  const models::ModelConfig sampled =
      eval_model_config(m, "ck",
                        {{"sample_all", "true"},
                         {"iterations", "7"},
                         {"sample_random_frames", "false"},
                         {"model", c.model},
                         {"netvlad_cluster_size", m.at("netvlad_cluster_size")}});
  EXPECT_TRUE(sampled.sample_all);
  EXPECT_EQ(sampled.iterations, 7);
  EXPECT_FALSE(sampled.sample_random_frames);
  EXPECT_EQ(sampled.netvlad_cluster_size, c.netvlad_cluster_size);
  testing::expect_error(
      [&] {
        eval_model_config(m, "ck", {{"netvlad_cluster_size", "999"}});
      },
      {"--netvlad_cluster_size=999 does not match the checkpoint ck"});
  testing::expect_error([&] { eval_model_config(m, "ck", {{"no_such_flag", "1"}}); }, {"(absent)"});
}

TEST(Archive, ReaderBatchInputs) {
  const models::ModelConfig c = graph_testing::small_netvlad();
  auto model = make_model(c, 8);
  testing::TempDir dir;
  export_model(*model, dir.file("m.y8m"));
  const ArchiveModel am(dir.file("m.y8m"));
  io::Batch batch;
  const auto in = inputs_for(c, 3, 5);
  batch.size = 3;
  batch.frames = in.at("frames");
  batch.num_frames = in.at("num_frames");
  engine::Generator ge(1), gg(1);
  EXPECT_TRUE(bit_equal(am.predict(batch, gg), eager_predictions(*model, in, 1, ge)));
}

TEST(Archive, Errors) {
  testing::TempDir dir;
  const models::ModelConfig c = graph_testing::small_netvlad();
  auto model = make_model(c, 9);
  export_model(*model, dir.file("m.y8m"));
  // A checkpoint is not an archive.
  CheckpointState s;
  s.model_config = models::to_map(c);
  save_checkpoint(dir.path(), s, 0);
  std::string msg = testing::error_of([&] { read_archive(checkpoint_path(dir.path(), 0)); });
  EXPECT_NE(msg.find("not an archive"), std::string::npos) << msg;
  // An archive whose tensor table lacks an initializer of its graph.
  io::Container good(dir.file("m.y8m"));
  io::ContainerContents cc;
  cc.kind = "archive";
  cc.graph = good.graph();
  for (const auto& t : good.tensors())
    if (t.name != "hidden1_weights") cc.tensors.push_back(t);
  io::write_container(dir.file("bad.y8m"), cc);
  msg = testing::error_of([&] { read_archive(dir.file("bad.y8m")); });
  EXPECT_NE(msg.find("hidden1_weights"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad.y8m"), std::string::npos) << msg;
  // Garbage graph bytes, and a newer graph version.
  msg = testing::error_of([&] { parse_graph("\xff\xff\xff", "x.y8m"); });
  EXPECT_NE(msg.find("x.y8m"), std::string::npos) << msg;
  // Wrong inputs name what is wrong.
  const ArchiveModel am(dir.file("m.y8m"));
  engine::Generator g(0);
  auto in = inputs_for(c, 2, 1);
  in["frames"] = in["frames"].to(DType::f32);
  msg = testing::error_of([&] { am.predict(in, g); });
  EXPECT_NE(msg.find("'frames'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("u8"), std::string::npos) << msg;
  in = inputs_for(c, 2, 1);
  in["frames"] = graph_testing::random_frames(2, c.max_frames + 1, c.total_feature_size(), 3);
  msg = testing::error_of([&] { am.predict(in, g); });
  EXPECT_NE(msg.find("'frames'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[B, 7, 10]"), std::string::npos) << msg;
}

TEST(Export, RejectsWhatAGraphCannotHold) {
  auto model = make_model(graph_testing::small_netvlad(), 10);
  ExportOptions opts;
  opts.n_rounds = 0;
  std::string msg = testing::error_of([&] { trace_model(*model, opts); });
  EXPECT_NE(msg.find("n_rounds"), std::string::npos) << msg;
  models::CreateOptions co;
  co.dtype = DType::f64;
  auto f64 = models::create_model(graph_testing::small_netvlad(), 1, Device::cpu(), co);
  msg = testing::error_of([&] { trace_model(*f64); });
  EXPECT_NE(msg.find("f32"), std::string::npos) << msg;
}

}  // namespace
}  // namespace y8m::pipeline
