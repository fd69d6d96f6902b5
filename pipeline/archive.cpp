// Portable model archives (pipeline/archive.h): tracing a model and the archive container (the
// graph's Protobuf form is pipeline/graph_proto.cpp).
#include "pipeline/archive.h"

#include "autograd/variable.h"
#include "engine/error.h"
#include "io/container.h"
#include "ops/graph/trace.h"
#include "ops/ops.h"
#include "pipeline/checkpoint.h"

#include <cmath>
#include <memory>
#include <set>

namespace y8m::pipeline {

namespace og = ops::graph;

namespace {

// Restores a module's training mode on scope exit.
class ModeRestore {
 public:
  explicit ModeRestore(models::VideoModel& m) : m_(m), training_(m.is_training()) {}
  ~ModeRestore() { m_.train(training_); }
  ModeRestore(const ModeRestore&) = delete;
  ModeRestore& operator=(const ModeRestore&) = delete;

 private:
  models::VideoModel& m_;
  bool training_;
};

// Deterministic synthetic inputs: only their shapes and dtypes shape the graph.
Tensor trace_frames(int64_t b, int64_t t, int64_t f, uint64_t seed) {
  Tensor u = Tensor::empty({b, t, f}, DType::f32);
  engine::fill_uniform(u, seed, 0, 0.0, 256.0);
  std::vector<uint8_t> v(static_cast<size_t>(u.numel()));
  const float* p = u.data<float>();
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<uint8_t>(std::min(255.0f, std::floor(p[i])));
  return Tensor::from_vector(v, {b, t, f});
}

Tensor trace_num_frames(int64_t b, int64_t t, uint64_t seed) {
  Tensor u = Tensor::empty({b}, DType::f32);
  engine::fill_uniform(u, seed + 1, 0, 0.0, 1.0);
  std::vector<int32_t> n(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i)
    n[static_cast<size_t>(i)] =
        static_cast<int32_t>(std::floor(u.data<float>()[i] * static_cast<float>(t + 1)));
  if (b > 0) n[0] = static_cast<int32_t>(t);  // one full video
  return Tensor::from_vector(n, {b});
}

// One trace of the eval forward at batch size b.
og::GraphWithWeights trace_at(models::VideoModel& model, int64_t b, const ExportOptions& o,
                              Device dev) {
  const models::ModelConfig& c = model.config();
  const int64_t f = c.total_feature_size();
  og::Tracer tracer;
  autograd::NamedTensors named = model.named_parameters();
  for (auto& kv : model.named_buffers()) named.push_back(kv);
  tracer.add_initializers(named);
  engine::Generator gen(o.trace_seed, 0);
  Tensor x, num_frames;
  if (model.frame_level()) {
    const int64_t t = c.max_frames;
    const Tensor frames = trace_frames(b, t, f, o.trace_seed).to(dev);
    num_frames = trace_num_frames(b, t, o.trace_seed);
    const Tensor num_frames_dev = num_frames.to(dev);
    tracer.add_input("frames", frames, {-1, t, f});
    tracer.add_input("num_frames", num_frames, {-1});
    tracer.add_input("num_frames", num_frames_dev, {-1});
    x = ops::prepare_frames(frames, num_frames_dev);
  } else {
    Tensor features = Tensor::empty({b, f}, DType::f32);
    engine::fill_uniform(features, o.trace_seed, 0, -1.0, 1.0);
    features = features.to(dev);
    tracer.add_input("features", features, {-1, f});
    x = ops::l2_normalize(features, -1);
  }
  // The evaluator's order (pipeline/evaluator.cpp): sum of the rounds, then one scale.
  Tensor p = model.forward(x, num_frames, gen);
  for (int r = 1; r < o.n_rounds; ++r) p = ops::add(p, model.forward(x, num_frames, gen));
  if (o.n_rounds > 1) p = ops::mul_scalar(p, 1.0 / o.n_rounds);
  return tracer.finish({{"predictions", p}});
}

}  // namespace

og::GraphWithWeights trace_model(models::VideoModel& model, const ExportOptions& opts) {
  const char* m = model.name().c_str();
  Y8M_CHECK(opts.n_rounds >= 1, "export: --n_rounds must be at least 1, got {}", opts.n_rounds);
  Y8M_CHECK(opts.trace_batch >= 1, "export: the trace batch must be at least 1, got {}",
            opts.trace_batch);
  Device dev = Device::cpu();
  autograd::NamedTensors named = model.named_parameters();
  for (auto& kv : model.named_buffers()) named.push_back(kv);
  for (const auto& [name, t] : named) {
    Y8M_CHECK(t.dtype() == DType::f32, "export: {} tensor '{}' is {}; archives hold f32 models", m,
              name, t.str());
  }
  if (!named.empty()) dev = named.front().second.device();
  autograd::NoGradGuard ng;
  ModeRestore restore(model);
  model.eval();
  const int64_t b = opts.trace_batch;
  og::GraphWithWeights g = og::merge_batch_traces(trace_at(model, b, opts, dev), b,
                                                  trace_at(model, b + 1, opts, dev), b + 1);
  og::validate(g.graph);
  return g;
}

std::map<std::string, std::string> codebook_names(const og::Graph& graph) {
  std::map<std::string, std::string> m;
  for (const og::Node& n : graph.nodes) {
    if (n.op == "dequant_matmul" && n.inputs.size() == 4) m[n.inputs[1]] = n.inputs[2];
    if (n.op == "dequantize" && n.inputs.size() == 2) m[n.inputs[1]] = n.inputs[0];
  }
  return m;
}

void write_archive(const std::string& path, const og::GraphWithWeights& traced,
                   const models::ModelConfig& config,
                   const std::map<std::string, std::string>& metadata) {
  og::validate(traced.graph);
  io::ContainerContents c;
  c.kind = kArchiveKind;
  c.metadata = metadata;
  c.metadata["graph_version"] = std::to_string(kGraphVersion);
  c.model_config = models::to_map(config);
  c.graph = serialize_graph(traced.graph);
  const std::map<std::string, std::string> codebooks = codebook_names(traced.graph);
  for (const auto& [name, t] : traced.initializers) {
    const auto it = codebooks.find(name);
    c.tensors.push_back({name, t, it == codebooks.end() ? "" : it->second});
  }
  io::write_container(path, c);
}

void export_model(models::VideoModel& model, const std::string& path, const ExportOptions& opts) {
  const og::GraphWithWeights g = trace_model(model, opts);
  std::map<std::string, std::string> meta = opts.metadata;
  meta["n_rounds"] = std::to_string(opts.n_rounds);
  meta["sample_all"] = model.config().sample_all ? "true" : "false";
  write_archive(path, g, model.config(), meta);
}

void check_flags_match_archive(const std::map<std::string, std::string>& archive_config,
                               const std::string& path,
                               const std::map<std::string, std::string>& flags) {
  for (const auto& [name, value] : flags) {
    const auto it = archive_config.find(name);
    Y8M_CHECK(it != archive_config.end() && it->second == value,
              "--{}={} does not match the archive {} ({}); the architecture comes from the archive",
              name, value, path, it != archive_config.end() ? it->second : "absent");
  }
}

models::ModelConfig eval_model_config(const std::map<std::string, std::string>& checkpoint_config,
                                      const std::string& path,
                                      const std::map<std::string, std::string>& flags,
                                      const std::map<std::string, std::string>& ignored,
                                      std::vector<std::string>* notes) {
  static const std::set<std::string> kSampling = {"sample_all", "sample_random_frames",
                                                  "iterations"};
  std::map<std::string, std::string> m = checkpoint_config;
  for (const auto& [name, value] : flags) {
    const auto it = m.find(name);
    if (kSampling.count(name) != 0) {
      m[name] = value;
      continue;
    }
    const auto ig = ignored.find(name);
    if (ig != ignored.end() && ig->second == value && (it == m.end() || it->second != value)) {
      if (notes != nullptr)
        notes->push_back(fmt::format(
            "note: --{}={} ignored, as the EMA run that wrote {} ignored it; its architecture has "
            "{}",
            name, value, path, it != m.end() ? it->second : "no such setting"));
      continue;
    }
    Y8M_CHECK(it != m.end() && it->second == value,
              "--{}={} does not match the checkpoint {} ({}); architecture flags are read from "
              "the checkpoint",
              name, value, path, it != m.end() ? it->second : "absent");
  }
  return models::config_from_map(m);
}

void export_checkpoint(const std::string& checkpoint, const std::string& path,
                       const ExportOptions& opts, Device device) {
  CheckpointState s = load_checkpoint(checkpoint);
  if (!opts.use_ema && !s.ema.empty() && opts.notes != nullptr)
    std::fprintf(opts.notes,
                 "note: %s holds EMA shadows; exporting its trained weights as eval.py did without "
                 "--use_EMA (pass --use_EMA to export the averaged weights)\n",
                 checkpoint.c_str());
  if (opts.use_ema) swap_in_ema(s, checkpoint);
  check_finite_weights(s.model, checkpoint);
  std::vector<std::string> notes;
  const models::ModelConfig config = eval_model_config(s.model_config, checkpoint, opts.model_flags,
                                                       ignored_flags(s.metadata), &notes);
  for (const auto& n : notes)
    if (opts.notes != nullptr) std::fprintf(opts.notes, "%s\n", n.c_str());
  models::CreateOptions co;
  co.skip_random_init = true;
  auto model = models::create_model(config, 0, device, co);
  for (const auto& kv : s.model) model->load_tensor(kv.first, kv.second);
  ExportOptions o = opts;
  o.metadata["source_checkpoint"] = checkpoint;
  o.metadata["step"] = std::to_string(s.step);
  if (opts.use_ema) o.metadata["weights"] = "ExponentialMovingAverage";
  export_model(*model, path, o);
}

Archive read_archive(const std::string& path) {
  io::Container c(path);
  c.verify();
  Y8M_CHECK(c.kind() == kArchiveKind, "{}: a '{}' container, not an archive", path, c.kind());
  Archive a;
  a.path = path;
  a.graph = parse_graph(c.graph(), path);
  a.model_config = c.model_config();
  a.metadata = c.metadata();
  for (const std::string& name : a.graph.initializers) {
    const io::ContainerTensor* t = c.find(name);
    Y8M_CHECK(t != nullptr, "{}: the graph needs the initializer '{}', which the archive lacks",
              path, name);
    a.initializers.emplace_back(name, t->tensor);
  }
  return a;
}

std::map<std::string, Tensor> graph_inputs(const og::Graph& graph, const io::Batch& batch) {
  if (graph.find_input("features") != nullptr) return {{"features", batch.frames}};
  return {{"frames", batch.frames}, {"num_frames", batch.num_frames}};
}

ArchiveModel::ArchiveModel(const std::string& path, Device device)
    : archive_(read_archive(path)), executor_(archive_.graph, archive_.initializers, device) {}

Tensor ArchiveModel::predict(const io::Batch& batch, engine::Generator& gen) const {
  return predict(graph_inputs(archive_.graph, batch), gen);
}

Tensor ArchiveModel::predict(const std::map<std::string, Tensor>& inputs,
                             engine::Generator& gen) const {
  autograd::NoGradGuard ng;
  return executor_.run(inputs, gen).at("predictions");
}

}  // namespace y8m::pipeline
