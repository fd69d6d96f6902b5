// The quantize pass and quantized archives (pipeline/quantize.h, SPEC §11): which tensors are
// selected, how the graph is rewritten (dequant_matmul for plain matmuls, one dequantize node for
// other readers), predictions of quantized graphs against the f32 graph run on the dequantized
// weights (tolerance 2e-6 + 1e-5·|p|: only the GEMM summation order differs) and against the f32
// graph (absolute 0.01 for the 8-bit codebooks, about 10x the quantization error seen; 5e-4 for
// float16, which is also checked bit for bit on f16-rounded weights), codebook links in the
// container, the archive sizes (NetVLAD1 from its tensor list), and the errors of quantize.py's
// command line.
#include "pipeline/quantize.h"
#include "graph_test_util.h"
#include "io/container.h"
#include "ops/fused/dequant_matmul.h"
#include "ops/graph/executor.h"
#include "ops/graph/trace.h"
#include "pipeline/archive.h"
#include "pipeline/checkpoint.h"
#include "pipeline/ensemble.h"
#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

namespace y8m::pipeline {
namespace {

namespace og = ops::graph;
using graph_testing::bit_equal;
using graph_testing::inputs_for;
using graph_testing::make_model;
using graph_testing::small_netvlad;

constexpr QuantTransform kQuant[] = {QuantTransform::quant_uniform, QuantTransform::quant_quantile,
                                     QuantTransform::quant_kmeans};

QuantizeOptions options(QuantTransform t, int64_t min_elements = 16) {
  QuantizeOptions o;
  o.transform = t;
  o.min_elements = min_elements;
  return o;
}

const Tensor* find(const og::NamedTensors& v, const std::string& name) {
  for (const auto& kv : v)
    if (kv.first == name) return &kv.second;
  return nullptr;
}

int64_t count_ops(const og::Graph& g, const std::string& op) {
  int64_t n = 0;
  for (const og::Node& node : g.nodes) n += node.op == op;
  return n;
}

// The input graph with every transformed initializer replaced by what the quantized archive
// means: codebook[indices] (or the f16-rounded value), in f32. The reference for exactness.
og::GraphWithWeights dequantized_reference(const og::GraphWithWeights& in,
                                           const og::GraphWithWeights& q, const QuantizeStats& st) {
  og::GraphWithWeights ref = in;
  for (const QuantizedEntry& e : st.transformed) {
    Tensor w;
    if (e.stored.size() == 2) {
      w = ops::dequantize(*find(q.initializers, e.stored[1]), *find(q.initializers, e.stored[0]));
    } else {
      w = find(q.initializers, e.stored[0])->to(DType::f32);
    }
    for (auto& kv : ref.initializers)
      if (kv.first == e.name) kv.second = w;
  }
  return ref;
}

Tensor predict(const og::GraphWithWeights& g, const std::map<std::string, Tensor>& in,
               uint64_t seed) {
  engine::Generator gen(seed, 0);
  return og::Executor(g.graph, g.initializers).run(in, gen).at("predictions");
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

bool close(const Tensor& got, const Tensor& want, double atol, double rtol) {
  const std::vector<double> x = got.to_vector<double>(), y = want.to_vector<double>();
  if (got.shape() != want.shape()) return false;
  for (size_t i = 0; i < x.size(); ++i)
    if (!(std::fabs(x[i] - y[i]) <= atol + rtol * std::fabs(y[i]))) return false;
  return true;
}

TEST(QuantizeGraph, RewritesMatmulsAndDequantizesOtherReaders) {
  auto model = make_model(small_netvlad(), 1);
  const og::GraphWithWeights g = trace_model(*model);
  for (QuantTransform t : kQuant) {
    SCOPED_TRACE(quant_transform_name(t));
    QuantizeStats st;
    const og::GraphWithWeights q = quantize_graph(g, options(t), &st);
    // Selected: f32 with more than 16 elements (the audio VLAD's [4, 2] matrices stay f32).
    std::set<std::string> names;
    for (const QuantizedEntry& e : st.transformed) names.insert(e.name);
    EXPECT_EQ(names,
              (std::set<std::string>{"video_VLAD/cluster_weights", "video_VLAD/cluster_weights2",
                                     "hidden1_weights", "gating_weights_2", "gates/weights",
                                     "experts/weights", "gating_prob_weights"}));
    EXPECT_EQ(st.kept + static_cast<int64_t>(st.transformed.size()),
              static_cast<int64_t>(g.graph.initializers.size()));
    for (const QuantizedEntry& e : st.transformed) {
      EXPECT_EQ(e.stored, (std::vector<std::string>{e.name + "_quants", e.name + "_space"}));
      const Tensor& w = *find(g.initializers, e.name);
      const Tensor* idx = find(q.initializers, e.name + "_quants");
      const Tensor* cb = find(q.initializers, e.name + "_space");
      ASSERT_TRUE(idx && cb) << e.name;
      EXPECT_EQ(idx->dtype(), DType::u8);
      EXPECT_EQ(idx->shape(), w.shape());
      EXPECT_EQ(cb->shape(), (Shape{256}));
      EXPECT_EQ(find(q.initializers, e.name), nullptr);
      // The VLAD centres feed the vlad op: a dequantize node; every weight matrix a fused matmul.
      const bool centres = e.name == "video_VLAD/cluster_weights2";
      EXPECT_EQ(e.fused_matmuls, centres ? 0 : 1) << e.name;
      EXPECT_EQ(e.dequantized, centres ? 1 : 0) << e.name;
    }
    EXPECT_EQ(count_ops(q.graph, "dequant_matmul"), 6);
    EXPECT_EQ(count_ops(q.graph, "dequantize"), 1);
    EXPECT_EQ(count_ops(q.graph, "matmul"), 1);  // the audio VLAD's assignment
    // The lookup comes right before its reader and writes the original name.
    for (size_t i = 0; i < q.graph.nodes.size(); ++i) {
      if (q.graph.nodes[i].op != "dequantize") continue;
      EXPECT_EQ(q.graph.nodes[i].outputs,
                (std::vector<std::string>{"video_VLAD/cluster_weights2"}));
      EXPECT_EQ(q.graph.nodes[i + 1].op, "vlad");
    }
    // Size accounting: exact from the tensor list.
    EXPECT_EQ(st.data_bytes_before, tensor_data_bytes(g.initializers));
    EXPECT_EQ(st.data_bytes_after, tensor_data_bytes(q.initializers));
    EXPECT_EQ(st.data_bytes_after, predicted_data_bytes(g.initializers, options(t)));
  }
}

// Weights with more than 256 values (so that k-means is lossy too): hidden1 [224, 64].
models::ModelConfig medium_netvlad() {
  models::ModelConfig c = small_netvlad();
  c.feature_sizes = {24, 8};
  c.netvlad_cluster_size = 8;
  c.netvlad_hidden_size = 64;
  return c;
}

TEST(QuantizeGraph, PredictionsMatchTheDequantizedWeights) {
  const models::ModelConfig c = medium_netvlad();
  auto model = make_model(c, 2);
  const og::GraphWithWeights g = trace_model(*model);
  for (QuantTransform t : kQuant) {
    SCOPED_TRACE(quant_transform_name(t));
    QuantizeStats st;
    const og::GraphWithWeights q = quantize_graph(g, options(t, 100), &st);
    EXPECT_EQ(st.transformed.size(), 6u);  // the weight matrices (batch norm vectors are 64)
    const og::GraphWithWeights ref = dequantized_reference(g, q, st);
    for (int64_t b : {1, 4}) {
      const auto in = inputs_for(c, b, 20 + static_cast<uint64_t>(b));
      const Tensor got = predict(q, in, 5);
      EXPECT_TRUE(close(got, predict(ref, in, 5), 2e-6, 1e-5)) << "B=" << b;
      // Against the f32 weights: the quantization error of 8-bit codebooks (about 1e-3 here).
      const double d = max_abs_diff(got, predict(g, in, 5));
      EXPECT_LT(d, 0.01) << "B=" << b;
      EXPECT_GT(d, 0.0) << "B=" << b;
    }
  }
}

TEST(QuantizeGraph, Float16IsStorageOnly) {
  const models::ModelConfig c = small_netvlad();
  auto model = make_model(c, 3);
  const og::GraphWithWeights g = trace_model(*model);
  QuantizeStats st;
  const og::GraphWithWeights h = quantize_graph(g, options(QuantTransform::float16), &st);
  ASSERT_EQ(st.transformed.size(), 7u);
  for (const QuantizedEntry& e : st.transformed) {
    EXPECT_EQ(e.stored, std::vector<std::string>{e.name + "float16"});
    EXPECT_EQ(find(h.initializers, e.name + "float16")->dtype(), DType::f16);
    EXPECT_EQ(e.dequantized, 1);
  }
  EXPECT_EQ(count_ops(h.graph, "dequantize") + count_ops(h.graph, "dequant_matmul"), 0);
  EXPECT_EQ(st.data_bytes_after,
            predicted_data_bytes(g.initializers, options(QuantTransform::float16)));
  // The executor widens f16 initializers: the same graph on f16-rounded weights, bit for bit.
  const og::GraphWithWeights ref = dequantized_reference(g, h, st);
  const auto in = inputs_for(c, 3, 30);
  const Tensor got = predict(h, in, 7);
  EXPECT_TRUE(bit_equal(got, predict(ref, in, 7)));
  EXPECT_LT(max_abs_diff(got, predict(g, in, 7)), 5e-4);
}

// A hand-built graph: W [40, 50] read by a matmul with a batched x [B, 3, 40] (fused, through the
// executor's flattening), a transposed matmul and a transpose (both through one lookup).
og::GraphWithWeights batched_graph(const Tensor& w) {
  og::GraphWithWeights g;
  g.graph.inputs = {{"x", DType::f32, {-1, 3, 40}}, {"z", DType::f32, {-1, 50}}};
  g.graph.initializers = {"W", "steps"};
  g.graph.nodes = {{"matmul", {"x", "W"}, {"y"}, {{"trans_a", false}, {"trans_b", false}}},
                   {"matmul", {"z", "W"}, {"u"}, {{"trans_a", false}, {"trans_b", true}}},
                   {"transpose", {"W"}, {"wt"}, {}},
                   {"matmul", {"z", "wt"}, {"v"}, {{"trans_a", false}, {"trans_b", false}}}};
  g.graph.outputs = {"y", "u", "v"};
  g.initializers = {{"W", w},
                    {"steps", Tensor::from_vector(std::vector<int32_t>(20000, 1), {20000})}};
  return g;
}

TEST(QuantizeGraph, BatchedOperandsTransposesAndSelection) {
  const Tensor w = graph_testing::uniform_f32({40, 50}, 4);
  const og::GraphWithWeights g = batched_graph(w);
  QuantizeStats st;
  const og::GraphWithWeights q =
      quantize_graph(g, options(QuantTransform::quant_uniform, 1999), &st);
  ASSERT_EQ(st.transformed.size(), 1u);  // W (2000 > 1999); the i32 tensor is never selected
  EXPECT_EQ(st.transformed[0].fused_matmuls, 1);
  EXPECT_EQ(st.transformed[0].dequantized, 2);
  ASSERT_EQ(q.graph.nodes.size(), 5u);
  EXPECT_EQ(q.graph.nodes[0].op, "dequant_matmul");
  EXPECT_EQ(q.graph.nodes[1].op, "dequantize");
  EXPECT_EQ(q.graph.nodes[2].inputs, (std::vector<std::string>{"z", "W"}));
  const std::map<std::string, Tensor> in = {{"x", graph_testing::uniform_f32({2, 3, 40}, 5)},
                                            {"z", graph_testing::uniform_f32({2, 50}, 6)}};
  engine::Generator g1(0), g2(0);
  const auto got = og::Executor(q.graph, q.initializers).run(in, g1);
  const og::GraphWithWeights ref = dequantized_reference(g, q, st);
  const auto want = og::Executor(ref.graph, ref.initializers).run(in, g2);
  EXPECT_EQ(got.at("y").shape(), (Shape{2, 3, 50}));
  EXPECT_TRUE(close(got.at("y"), want.at("y"), 2e-6, 1e-5));
  EXPECT_TRUE(bit_equal(got.at("u"), want.at("u")));
  EXPECT_TRUE(bit_equal(got.at("v"), want.at("v")));
  // Exactly min_elements elements: kept.
  QuantizeStats none;
  quantize_graph(g, options(QuantTransform::quant_uniform, 2000), &none);
  EXPECT_TRUE(none.transformed.empty());
  EXPECT_EQ(none.kept, 2);
}

TEST(QuantizeGraph, DequantizedValuesAreTheCodebookLookup) {
  const Tensor w = graph_testing::uniform_f32({40, 50}, 8);
  const QuantizedTensor qt = quantize_tensor(w, QuantTransform::quant_quantile);
  const std::vector<float> cb = qt.codebook.to_vector<float>();
  const std::vector<uint8_t> idx = qt.indices.to_vector<uint8_t>();
  std::vector<float> lookup(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) lookup[i] = cb[idx[i]];
  const Tensor want = Tensor::from_vector(lookup, w.shape());
  EXPECT_TRUE(bit_equal(ops::dequantize(qt.codebook, qt.indices), want));
  // The dequantize op is traced and executed like any other.
  Tensor traced_out;
  og::GraphWithWeights traced;
  {
    autograd::NoGradGuard ng;
    og::Tracer tracer;
    tracer.add_initializers({{"W_space", qt.codebook}, {"W_quants", qt.indices}});
    traced_out = ops::dequantize(qt.codebook, qt.indices);
    traced = tracer.finish({{"W", traced_out}});
  }
  ASSERT_EQ(traced.graph.nodes.size(), 1u);
  EXPECT_EQ(traced.graph.nodes[0].op, "dequantize");
  EXPECT_EQ(traced.graph.nodes[0].inputs, (std::vector<std::string>{"W_space", "W_quants"}));
  engine::Generator gen(0);
  EXPECT_TRUE(
      bit_equal(og::Executor(traced.graph, traced.initializers).run({}, gen).at("W"), want));
}

TEST(QuantizeGraph, AnInitializerThatIsAGraphOutput) {
  og::GraphWithWeights g;
  g.graph.initializers = {"W"};
  g.graph.outputs = {"W"};
  g.initializers = {{"W", graph_testing::uniform_f32({30, 7}, 14)}};
  QuantizeStats st;
  const og::GraphWithWeights q = quantize_graph(g, options(QuantTransform::quant_uniform), &st);
  ASSERT_EQ(q.graph.nodes.size(), 1u);
  EXPECT_EQ(q.graph.nodes[0].op, "dequantize");
  engine::Generator gen(0);
  const Tensor got = og::Executor(q.graph, q.initializers).run({}, gen).at("W");
  EXPECT_TRUE(bit_equal(got, dequantized_reference(g, q, st).initializers[0].second));
  // float16 has no node to write the f32 value: refused.
  const std::string msg =
      testing::error_of([&] { quantize_graph(g, options(QuantTransform::float16)); });
  EXPECT_NE(msg.find("graph output"), std::string::npos) << msg;
}

TEST(QuantizeArchive, WritesAQuantizedArchive) {
  testing::TempDir dir;
  const models::ModelConfig c = small_netvlad();
  auto model = make_model(c, 5);
  export_model(*model, dir.file("m.y8m"));
  const ArchiveModel f32(dir.file("m.y8m"));
  const auto in = inputs_for(c, 3, 40);
  engine::Generator g0(9);
  const Tensor p32 = f32.predict(in, g0);
  for (QuantTransform t : {QuantTransform::quant_uniform, QuantTransform::quant_quantile,
                           QuantTransform::quant_kmeans, QuantTransform::float16}) {
    const std::string name = quant_transform_name(t);
    SCOPED_TRACE(name);
    const std::string out = dir.file(name + "/sub/inference_model.y8m");  // folders are created
    const QuantizeSummary s = quantize_archive(dir.file("m.y8m"), out, options(t));
    EXPECT_EQ(s.file_bytes_before, std::filesystem::file_size(dir.file("m.y8m")));
    EXPECT_EQ(s.file_bytes_after, std::filesystem::file_size(out));
    EXPECT_EQ(s.stats.transformed.size(), 7u);
    // Same predictions as the pass run in memory; close to the f32 archive's.
    const ArchiveModel am(out);
    EXPECT_EQ(am.config(), c);
    EXPECT_EQ(am.archive().metadata.at("quantize_transform"), name);
    EXPECT_EQ(am.archive().metadata.at("quantize_min_elements"), "16");
    EXPECT_EQ(am.archive().metadata.at("quantized_from"), dir.file("m.y8m"));
    engine::Generator g1(9), g2(9);
    const Tensor got = am.predict(in, g1);
    const og::GraphWithWeights mem =
        quantize_graph({f32.archive().graph, f32.archive().initializers}, options(t));
    EXPECT_TRUE(bit_equal(got, predict(mem, in, 9)));
    EXPECT_LT(max_abs_diff(got, p32), t == QuantTransform::float16 ? 5e-4 : 0.01);
    // The container links each index tensor to its codebook; nothing else has one.
    const io::Container box(out);
    for (const io::ContainerTensor& e : box.tensors()) {
      const bool quants = e.name.size() > 7 && e.name.substr(e.name.size() - 7) == "_quants";
      EXPECT_EQ(e.codebook, quants ? e.name.substr(0, e.name.size() - 7) + "_space" : "") << e.name;
    }
    // Quantizing again changes nothing (codebooks are never selected): an idempotent pass.
    if (t != QuantTransform::float16) {
      const QuantizeSummary again =
          quantize_archive(out, dir.file(name + "/again.y8m"), options(t));
      EXPECT_TRUE(again.stats.transformed.empty());
    }
  }
}

TEST(QuantizeArchive, EnsemblesOfQuantizedArchivesKeepTheCodebookLinks) {
  testing::TempDir dir;
  const models::ModelConfig c = small_netvlad();
  export_model(*make_model(c, 6), dir.file("a.y8m"));
  export_model(*make_model(c, 7), dir.file("b.y8m"));
  quantize_archive(dir.file("a.y8m"), dir.file("qa.y8m"), options(QuantTransform::quant_uniform));
  quantize_archive(dir.file("b.y8m"), dir.file("qb.y8m"), options(QuantTransform::float16));
  const std::string path =
      write_ensemble({dir.file("qa.y8m"), dir.file("qb.y8m")}, {0.5, 0.5}, dir.file("ens"));
  const io::Container box(path);
  const io::ContainerTensor* e = box.find("model_0/hidden1_weights_quants");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->codebook, "model_0/hidden1_weights_space");
  ASSERT_NE(box.find("model_1/hidden1_weightsfloat16"), nullptr);
  const ArchiveModel am(path);
  engine::Generator gen(1);
  EXPECT_EQ(am.predict(inputs_for(c, 2, 3), gen).shape(), (Shape{2, 5}));
}

// SPEC §0.3: NetVLAD1 is 1226.6 MiB in f32 and 306.8 MiB quantized. Exporting the real model
// (1.2 GB of weights, traced twice) would dominate the suite, so the sizes come from its tensor
// list: predicted_data_bytes is exactly what quantize_graph writes (checked on the small model
// above), and the preamble and header add a few KiB on top.
TEST(QuantizeSize, NetVLAD1UniformIsAQuarterOfF32) {
  models::CreateOptions co;
  co.skip_random_init = true;  // shapes only: the big tensors are never touched
  auto m = models::create_model(models::netvlad_config(256, 1024), 0, Device::cpu(), co);
  og::NamedTensors tensors = m->named_parameters();
  for (auto& kv : m->named_buffers()) tensors.push_back(kv);
  const double mib = 1024.0 * 1024.0;
  const uint64_t f32 = tensor_data_bytes(tensors);
  const uint64_t q = predicted_data_bytes(tensors, options(QuantTransform::quant_uniform, 17000));
  const uint64_t h = predicted_data_bytes(tensors, options(QuantTransform::float16, 17000));
  EXPECT_NEAR(static_cast<double>(f32) / mib, 1226.6, 0.05);
  EXPECT_NEAR(static_cast<double>(q) / mib, 306.8, 0.05);
  EXPECT_LE(static_cast<double>(q), 0.26 * static_cast<double>(f32));
  EXPECT_NEAR(static_cast<double>(h) / static_cast<double>(f32), 0.5, 0.001);
}

TEST(QuantizeArchive, Errors) {
  testing::TempDir dir;
  const models::ModelConfig c = small_netvlad();
  export_model(*make_model(c, 8), dir.file("m.y8m"));
  auto has = [](const std::string& msg, const std::string& part) {
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  };
  const QuantizeOptions o = options(QuantTransform::quant_uniform);
  has(testing::error_of([&] { quantize_archive("", dir.file("q.y8m"), o); }), "--model");
  has(testing::error_of([&] { quantize_archive(dir.file("m.y8m"), "", o); }), "--savefile");
  has(testing::error_of([&] { quantize_archive(dir.file("none.y8m"), dir.file("q.y8m"), o); }),
      "none.y8m");
  has(testing::error_of([&] { quantize_archive(dir.file("m.y8m"), dir.path(), o); }),
      "is a folder");
  // Not an archive: a checkpoint, and a file of garbage.
  CheckpointState s;
  s.model_config = models::to_map(c);
  save_checkpoint(dir.path(), s, 0);
  has(testing::error_of(
          [&] { quantize_archive(checkpoint_path(dir.path(), 0), dir.file("q.y8m"), o); }),
      "not an archive");
  testing::write_file(dir.file("junk.y8m"), "not a container at all");
  has(testing::error_of([&] { quantize_archive(dir.file("junk.y8m"), dir.file("q.y8m"), o); }),
      "junk.y8m");
  EXPECT_FALSE(std::filesystem::exists(dir.file("q.y8m")));
  QuantizeOptions neg = o;
  neg.min_elements = -1;
  has(testing::error_of([&] { quantize_archive(dir.file("m.y8m"), dir.file("q.y8m"), neg); }),
      "--min_elements");
  // An existing savefile is replaced (atomically: no temporary file is left), even in place.
  testing::write_file(dir.file("q.y8m"), "old contents");
  quantize_archive(dir.file("m.y8m"), dir.file("q.y8m"), o);
  EXPECT_NO_THROW(read_archive(dir.file("q.y8m")));
  quantize_archive(dir.file("m.y8m"), dir.file("m.y8m"), options(QuantTransform::float16));
  EXPECT_EQ(read_archive(dir.file("m.y8m")).metadata.at("quantize_transform"), "float16");
  for (const auto& f : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(f.path().filename().string().find(".tmp"), std::string::npos) << f.path();
}

TEST(QuantizeGraph, Errors) {
  auto has = [](const std::string& msg, const std::string& part) {
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  };
  // A non-finite weight, named.
  Tensor w = graph_testing::uniform_f32({40, 50}, 9);
  w.data<float>()[77] = NAN;
  std::string msg = testing::error_of(
      [&] { quantize_graph(batched_graph(w), options(QuantTransform::quant_kmeans, 100)); });
  has(msg, "'W'");
  has(msg, "non-finite");
  // float16 of a value beyond its range.
  w = graph_testing::uniform_f32({40, 50}, 9);
  w.data<float>()[3] = 70000.0f;
  msg = testing::error_of(
      [&] { quantize_graph(batched_graph(w), options(QuantTransform::float16, 100)); });
  has(msg, "'W'");
  has(msg, "65504");
  // A new name that already names a value.
  og::GraphWithWeights g = batched_graph(graph_testing::uniform_f32({40, 50}, 10));
  g.graph.nodes[2].outputs = {"W_space"};
  g.graph.nodes[3].inputs[1] = "W_space";
  has(testing::error_of([&] { quantize_graph(g, options(QuantTransform::quant_uniform, 100)); }),
      "'W_space'");
  // A missing initializer tensor.
  g = batched_graph(graph_testing::uniform_f32({40, 50}, 10));
  g.initializers.pop_back();
  has(testing::error_of([&] { quantize_graph(g, options(QuantTransform::quant_uniform, 100)); }),
      "'steps'");
}

}  // namespace
}  // namespace y8m::pipeline
