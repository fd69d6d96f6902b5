// Model flags shared by the pipeline apps, with the original scripts' names and defaults (SPEC §5),
// and
// --device / --seed. Parsing and error handling are in apps/common/flags.h.
#pragma once

#include "apps/common/flags.h"
#include "engine/device.h"
#include "models/config.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace y8m::apps {

// The model config from the model flags (--model, --feature_names, --netvlad_cluster_size, ...).
models::ModelConfig model_config_from_flags();
// Architecture flags given explicitly, with their values in the config's map form.
std::map<std::string, std::string> explicit_model_flags();
// --device: "" picks cuda:0 when present, else the CPU.
engine::Device device_from_flag();
uint64_t seed_flag();
// Prints a note when --num_gpu asks for more than one device.
void note_num_gpu(const char* app);
// --num_gpu (y8m-train: more than one is a note suggesting mpirun, or an error without MPI).
int64_t num_gpu_flag();

}  // namespace y8m::apps
