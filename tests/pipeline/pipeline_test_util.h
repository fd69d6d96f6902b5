// Shared setup of the pipeline tests: the "tiny" synthetic dataset (50 classes, 5-20 frames).
#pragma once

#include "io/synth.h"

#include <string>

namespace y8m::testing {

// Writes the tiny preset into `dir` with the given split sizes (-1 keeps the preset's).
inline void write_tiny_dataset(const std::string& dir, int64_t train = -1, int64_t validate = -1,
                               int64_t test = -1) {
  io::SynthOptions o;
  io::apply_synth_preset("tiny", &o);
  o.output_dir = dir;
  if (train >= 0) o.train_videos = train;
  if (validate >= 0) o.validate_videos = validate;
  if (test >= 0) o.test_videos = test;
  o.threads = 2;
  io::write_synth_dataset(o);
}

}  // namespace y8m::testing
