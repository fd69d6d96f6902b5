// models/netfv.h and models/dbof.h (SPEC §3.2–3.3, §3.6): the poolings against loop-by-loop
// references written from the SPEC's formulas, gradients of tiny models under every flag, variable
// names, the parameter counts of SPEC §0.3 (FVNet, DBoF1/2/3) and configuration errors.
#include "models/dbof.h"
#include "models/netfv.h"

#include "model_test_util.h"
#include "models/zoo.h"
#include "ops/elementwise/elementwise.h"
#include "ops/matmul/matmul.h"
#include "ops/reduce/reduce.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace y8m::models {
namespace {

using testing::count_elements;
using testing::expect_error;
using testing::expect_gradcheck;
using testing::expect_probabilities_and_gradients;
using testing::frames;
using testing::names;
using testing::num_frames;
using testing::randomize;
using testing::uniform;

Tensor param(const autograd::Module& m, const std::string& name) {
  for (const auto& kv : m.named_parameters())
    if (kv.first == name) return kv.second;
  for (const auto& kv : m.named_buffers())
    if (kv.first == name) return kv.second;
  ADD_FAILURE() << "no tensor " << name;
  return {};
}

// softmax(BN(z·Wc)) per frame, in training mode (batch statistics over the B*S rows, epsilon 1e-3),
// as [rows][K]: the soft assignment both poolings start from.
std::vector<std::vector<double>> assignments(const std::vector<double>& z, int64_t rows, int64_t f,
                                             int64_t k, const autograd::Module& m,
                                             const std::string& bn = "cluster_bn") {
  const auto w = param(m, "cluster_weights").to_vector<double>();
  const auto beta = param(m, bn + "/beta").to_vector<double>();
  const auto gamma = param(m, bn + "/gamma").to_vector<double>();
  std::vector<std::vector<double>> x(static_cast<size_t>(rows), std::vector<double>(k, 0.0));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = 0; i < f; ++i) x[r][j] += z[r * f + i] * w[i * k + j];
  for (int64_t j = 0; j < k; ++j) {
    double mean = 0, var = 0;
    for (int64_t r = 0; r < rows; ++r) mean += x[r][j] / rows;
    for (int64_t r = 0; r < rows; ++r) var += (x[r][j] - mean) * (x[r][j] - mean) / rows;
    for (int64_t r = 0; r < rows; ++r)
      x[r][j] = gamma[j] * (x[r][j] - mean) / std::sqrt(var + 1e-3) + beta[j];
  }
  for (auto& row : x) {
    const double mx = *std::max_element(row.begin(), row.end());
    double total = 0;
    for (double& v : row) total += (v = std::exp(v - mx));
    for (double& v : row) v /= total;
  }
  return x;
}

void l2norm(double* v, int64_t n, int64_t stride = 1) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += v[i * stride] * v[i * stride];
  const double scale = 1.0 / std::sqrt(std::max(ss, 1e-12));
  for (int64_t i = 0; i < n; ++i) v[i * stride] *= scale;
}

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-9) << "element " << i;
}

Initializer f64_init(engine::Generator& g) {
  InitOptions o;
  o.dtype = DType::f64;
  return Initializer(g, o);
}

// The Fisher-vector formulas of SPEC §3.2, loop by loop.
std::vector<double> fv_reference(const std::vector<double>& z, int64_t b, int64_t s, int64_t f,
                                 int64_t k, const NetFV& fv, bool coupled, double factor) {
  const auto a = assignments(z, b * s, f, k, fv);
  const auto cv = param(fv, "covar_weights").to_vector<double>();
  std::vector<double> mu = coupled ? param(fv, "cluster_weights").to_vector<double>()
                                   : param(fv, "cluster_weights2").to_vector<double>();
  if (coupled)
    for (double& v : mu) v *= factor;
  std::vector<double> out(static_cast<size_t>(b * 2 * f * k));
  for (int64_t v = 0; v < b; ++v) {
    std::vector<double> fv1(f * k), fv2(f * k);
    for (int64_t j = 0; j < k; ++j) {
      double asum = 0;
      for (int64_t t = 0; t < s; ++t) asum += a[v * s + t][j];
      for (int64_t i = 0; i < f; ++i) {
        double s1 = 0, s2 = 0;
        for (int64_t t = 0; t < s; ++t) {
          const double x = z[(v * s + t) * f + i];
          s1 += a[v * s + t][j] * x;
          s2 += a[v * s + t][j] * x * x;
        }
        const double sigma = cv[i * k + j] * cv[i * k + j] + 1e-6, m = mu[i * k + j];
        fv1[i * k + j] = (s1 - asum * m) / sigma;
        fv2[i * k + j] = (asum * m * m + s2 - 2 * m * s1) / (sigma * sigma) - asum;
      }
      l2norm(&fv1[j], f, k);  // intra-normalization over f
    }
    l2norm(fv1.data(), f * k);
    l2norm(fv2.data(), f * k);
    std::copy(fv1.begin(), fv1.end(), out.begin() + v * 2 * f * k);
    std::copy(fv2.begin(), fv2.end(), out.begin() + v * 2 * f * k + f * k);
  }
  return out;
}

TEST(NetFVPooling, MatchesTheSpecFormulasAndGradcheck) {
  const int64_t b = 2, s = 3, f = 4, k = 3;
  for (bool coupled : {false, true}) {
    SCOPED_TRACE(coupled ? "coupled" : "uncoupled");
    engine::Generator g(3);
    Initializer init = f64_init(g);
    NetFV fv(init, f, k, coupled, 0.5);
    // A module lists its own parameters before its children's.
    std::vector<std::string> want = {"cluster_weights", "covar_weights", "cluster_weights2",
                                     "cluster_bn/beta", "cluster_bn/gamma"};
    if (coupled) want.erase(want.begin() + 2);
    EXPECT_EQ(names(fv.named_parameters()), want);
    randomize(fv, 40);
    Tensor z = uniform({b * s, f}, 2);
    const Tensor out = fv.forward(z, b);
    EXPECT_EQ(out.shape(), (Shape{b, 2 * f * k}));
    expect_near_all(out.to_vector<double>(),
                    fv_reference(z.to_vector<double>(), b, s, f, k, fv, coupled, 0.5));
    autograd::set_requires_grad(z, true);
    expect_gradcheck(fv, [&] { return fv.forward(z, b); }, {z});
  }
}

// The DBoF poolings of SPEC §3.3, loop by loop.
std::vector<double> dbof_reference(const std::vector<double>& z, int64_t b, int64_t s, int64_t f,
                                   int64_t k, const DBoF& d, bool gated, bool maxpool) {
  const auto a = assignments(z, b * s, f, k, d);
  std::vector<std::vector<double>> total(b, std::vector<double>(k, 0.0)),
      mx(b, std::vector<double>(k, -1e300));
  for (int64_t v = 0; v < b; ++v)
    for (int64_t t = 0; t < s; ++t)
      for (int64_t j = 0; j < k; ++j) {
        total[v][j] += a[v * s + t][j];
        mx[v][j] = std::max(mx[v][j], a[v * s + t][j]);
      }
  for (auto& row : mx) l2norm(row.data(), k);
  std::vector<double> out;
  if (!gated) {
    for (int64_t v = 0; v < b; ++v) {
      l2norm(total[v].data(), k);
      out.insert(out.end(), total[v].begin(), total[v].end());
      if (maxpool) out.insert(out.end(), mx[v].begin(), mx[v].end());
    }
    return out;
  }
  const auto dr = param(d, "dim_red").to_vector<double>();
  const auto w2 = param(d, "cluster_weights_2").to_vector<double>();
  std::vector<std::vector<double>> x(b, std::vector<double>(k, 0.0));
  for (int64_t v = 0; v < b; ++v)
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = 0; i < f; ++i) {
        double reduced = 0;  // (m · Dr)[i]
        for (int64_t c = 0; c < k; ++c) reduced += mx[v][c] * dr[c * f + i];
        x[v][j] += reduced * w2[i * k + j];
      }
  const auto beta = param(d, "cluster_bn_2/beta").to_vector<double>();
  const auto gamma = param(d, "cluster_bn_2/gamma").to_vector<double>();
  for (int64_t j = 0; j < k; ++j) {
    double mean = 0, var = 0;
    for (int64_t v = 0; v < b; ++v) mean += x[v][j] / b;
    for (int64_t v = 0; v < b; ++v) var += (x[v][j] - mean) * (x[v][j] - mean) / b;
    for (int64_t v = 0; v < b; ++v) {
      const double bn = gamma[j] * (x[v][j] - mean) / std::sqrt(var + 1e-3) + beta[j];
      x[v][j] = total[v][j] / (1.0 + std::exp(-bn));
    }
  }
  for (int64_t v = 0; v < b; ++v) {
    l2norm(x[v].data(), k);
    out.insert(out.end(), x[v].begin(), x[v].end());
  }
  return out;
}

TEST(DBoFPooling, MatchesTheSpecFormulasAndGradcheck) {
  const int64_t b = 3, s = 3, f = 4, k = 5;
  struct Case {
    bool gated, maxpool;
  };
  for (const Case c : {Case{true, false}, Case{false, false}, Case{false, true}}) {
    SCOPED_TRACE(::testing::Message() << "gated " << c.gated << " maxpool " << c.maxpool);
    engine::Generator g(4);
    Initializer init = f64_init(g);
    DBoF d(init, f, k, c.gated, c.maxpool);
    std::vector<std::string> want = {"cluster_weights", "cluster_bn/beta", "cluster_bn/gamma"};
    if (c.gated)
      want = {"cluster_weights",  "dim_red",           "cluster_weights_2", "cluster_bn/beta",
              "cluster_bn/gamma", "cluster_bn_2/beta", "cluster_bn_2/gamma"};
    EXPECT_EQ(names(d.named_parameters()), want);
    randomize(d, 60);
    Tensor z = uniform({b * s, f}, 7);
    const Tensor out = d.forward(z, b);
    EXPECT_EQ(out.shape(), (Shape{b, d.output_size()}));
    expect_near_all(out.to_vector<double>(),
                    dbof_reference(z.to_vector<double>(), b, s, f, k, d, c.gated, c.maxpool));
    autograd::set_requires_grad(z, true);
    expect_gradcheck(d, [&] { return d.forward(z, b); }, {z});
  }
}

// DbofModel's pooling: relu6 of the batch-normed assignment logits, max or mean over the frames.
TEST(DbofModel, PoolingIsMaxOrMeanOfTheClippedAssignments) {
  for (const std::string method : {"max", "average"}) {
    SCOPED_TRACE(method);
    ModelConfig c = dbof_config(8, 4);
    c.model = "DbofModel";
    c.video_level_classifier_model = "LogisticModel";
    c.dbof_pooling_method = method;
    c.feature_sizes = {5, 3};
    c.num_classes = 3;
    c.max_frames = 4;
    c.iterations = 4;
    c.sample_all = true;  // every frame, in order: the pooled frames are known
    CreateOptions o;
    o.dtype = DType::f64;
    auto m = create_model(c, 3, Device::cpu(), o);
    randomize(*m, 90);
    m->eval();  // moving statistics (mean 0, variance 1): BN is an affine map per cluster
    const std::vector<int32_t> n = {4, 4};
    const Tensor x = frames(2, 4, 8, n, 12);
    const auto xv = x.to_vector<double>();
    const auto w = m->named_parameters()[0].second.to_vector<double>();  // cluster_weights [8, 8]
    ASSERT_EQ(m->named_parameters()[0].first, "cluster_weights");
    // input_bn and cluster_bn in eval mode: gamma * v / sqrt(1 + 1e-3) + beta.
    std::map<std::string, std::vector<double>> p;
    for (const auto& kv : m->named_parameters()) p[kv.first] = kv.second.to_vector<double>();
    const double inv = 1.0 / std::sqrt(1.0 + 1e-3);
    std::vector<double> want(2 * 8, method == "max" ? -1e300 : 0.0);
    for (int b = 0; b < 2; ++b)
      for (int t = 0; t < 4; ++t)
        for (int k = 0; k < 8; ++k) {
          double logit = 0;
          for (int f = 0; f < 8; ++f) {
            const double z =
                p["input_bn/gamma"][f] * xv[(b * 4 + t) * 8 + f] * inv + p["input_bn/beta"][f];
            logit += z * w[f * 8 + k];
          }
          const double a = std::clamp(
              p["cluster_bn/gamma"][k] * logit * inv + p["cluster_bn/beta"][k], 0.0, 6.0);
          double& out = want[b * 8 + k];
          out = method == "max" ? std::max(out, a) : out + a / 4;
        }
    // The hidden layer then sees D: compare D through hidden1 (BN in eval mode, relu6).
    const auto w1 = p["hidden1_weights"];
    std::vector<double> h(2 * 4, 0.0);
    for (int b = 0; b < 2; ++b)
      for (int j = 0; j < 4; ++j) {
        double s = 0;
        for (int k = 0; k < 8; ++k) s += want[b * 8 + k] * w1[k * 4 + j];
        h[b * 4 + j] =
            std::clamp(p["hidden1_bn/gamma"][j] * s * inv + p["hidden1_bn/beta"][j], 0.0, 6.0);
      }
    // Logistic head: sigmoid(h · W + b).
    const auto hw = p["fully_connected/weights"], hb = p["fully_connected/biases"];
    std::vector<double> probs;
    for (int b = 0; b < 2; ++b)
      for (int v = 0; v < 3; ++v) {
        double s = hb[v];
        for (int j = 0; j < 4; ++j) s += h[b * 4 + j] * hw[j * 3 + v];
        probs.push_back(1.0 / (1.0 + std::exp(-s)));
      }
    engine::Generator g(1);
    expect_near_all(m->forward(x, num_frames(n), g).to_vector<double>(), probs);
  }
}

ModelConfig tiny(const std::string& model) {
  ModelConfig c = model == "NetFVModelLF" ? fvnet_config(4, 4) : dbof_config(8, 4);
  if (model == "DbofModel") c.video_level_classifier_model = "LogisticModel";  // as the original
  c.model = model;
  c.feature_sizes = {5, 3};
  c.num_classes = 3;
  c.max_frames = 4;
  c.iterations = 3;
  return c;
}

struct FlagCase {
  const char* label;
  std::string model;
  std::function<void(ModelConfig&)> set;
};

// Every flag of the three models, each in at least one gradient check.
std::vector<FlagCase> flag_cases() {
  return {
      {"fv_final", "NetFVModelLF", [](ModelConfig&) {}},
      {"fv_relu_coupled_removediag", "NetFVModelLF",
       [](ModelConfig& c) {
         c.fv_relu = true;
         c.fv_couple_weights = true;
         c.fv_coupling_factor = 0.3;
         c.gating_remove_diag = true;
       }},
      {"fv_nogating_logistic_sequence", "NetFVModelLF",
       [](ModelConfig& c) {
         c.gating = false;
         c.video_level_classifier_model = "LogisticModel";
         c.sample_random_frames = false;
       }},
      {"gated_dbof_final", "GatedDbofModelLF", [](ModelConfig&) {}},
      {"gated_dbof_relu_maxpool_probgating", "GatedDbofModelLF",
       [](ModelConfig& c) {
         c.dbof_relu = true;
         c.softdbof_maxpool = true;
         c.moe_prob_gating = true;
       }},
      {"soft_dbof_nodimred_sample_all", "SoftDbofModelLF",
       [](ModelConfig& c) {
         c.fc_dimred = false;
         c.iterations = 4;
         c.sample_all = true;
       }},
      {"google_dbof_max_logistic", "DbofModel", [](ModelConfig&) {}},
      {"google_dbof_average_moe", "DbofModel",
       [](ModelConfig& c) {
         c.dbof_pooling_method = "average";
         c.video_level_classifier_model = "MoeModel";
       }},
      {"soft_dbof_maxpool_logistic", "SoftDbofModelLF",
       [](ModelConfig& c) {
         c.softdbof_maxpool = true;
         c.video_level_classifier_model = "LogisticModel";
       }},
  };
}

std::shared_ptr<VideoModel> tiny_model(const ModelConfig& c, uint64_t seed = 1) {
  CreateOptions o;
  o.dtype = DType::f64;
  return create_model(c, seed, Device::cpu(), o);
}

TEST(FVAndDBoFModels, GradcheckOfTinyModelsUnderEveryFlag) {
  const std::vector<int32_t> n = {4, 2, 3};
  const Tensor x = frames(3, 4, 8, n, 11);
  for (const FlagCase& fc : flag_cases()) {
    SCOPED_TRACE(fc.label);
    ModelConfig c = tiny(fc.model);
    fc.set(c);
    auto m = tiny_model(c);
    randomize(*m, 200);
    expect_probabilities_and_gradients(*m, x, n, 3);
  }
}

TEST(FVAndDBoFModels, VariableNamesOfTheFinalConfigs) {
  std::vector<std::string> fv = names(tiny_model(tiny("NetFVModelLF"))->named_parameters());
  std::sort(fv.begin(), fv.end());
  EXPECT_EQ(fv, (std::vector<std::string>{"audio_FV/cluster_bn/beta",
                                          "audio_FV/cluster_bn/gamma",
                                          "audio_FV/cluster_weights",
                                          "audio_FV/cluster_weights2",
                                          "audio_FV/covar_weights",
                                          "experts/biases",
                                          "experts/weights",
                                          "gates/weights",
                                          "gating_bn/beta",
                                          "gating_bn/gamma",
                                          "gating_prob_bn/beta",
                                          "gating_prob_bn/gamma",
                                          "gating_prob_weights",
                                          "gating_weights_2",
                                          "hidden1_biases",
                                          "hidden1_weights",
                                          "input_bn/beta",
                                          "input_bn/gamma",
                                          "video_FV/cluster_bn/beta",
                                          "video_FV/cluster_bn/gamma",
                                          "video_FV/cluster_weights",
                                          "video_FV/cluster_weights2",
                                          "video_FV/covar_weights"}));
  std::vector<std::string> dbof = names(tiny_model(tiny("GatedDbofModelLF"))->named_parameters());
  std::sort(dbof.begin(), dbof.end());
  EXPECT_EQ(dbof, (std::vector<std::string>{
                      "audio_DBOF/cluster_bn/beta", "audio_DBOF/cluster_bn/gamma",
                      "audio_DBOF/cluster_weights", "experts/biases", "experts/weights",
                      "gates/weights", "hidden1_biases", "hidden1_weights", "input_bn/beta",
                      "input_bn/gamma", "video_DBOF/cluster_bn/beta", "video_DBOF/cluster_bn/gamma",
                      "video_DBOF/cluster_bn_2/beta", "video_DBOF/cluster_bn_2/gamma",
                      "video_DBOF/cluster_weights", "video_DBOF/cluster_weights_2",
                      "video_DBOF/dim_red"}));
  std::vector<std::string> google = names(tiny_model(tiny("DbofModel"))->named_parameters());
  std::sort(google.begin(), google.end());
  EXPECT_EQ(google, (std::vector<std::string>{
                        "cluster_bn/beta", "cluster_bn/gamma", "cluster_weights",
                        "fully_connected/biases", "fully_connected/weights", "hidden1_bn/beta",
                        "hidden1_bn/gamma", "hidden1_weights", "input_bn/beta", "input_bn/gamma"}));
  // --gating does not reach the DBoF models (SPEC §3.3).
  ModelConfig c = tiny("GatedDbofModelLF");
  c.gating = true;
  EXPECT_EQ(tiny_model(c)->named_parameters().size(), dbof.size());
}

// SPEC §0.3: parameters including BN moving statistics.
TEST(FVAndDBoFModels, ParameterCountsOfFVNetAndDBoF123) {
  CreateOptions o;
  o.skip_random_init = true;
  struct Case {
    ModelConfig config;
    int64_t params, descriptor;
  };
  for (const Case& c : {Case{fvnet_config(96, 1540), 369073284, 208896},
                        Case{dbof_config(4096, 1024), 37188652, 4096 + 512},
                        Case{dbof_config(6144, 1536), 59315756, 6144 + 768},
                        Case{dbof_config(3684, 920), 32998372, 3684 + 460}}) {
    SCOPED_TRACE(c.config.model);
    auto m = create_model(c.config, 0, Device::cpu(), o);
    EXPECT_EQ(count_elements(*m), c.params);
    const int64_t d = c.config.model == "NetFVModelLF"
                          ? static_cast<NetFVModelLF&>(*m).descriptor_size()
                          : static_cast<DbofModelLF&>(*m).descriptor_size();
    EXPECT_EQ(d, c.descriptor);
  }
}

TEST(FVAndDBoFModels, UnsupportedFlagsAreClearErrors) {
  ModelConfig c = tiny("NetFVModelLF");
  c.netvlad_add_batch_norm = false;
  expect_error([&] { tiny_model(c); }, {"NetFVModelLF", "netvlad_add_batch_norm", "§16.11"});
  c = tiny("NetFVModelLF");
  c.fv_cluster_size = 1;
  expect_error([&] { tiny_model(c); }, {"NetFVModelLF", "--fv_cluster_size must be >= 2"});
  c = tiny("GatedDbofModelLF");
  c.dbof_add_batch_norm = false;
  expect_error([&] { tiny_model(c); }, {"GatedDbofModelLF", "dbof_add_batch_norm"});
  c = tiny("SoftDbofModelLF");
  c.dbof_cluster_size = 7;
  expect_error([&] { tiny_model(c); }, {"SoftDbofModelLF", "--dbof_cluster_size must be >= 8"});
  c = tiny("GatedDbofModelLF");
  c.feature_names = {"rgb"};
  c.feature_sizes = {8};
  expect_error([&] { tiny_model(c); }, {"GatedDbofModelLF", "two feature streams"});
  c = tiny("DbofModel");
  c.dbof_pooling_method = "median";
  expect_error([&] { tiny_model(c); },
               {"DbofModel", "--dbof_pooling_method must be max or average"});
  c = tiny("DbofModel");
  c.dbof_add_batch_norm = false;
  expect_error([&] { tiny_model(c); }, {"DbofModel", "dbof_add_batch_norm"});
  c = tiny("NetFVModelLF");
  c.sample_all = true;
  expect_error([&] { tiny_model(c); }, {"NetFVModelLF", "--sample_all needs --iterations"});
}

}  // namespace
}  // namespace y8m::models
