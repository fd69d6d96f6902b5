// A learnable synthetic YouTube-8M dataset in the real record format (SPEC §1.3–1.4), for the
// README's main command and every end-to-end test. The generative model, per split and video i (all
// randomness from Philox keyed by (seed, split, video), so output does not depend on threads):
//
//   class frequency   p(c) ∝ (c + 10)^-alpha over c < num_classes          (long tail; alpha = 1.1)
//   labels            k ~ 1 + Poisson-like(mean_labels - 1), capped at max_labels; k distinct classes
//                     drawn from p without replacement
//   prototypes        per class, rgb R_c ~ N(0, 0.35²)^1024 and audio A_c ~ N(0, 0.35²)^128 (fixed by seed)
//   video background  b ~ N(0, 0.15²) per feature, shared by the video's frames
//   frame t           with probability background_frames: b + noise; otherwise pick one of the video's
//                     labels l uniformly and take R_l/A_l + b + noise, noise ~ N(0, (0.3·difficulty)²)
//   quantization      clip to [-2, 2], q = round((x + 1.9921875) · 255/4), 8 bits (the real quantizer)
//   frame count       uniform in [min_frames, max_frames] (may exceed 300 to exercise truncation)
//   ids               6 characters of [0-9A-Za-z], distinct per video (a bijection of the index)
//
// Frame-level files: <dir>/frame/{train,validate,test}NNNN.tfrecord; video-level (mean of the
// dequantized frames, optional): <dir>/video/...; the test split has no labels (as the real one).
#pragma once
#include "io/io_layer.h"

#include <cstdint>
#include <string>

namespace y8m::io {

struct SynthOptions {
  std::string output_dir;
  int num_classes = 3862;
  int64_t train_videos = 4000, validate_videos = 1000, test_videos = 1000;
  int shards = 4;  // files per split
  int min_frames = 20, max_frames = 120;
  double mean_labels = 3.0;
  int max_labels = 8;
  double difficulty = 1.0;
  double background_frames = 0.2;
  double alpha = 1.1;
  uint64_t seed = 1;
  bool frame_level = true;
  bool video_level = false;
  int threads = 0;  // 0 = all cores
};

// Applies a named preset ("quickstart", "tiny", "default"); throws for an unknown name.
void apply_synth_preset(const std::string& preset, SynthOptions* opts);

struct SynthSummary {
  int64_t videos = 0, frames = 0, labels = 0, files = 0, bytes = 0;
};

// Writes the dataset; the output directory must not exist (nothing is overwritten). Files are
// written atomically (temporary name, then rename).
SynthSummary write_synth_dataset(const SynthOptions& opts);

// The class-frequency model, for tests: probability of class c.
double synth_class_probability(const SynthOptions& opts, int c);

}  // namespace y8m::io
