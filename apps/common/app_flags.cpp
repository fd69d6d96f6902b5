#include "apps/common/app_flags.h"

#include "apps/common/known_flags.h"

#include "engine/error.h"

#include <absl/flags/flag.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>

namespace {
const y8m::models::ModelConfig kDefaults;

// A model flag's absl type: its ModelConfig type, except lists, which are comma-separated strings.
template <class T>
struct FlagType {
  using type = T;
};
template <class T>
struct FlagType<std::vector<T>> {
  using type = std::string;
};
template <class T>
T flag_default(const T& v) {
  return v;
}
template <class T>
std::string flag_default(const std::vector<T>& v) {
  return fmt::format("{}", fmt::join(v, ","));
}

// Reads a flag value into the config: scalars as they are, lists through the config's parser.
template <class T>
void assign(y8m::models::ModelConfig&, const char*, T& field, const T& v) {
  field = v;
}
template <class T>
void assign(y8m::models::ModelConfig& c, const char* key, std::vector<T>&, const std::string& v) {
  y8m::models::set_config_value(c, key, v);
}
}  // namespace

// The model flags (frame_level_models, devel_models, video_level_models, model_utils; SPEC §5), one
// per row of Y8M_MODEL_FLAGS (models/config.h), with the same names, defaults and help.
#define Y8M_MODEL_ABSL_FLAG(config_type, name, default_value, help) \
  ABSL_FLAG(FlagType<decltype(kDefaults.name)>::type, name, flag_default(kDefaults.name), help);
Y8M_MODEL_FLAGS(Y8M_MODEL_ABSL_FLAG)
#undef Y8M_MODEL_ABSL_FLAG

// The original's model flags that no y8m model reads, and TensorFlow plumbing: accepted so that
// original command lines run unchanged, without effect.
#define Y8M_ORIGINAL_ABSL_FLAG(type, name, default_value, help) \
  ABSL_FLAG(type, name, default_value, help);
Y8M_ORIGINAL_ONLY_MODEL_FLAGS(Y8M_ORIGINAL_ABSL_FLAG)
#undef Y8M_ORIGINAL_ABSL_FLAG
ABSL_FLAG(int64_t, num_gpu, 1,
          "towers: min(N, visible GPUs) threads of this process on cuda:0, cuda:1, ..., their "
          "gradients summed (under mpirun the ranks are the towers)");
ABSL_FLAG(bool, log_device_placement, false, "unused (TensorFlow option)");

ABSL_FLAG(std::string, device, "", "cpu, cuda or cuda:N (default: cuda:0 when present, else cpu)");
ABSL_FLAG(uint64_t, seed, 0, "seed for initialization, data order and frame sampling");

namespace y8m::apps {

models::ModelConfig model_config_from_flags() {
  models::ModelConfig c;
#define Y8M_MODEL_FLAG_READ(type, name, default_value, help) \
  assign(c, #name, c.name, absl::GetFlag(FLAGS_##name));
  Y8M_MODEL_FLAGS(Y8M_MODEL_FLAG_READ)
#undef Y8M_MODEL_FLAG_READ
  models::validate(c);
  return c;
}

std::map<std::string, std::string> explicit_model_flags() {
  const auto m = models::to_map(model_config_from_flags());
  std::map<std::string, std::string> out;
  for (const auto& kv : m)
    if (explicit_flags().count(kv.first)) out[kv.first] = kv.second;
  return out;
}

engine::Device device_from_flag() {
  const std::string d = absl::GetFlag(FLAGS_device);
  return d.empty() ? engine::default_device() : engine::device_from_name(d);
}

uint64_t seed_flag() { return absl::GetFlag(FLAGS_seed); }

int64_t num_gpu_flag() { return absl::GetFlag(FLAGS_num_gpu); }

void note_num_gpu(const char* app) {
  if (absl::GetFlag(FLAGS_num_gpu) > 1)
    std::fprintf(stderr, "%s: note: --num_gpu=%lld: y8m trains on one device (--device)\n", app,
                 static_cast<long long>(absl::GetFlag(FLAGS_num_gpu)));
}

}  // namespace y8m::apps
