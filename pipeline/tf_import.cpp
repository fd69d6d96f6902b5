#include "pipeline/tf_import.h"

#include "engine/error.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

namespace y8m::pipeline {

namespace fs = std::filesystem;

namespace {

constexpr const char* kShadowSuffix = "/ExponentialMovingAverage";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_prefix(const std::string& p) { return fs::is_regular_file(p + ".index"); }

// Slot variables of the tf.train optimizers (TensorFlow names them "<var>/<slot>").
bool optimizer_slot(const std::string& name) {
  static const std::set<std::string> kSlots = {
      "Adam",       "Adam_1", "Momentum", "RMSProp",         "RMSProp_1", "Adagrad",    "Adadelta",
      "Adadelta_1", "Ftrl",   "Ftrl_1",   "ProximalAdagrad", "AdagradDA", "AdagradDA_1"};
  const size_t slash = name.rfind('/');
  return slash != std::string::npos && kSlots.count(name.substr(slash + 1)) > 0;
}

std::string shape_str(const Shape& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

// The checkpoint shape with leading 1s dropped down to the model's rank.
Shape squeezed(Shape s, size_t rank) {
  while (s.size() > rank && s.front() == 1) s.erase(s.begin());
  return s;
}

// The direct children of `scope` among the checkpoint's names, for the wrong-architecture hint.
std::string scope_children(const io::TfBundle& b, const std::string& scope) {
  std::set<std::string> out;
  for (const auto& e : b.entries()) {
    if (e.name.compare(0, scope.size(), scope) != 0 || ends_with(e.name, kShadowSuffix) ||
        optimizer_slot(e.name))
      continue;
    const std::string rest = e.name.substr(scope.size());
    out.insert(rest.substr(0, rest.find('/')));
  }
  if (out.empty()) return fmt::format("the checkpoint has no variables under '{}'", scope);
  return fmt::format("the checkpoint has under '{}': {}", scope, fmt::join(out, ", "));
}

}  // namespace

std::string resolve_tf_checkpoint(const std::string& path) {
  std::string p = path;
  for (const char* ext : {".index", ".meta"})  // TensorFlow's files of a prefix
    if (ends_with(p, ext)) p.resize(p.size() - std::strlen(ext));
  if (is_prefix(p)) return p;
  Y8M_CHECK(fs::is_directory(path),
            "{}: not a TensorFlow checkpoint: neither {}.index nor a folder exists", path, p);
  const fs::path dir(path);
  if (fs::is_regular_file(dir / "checkpoint")) {
    // TensorFlow's CheckpointState text: model_checkpoint_path: "<prefix>" (relative to the folder
    // or absolute).
    std::ifstream in(dir / "checkpoint");
    static const std::regex kLine(R"re(^model_checkpoint_path:\s*"(.*)"\s*$)re");
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (!std::regex_match(line, m, kLine)) continue;
      const fs::path named(m[1].str());
      std::string prefix = named.is_absolute() ? named.string() : (dir / named).string();
      // A folder copied elsewhere keeps its absolute paths: look beside the checkpoint file.
      if (!is_prefix(prefix) && named.is_absolute()) prefix = (dir / named.filename()).string();
      Y8M_CHECK(is_prefix(prefix), "{}/checkpoint names '{}', but {}.index does not exist", path,
                m[1].str(), prefix);
      return prefix;
    }
    Y8M_FAIL("{}/checkpoint: no model_checkpoint_path line", path);
  }
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".index")
      found.push_back((dir / e.path().stem()).string());
  std::sort(found.begin(), found.end());
  Y8M_CHECK(!found.empty(), "{}: no TensorFlow checkpoint (*.index) in this folder", path);
  Y8M_CHECK(found.size() == 1,
            "{}: {} checkpoints and no 'checkpoint' file to pick one: give the prefix, one of {}",
            path, found.size(), fmt::join(found, ", "));
  return found.front();
}

TfImported import_tf_checkpoint(const std::string& prefix, const models::ModelConfig& config,
                                const TfImportOptions& opts) {
  const io::TfBundle b(prefix);
  TfImported r;
  r.prefix = prefix;
  r.use_ema = opts.use_ema;
  models::CreateOptions co;
  co.skip_random_init = true;
  r.model = models::create_model(config, 0, Device::cpu(), co);
  r.model->eval();
  const std::string scope = opts.scope.empty() ? "" : opts.scope + "/";
  const std::string index = prefix + ".index";
  std::set<std::string> used;
  auto read_as = [&](const std::string& name, DType dtype) {
    const io::TfBundleEntry* e = b.find(name);
    Y8M_CHECK(e->dtype == dtype, "{}: variable '{}' is {}, expected {}", index, name,
              io::tf_dtype_name(e->tf_dtype), dtype_name(dtype));
    used.insert(name);
    return b.read(name);
  };
  // Every variable is looked up before any is read, so that a wrong architecture is reported as
  // the missing variables (with the checkpoint's scopes), not as the first shape that differs.
  auto has = [&](const std::string& n) { return b.find(n) != nullptr; };
  std::vector<std::string> missing;
  for (const auto& list : {r.model->named_parameters(), r.model->named_buffers()})
    for (const auto& kv : list) {
      const std::string want = scope + kv.first + (opts.use_ema ? kShadowSuffix : "");
      if (!has(want) && !(has(want + "_quants") && has(want + "_space")) && !has(want + "float16"))
        missing.push_back(want);
    }
  if (!missing.empty())
    Y8M_FAIL("{}: no variable '{}'{} for {}; {} (wrong --model or architecture flags{}?)", index,
             missing.front(),
             missing.size() > 1 ? fmt::format(" (and {} more missing)", missing.size() - 1) : "",
             config.model, scope_children(b, scope),
             opts.use_ema ? ", or no EMA shadows: import without --use_ema" : "");
  for (const auto& list : {r.model->named_parameters(), r.model->named_buffers()}) {
    for (const auto& [name, param] : list) {
      const std::string want = scope + name + (opts.use_ema ? kShadowSuffix : "");
      Tensor value;
      std::string from = want;
      if (has(want)) {
        value = read_as(want, DType::f32);
      } else if (has(want + "_quants")) {
        // quantize.py (SPEC §11): the graph reads gather(space, int32(quants)).
        from = want + "_quants";
        const Tensor q = read_as(want + "_quants", DType::u8);
        const Tensor space = read_as(want + "_space", DType::f32);
        Y8M_CHECK(space.shape() == Shape{256}, "{}: '{}_space' is {}, expected [256]", index, want,
                  shape_str(space.shape()));
        value = Tensor::empty(q.shape(), DType::f32);
        const uint8_t* qi = q.data<uint8_t>();
        const float* cb = space.data<float>();
        float* out = value.data<float>();
        for (int64_t i = 0; i < q.numel(); ++i) out[i] = cb[qi[i]];
        ++r.dequantized;
      } else {
        from = want + "float16";
        value = read_as(from, DType::f16).to(DType::f32);
        ++r.dequantized;
      }
      const Shape got = squeezed(value.shape(), param.shape().size());
      Y8M_CHECK(got == param.shape(),
                "{}: variable '{}' is {}, but {} needs {} for '{}' (an architecture flag differs "
                "from the run that wrote it?)",
                index, from, shape_str(value.shape()), config.model, shape_str(param.shape()),
                name);
      r.model->load_tensor(name, value.reshape(param.shape()));
      ++r.imported;
    }
  }
  for (const auto& e : b.entries()) {
    if (used.count(e.name)) continue;
    const bool outside = e.name.compare(0, scope.size(), scope) != 0;
    const bool shadow = ends_with(e.name, kShadowSuffix);
    const bool explained = outside || optimizer_slot(e.name) || (shadow && !opts.use_ema) ||
                           (opts.use_ema && used.count(e.name + kShadowSuffix));
    Y8M_CHECK(explained,
              "{}: variable '{}' {} has no place in {} built with these flags (an architecture "
              "flag differs from the run that wrote it?)",
              index, e.name, shape_str(e.shape), config.model);
    r.ignored.push_back(e.name);
  }
  // The step: global_step, else the "-N" of model.ckpt-N.
  if (const io::TfBundleEntry* g = b.find("global_step");
      g != nullptr && g->shape.empty() && (g->dtype == DType::i64 || g->dtype == DType::i32)) {
    r.step = b.read("global_step").to(DType::i64).item<int64_t>();
  } else {
    static const std::regex kStep(R"(.*-(\d+))");
    std::smatch m;
    const std::string base = fs::path(prefix).filename().string();
    if (std::regex_match(base, m, kStep)) r.step = std::stoll(m[1].str());
  }
  NamedTensors all = r.model->named_parameters();
  for (const auto& kv : r.model->named_buffers()) all.push_back(kv);
  check_finite_weights(all, index);
  return r;
}

CheckpointState tf_import_checkpoint_state(const TfImported& imported) {
  CheckpointState s;
  s.step = imported.step;
  s.model_config = models::to_map(imported.model->config());
  s.metadata["source_tf_checkpoint"] = imported.prefix;
  if (imported.use_ema) s.metadata["weights"] = "ExponentialMovingAverage";
  for (const auto& list : {imported.model->named_parameters(), imported.model->named_buffers()})
    for (const auto& kv : list) s.model.push_back(kv);
  return s;
}

}  // namespace y8m::pipeline
