// model_flags.json (SPEC §5, §10): the file train.py wrote into its train_dir and the README copies
// next to every derived model. y8m writes it for compatibility only: archives and checkpoints carry
// the full architecture; only y8m-import (the original's TensorFlow checkpoints) reads it.
//
// The text is what train.py's `json.dumps` of its dict produced under Python 2.7: the five keys in
// that interpreter's dict order, ", " and ": " separators, no trailing newline, the flag strings
// as given on the command line (feature_sizes stays a string such as "1024,128"), frame_features
// a JSON boolean:
//   {"model": "NetVLADModelLF", "feature_sizes": "1024,128", "frame_features": true,
//    "feature_names": "rgb,audio", "label_loss": "CrossEntropyLoss"}          (one line)
#pragma once

#include "models/zoo.h"

#include <map>
#include <string>

namespace y8m::pipeline {

inline constexpr const char* kModelFlagsJson = "model_flags.json";

// The JSON text for a run of `config` with `label_loss`. `given_flags` (flag name -> value as
// typed) supplies the original spelling of --feature_names / --feature_sizes when it denotes the
// config's features (e.g. "1024, 128"); otherwise the lists are joined with ",".
std::string model_flags_json(const models::ModelConfig& config, const std::string& label_loss,
                             const std::map<std::string, std::string>& given_flags = {});

// Writes `json` to <dir>/model_flags.json atomically (temporary file, fsync, rename).
void write_model_flags_json(const std::string& dir, const std::string& json);

// Reads a model_flags.json (any flat JSON object of strings, booleans and numbers, as train.py
// wrote it): key -> value, booleans as "true" / "false", numbers as written. Errors name the file.
// y8m-import uses it for the architecture of a TensorFlow checkpoint.
std::map<std::string, std::string> read_model_flags_json(const std::string& path);

// Copies <from_dir>/model_flags.json to <to_dir> (atomically) if it exists; returns whether it did.
bool copy_model_flags_json(const std::string& from_dir, const std::string& to_dir);

}  // namespace y8m::pipeline
