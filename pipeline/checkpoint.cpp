#include "pipeline/checkpoint.h"

#include "autograd/ema.h"
#include "engine/error.h"
#include "io/atomic_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <regex>

namespace y8m::pipeline {

namespace fs = std::filesystem;

namespace {
constexpr const char* kOptimizerPrefix = "optimizer/";

bool is_shadow(const std::string& name) {
  const std::string& suffix = autograd::kEmaSuffix;
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}
// Whether a checkpoint file verifies, remembered per (path, size, mtime) so that retention reads
// each file's data once per process, not at every save.
struct Verdict {
  int64_t size = -1, mtime_ns = -1;
  std::string error;  // "" when it verified
  bool reported = false;
};

std::string verify_checkpoint(const std::string& path) {
  try {
    io::Container c(path);
    c.verify();
    Y8M_CHECK(c.kind() == "checkpoint", "{}: a '{}' container, not a checkpoint", path, c.kind());
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

std::mutex verdict_mu;
std::map<std::string, Verdict> verdicts;

// Verifies `path` (or recalls the verdict); returns the error ("" if fine) and whether it is the
// first time this error is returned for this file. `trusted`: record it as verified without
// reading it (the file this process just wrote).
std::pair<std::string, bool> checkpoint_verdict(const std::string& path, bool trusted = false) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {"", false};  // gone meanwhile: nothing to keep
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  std::lock_guard<std::mutex> lock(verdict_mu);
  Verdict& v = verdicts[path];
  if (v.size != st.st_size || v.mtime_ns != mtime) {
    v = Verdict{st.st_size, mtime, trusted ? "" : verify_checkpoint(path), false};
  }
  const bool first = !v.error.empty() && !v.reported;
  v.reported = true;
  return {v.error, first};
}

}  // namespace

std::string checkpoint_path(const std::string& train_dir, int64_t step) {
  return fmt::format("{}/model.ckpt-{}.y8m", train_dir, step);
}

std::string save_checkpoint(const std::string& train_dir, const CheckpointState& s, int keep_max,
                            std::FILE* log) {
  io::ContainerContents c;
  c.kind = "checkpoint";
  c.metadata = s.metadata;
  c.metadata["step"] = std::to_string(s.step);
  c.model_config = s.model_config;
  for (const auto& kv : s.model) c.tensors.push_back({kv.first, kv.second, ""});
  for (const auto& kv : s.optimizer)
    c.tensors.push_back({kOptimizerPrefix + kv.first, kv.second, ""});
  for (const auto& kv : s.ema) c.tensors.push_back({kv.first, kv.second, ""});
  const std::string written = checkpoint_path(train_dir, s.step);
  io::write_container(written, c);
  if (keep_max <= 0) return written;
  checkpoint_verdict(written, /*trusted=*/true);
  const auto stale = io::remove_stale_temps(
      train_dir, [](const std::string& t) { return t.rfind("model.ckpt-", 0) == 0; }, false);
  for (const auto& t : stale)
    if (log)
      std::fprintf(log, "removed %s (%.1f MB), left by a writer that was killed\n", t.path.c_str(),
                   static_cast<double>(t.bytes) / 1e6);
  // The checkpoint just written is kept without reading it back (its bytes came from memory and
  // were fsynced); so is the newest one that verifies, even if it is newer than the one written.
  int kept = 1;
  bool newest_verified_seen = false;
  for (const auto& [step, path] : list_checkpoints(train_dir)) {
    if (path == written) {
      newest_verified_seen = true;
      continue;
    }
    const auto [error, first] = checkpoint_verdict(path);
    if (!error.empty()) {
      if (first && log)
        std::fprintf(log, "warning: keeping corrupt checkpoint out of retention: %s\n",
                     error.c_str());
      continue;
    }
    if (kept < keep_max || !newest_verified_seen) {
      ++kept;
      newest_verified_seen = true;
      continue;
    }
    std::error_code ec;
    fs::remove(path, ec);
  }
  return written;
}

std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& train_dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  if (!fs::is_directory(train_dir, ec)) return out;
  static const std::regex kName(R"(model\.ckpt-(\d+)\.y8m)");
  for (const auto& e : fs::directory_iterator(train_dir, ec)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, kName))
      out.emplace_back(std::stoll(m[1].str()), e.path().string());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return out;
}

std::string latest_valid_checkpoint(const std::string& train_dir,
                                    std::vector<std::string>* skipped) {
  for (const auto& [step, path] : list_checkpoints(train_dir)) {
    try {
      io::Container c(path);
      c.verify();
      Y8M_CHECK(c.kind() == "checkpoint", "{}: a '{}' container, not a checkpoint", path, c.kind());
      return path;
    } catch (const Error& e) {
      if (skipped) skipped->push_back(e.what());
    }
  }
  return "";
}

CheckpointState load_checkpoint(const std::string& path) {
  auto c = std::make_shared<io::Container>(path);
  c->verify();
  Y8M_CHECK(c->kind() == "checkpoint", "{}: a '{}' container, not a checkpoint", path, c->kind());
  CheckpointState s;
  s.metadata = c->metadata();
  s.model_config = c->model_config();
  const auto it = s.metadata.find("step");
  Y8M_CHECK(it != s.metadata.end(), "{}: no step recorded", path);
  s.step = std::stoll(it->second);
  const std::string prefix = kOptimizerPrefix;
  for (const auto& t : c->tensors()) {
    if (t.name.compare(0, prefix.size(), prefix) == 0) {
      s.optimizer.emplace_back(t.name.substr(prefix.size()), t.tensor);
    } else if (is_shadow(t.name)) {
      s.ema.emplace_back(t.name, t.tensor);
    } else {
      s.model.emplace_back(t.name, t.tensor);
    }
  }
  return s;
}

std::map<std::string, std::string> ignored_flags(const std::map<std::string, std::string>& m) {
  std::map<std::string, std::string> out;
  const std::string prefix = kIgnoredFlagPrefix;
  for (auto it = m.lower_bound(prefix); it != m.end() && it->first.rfind(prefix, 0) == 0; ++it)
    out[it->first.substr(prefix.size())] = it->second;
  return out;
}

void check_finite_weights(const NamedTensors& tensors, const std::string& what) {
  for (const auto& [name, t] : tensors) {
    if (!engine::is_floating(t.dtype())) continue;
    Tensor h = t.to(Device::cpu());
    if (h.dtype() != DType::f32 && h.dtype() != DType::f64) h = h.to(DType::f32);
    int64_t bad = 0, first = -1;
    double first_value = 0;
    const int64_t n = h.numel();
    for (int64_t i = 0; i < n; ++i) {
      const double v =
          h.dtype() == DType::f32 ? static_cast<double>(h.data<float>()[i]) : h.data<double>()[i];
      if (std::isfinite(v)) continue;
      if (bad++ == 0) {
        first = i;
        first_value = v;
      }
    }
    Y8M_CHECK(bad == 0,
              "{}: tensor '{}' has {} non-finite values (first: {} at element {}); a diverged "
              "model is not exported or evaluated",
              what, name, bad, first_value, first);
  }
}

void swap_in_ema(CheckpointState& s, const std::string& what) {
  Y8M_CHECK(!s.ema.empty(),
            "--use_EMA: {} has no EMA shadows (train with --ema_source to get them)", what);
  std::map<std::string, const Tensor*> shadows;
  for (const auto& kv : s.ema) shadows[kv.first] = &kv.second;
  for (auto& kv : s.model) {
    const auto it = shadows.find(kv.first + autograd::kEmaSuffix);
    Y8M_CHECK(it != shadows.end(), "--use_EMA: {} has no shadow for '{}'", what, kv.first);
    Y8M_CHECK(it->second->shape() == kv.second.shape() && it->second->dtype() == kv.second.dtype(),
              "--use_EMA: {}: shadow of '{}' is {}, the tensor {}", what, kv.first,
              it->second->str(), kv.second.str());
    kv.second = *it->second;
  }
  s.ema.clear();
}

ModelSource load_model_source(const std::string& path, const std::string& flag) {
  std::error_code ec;
  Y8M_CHECK(fs::is_regular_file(path, ec),
            "{}: no such file '{}' (a checkpoint model.ckpt-<step>.y8m or a model archive)", flag,
            path);
  io::Container c(path);
  c.verify();
  Y8M_CHECK(c.kind() == "checkpoint" || c.kind() == "archive",
            "{}: {} is a '{}' container, not a checkpoint or archive", flag, path, c.kind());
  ModelSource m;
  m.path = path;
  m.kind = c.kind();
  m.model_config = c.model_config();
  Y8M_CHECK(!m.model_config.empty(), "{}: {} records no model config", flag, path);
  // y8m-quantize's codebook indices are not weights to start from (float16 storage is).
  for (const auto& t : c.tensors()) {
    if (t.codebook.empty()) continue;
    const auto& meta = c.metadata();
    const auto how = meta.find("quantize_transform"), from = meta.find("quantized_from");
    Y8M_FAIL(
        "{}: {} is quantized ({}): EMA fine-tuning starts from float weights{}", flag, path,
        how != meta.end() ? how->second : "uint8 codebooks",
        from != meta.end() ? "; use " + from->second + ", the archive it was quantized from" : "");
  }
  const std::string prefix = kOptimizerPrefix;
  for (const auto& t : c.tensors()) {
    if (t.name.compare(0, prefix.size(), prefix) == 0 || is_shadow(t.name)) continue;
    m.tensors.push_back(t);
  }
  return m;
}

}  // namespace y8m::pipeline
