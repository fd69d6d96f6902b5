// Model paths as the original's commands wrote them. TensorFlow named a saved model by its prefix
// ("run1/inference_model", files inference_model.meta/.index/.data-*); y8m's model is one file,
// "run1/inference_model.y8m". Every app taking a model path (--model, --models, --model_file,
// --ema_source) resolves it with resolve_model_path, and every app writing one (--savefile) names
// it with output_model_path, so the original's prefixes work unchanged.
#pragma once

#include <string>

namespace y8m::apps {

// `path` itself when it exists; else "<path>.y8m" when that file exists (the original's prefix);
// else for "<p>.meta" (TF's graph file) "<p>.y8m" when that exists; else `path` unchanged, for the
// caller's error to name.
std::string resolve_model_path(const std::string& path);

// The file to write for an output model path: "<path>.y8m" when the file name has no extension
// ("quant/inference_model"), else `path`.
std::string output_model_path(const std::string& path);

}  // namespace y8m::apps
