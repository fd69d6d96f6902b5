#include "models/config.h"

#include "engine/error.h"
#include "engine/strings.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <cstdlib>
#include <functional>

namespace y8m::models {

namespace {

using engine::split_trimmed;
using engine::trim;

int64_t parse_int(const std::string& key, const std::string& v) {
  const std::string s = trim(v);
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(s.c_str(), &end, 10);
  Y8M_CHECK(!s.empty() && errno == 0 && *end == '\0', "model config: '{}' = '{}' is not an integer",
            key, v);
  return static_cast<int64_t>(x);
}

double parse_double(const std::string& key, const std::string& v) {
  const std::string s = trim(v);
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(s.c_str(), &end);
  Y8M_CHECK(!s.empty() && errno == 0 && *end == '\0', "model config: '{}' = '{}' is not a number",
            key, v);
  return x;
}

bool parse_bool(const std::string& key, const std::string& v) {
  const std::string s = trim(v);
  if (s == "true" || s == "True" || s == "1") return true;
  if (s == "false" || s == "False" || s == "0") return false;
  Y8M_FAIL("model config: '{}' = '{}' is not a boolean (true/false)", key, v);
}

// One flag: how to write it into the map and read it back.
struct Field {
  const char* name;
  std::function<std::string(const ModelConfig&)> get;
  std::function<void(ModelConfig&, const std::string&)> set;
};

Field field(const char* name, std::string ModelConfig::*p) {
  return {name, [p](const ModelConfig& c) { return c.*p; },
          [p](ModelConfig& c, const std::string& v) { c.*p = v; }};
}
Field field(const char* name, int64_t ModelConfig::*p) {
  return {name, [p](const ModelConfig& c) { return fmt::format("{}", c.*p); },
          [p, name](ModelConfig& c, const std::string& v) { c.*p = parse_int(name, v); }};
}
Field field(const char* name, bool ModelConfig::*p) {
  return {name, [p](const ModelConfig& c) { return std::string(c.*p ? "true" : "false"); },
          [p, name](ModelConfig& c, const std::string& v) { c.*p = parse_bool(name, v); }};
}
// fmt's default double format is the shortest string that reads back to the same value.
Field field(const char* name, double ModelConfig::*p) {
  return {name, [p](const ModelConfig& c) { return fmt::format("{}", c.*p); },
          [p, name](ModelConfig& c, const std::string& v) { c.*p = parse_double(name, v); }};
}
Field field(const char* name, std::vector<std::string> ModelConfig::*p) {
  return {name, [p](const ModelConfig& c) { return fmt::format("{}", fmt::join(c.*p, ",")); },
          [p](ModelConfig& c, const std::string& v) { c.*p = split_trimmed(v); }};
}
Field field(const char* name, std::vector<int64_t> ModelConfig::*p) {
  return {name, [p](const ModelConfig& c) { return fmt::format("{}", fmt::join(c.*p, ",")); },
          [p, name](ModelConfig& c, const std::string& v) {
            std::vector<int64_t> out;
            for (const std::string& item : split_trimmed(v)) out.push_back(parse_int(name, item));
            c.*p = out;
          }};
}

const std::vector<Field>& fields() {
  static const std::vector<Field> f = {
#define Y8M_MODEL_CONFIG_ROW(type, name, default_value, help) field(#name, &ModelConfig::name),
      Y8M_MODEL_FLAGS(Y8M_MODEL_CONFIG_ROW)
#undef Y8M_MODEL_CONFIG_ROW
  };
  return f;
}

const Field& find_field(const std::string& key) {
  for (const Field& f : fields())
    if (key == f.name) return f;
  std::vector<std::string> known;
  for (const Field& f : fields()) known.push_back(f.name);
  Y8M_FAIL("model config: unknown key '{}' (known: {})", key, fmt::join(known, ", "));
}

}  // namespace

int64_t ModelConfig::total_feature_size() const {
  int64_t s = 0;
  for (int64_t f : feature_sizes) s += f;
  return s;
}

// Every flag is in the map, so equal maps mean equal configs (doubles compare by value; the
// shortest round-trip form is unique per value).
bool ModelConfig::operator==(const ModelConfig& o) const { return to_map(*this) == to_map(o); }

std::map<std::string, std::string> to_map(const ModelConfig& c) {
  std::map<std::string, std::string> m;
  for (const Field& f : fields()) m[f.name] = f.get(c);
  return m;
}

ModelConfig config_from_map(const std::map<std::string, std::string>& m) {
  for (const auto& kv : m) find_field(kv.first);
  ModelConfig c;
  for (const Field& f : fields()) {
    const auto it = m.find(f.name);
    if (it != m.end()) f.set(c, it->second);
  }
  return c;
}

void set_config_value(ModelConfig& c, const std::string& key, const std::string& value) {
  find_field(key).set(c, value);
}

void validate(const ModelConfig& c) {
  Y8M_CHECK(!c.model.empty(), "model config: --model is empty");
  Y8M_CHECK(!c.feature_names.empty() && c.feature_names.size() == c.feature_sizes.size(),
            "model config: --feature_names ({}) and --feature_sizes ({}) must list the same number "
            "of features",
            fmt::join(c.feature_names, ","), fmt::join(c.feature_sizes, ","));
  for (const std::string& n : c.feature_names)
    Y8M_CHECK(!n.empty() && n.find(',') == std::string::npos,
              "model config: feature names must be non-empty and free of commas, got '{}'",
              fmt::join(c.feature_names, ","));
  for (int64_t f : c.feature_sizes)
    Y8M_CHECK(f > 0, "model config: feature sizes must be positive, got {}",
              fmt::join(c.feature_sizes, ","));
  Y8M_CHECK(c.num_classes > 0, "model config: num_classes must be positive, got {}", c.num_classes);
  Y8M_CHECK(c.max_frames > 0, "model config: max_frames must be positive, got {}", c.max_frames);
  Y8M_CHECK(c.iterations > 0, "model config: --iterations must be positive, got {}", c.iterations);
  Y8M_CHECK(c.batch_norm_decay >= 0 && c.batch_norm_decay <= 1,
            "model config: --batch_norm_decay must lie in [0, 1], got {}", c.batch_norm_decay);
}

ModelConfig netvlad_config(int64_t cluster_size, int64_t hidden_size) {
  ModelConfig c;
  c.model = "NetVLADModelLF";
  c.feature_names = {"rgb", "audio"};
  c.feature_sizes = {1024, 128};
  c.frame_features = true;
  c.iterations = 300;
  c.netvlad_cluster_size = cluster_size;
  c.netvlad_hidden_size = hidden_size;
  c.netvlad_relu = false;
  c.gating = true;
  c.moe_prob_gating = true;
  c.moe_l2 = 1e-6;
  c.lightvlad = false;
  return c;
}

ModelConfig fvnet_config(int64_t cluster_size, int64_t hidden_size) {
  ModelConfig c = netvlad_config(64, 1024);
  c.model = "NetFVModelLF";
  c.fv_cluster_size = cluster_size;
  c.fv_hidden_size = hidden_size;
  c.fv_relu = false;
  c.fv_couple_weights = false;
  return c;
}

ModelConfig rnn_config(const std::string& model, int64_t cells) {
  ModelConfig c;
  c.model = model;
  c.feature_names = {"rgb", "audio"};
  c.feature_sizes = {1024, 128};
  c.frame_features = true;
  c.lstm_cells = cells;
  c.video_level_classifier_model = "LogisticModel";
  return c;
}

ModelConfig dbof_config(int64_t cluster_size, int64_t hidden_size) {
  ModelConfig c = netvlad_config(64, 1024);
  c.model = "GatedDbofModelLF";
  c.gating = false;
  c.moe_prob_gating = false;
  c.dbof_cluster_size = cluster_size;
  c.dbof_hidden_size = hidden_size;
  c.dbof_relu = false;
  return c;
}

}  // namespace y8m::models
