// y8m-synth: writes a learnable synthetic YouTube-8M dataset in the real TFRecord format
// (io/synth.h documents the generative model). Example:
//   y8m-synth --preset=quickstart --output_dir=/tmp/yt8m
#include "apps/common/flags.h"
#include "io/synth.h"

#include <absl/flags/flag.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>

ABSL_FLAG(std::string, output_dir, "", "folder to create (must not exist)");
ABSL_FLAG(std::string, preset, "",
          "quickstart (a small model learns it on 2 CPU cores in minutes), tiny, default");
ABSL_FLAG(int, num_classes, -1, "classes in the vocabulary (default 3862)");
ABSL_FLAG(int64_t, train_videos, -1, "videos in the train split");
ABSL_FLAG(int64_t, validate_videos, -1, "videos in the validate split");
ABSL_FLAG(int64_t, test_videos, -1, "videos in the test split (written without labels)");
ABSL_FLAG(int, shards, -1, "files per split");
ABSL_FLAG(int, min_frames, -1, "fewest frames per video");
ABSL_FLAG(int, max_frames, -1, "most frames per video (may exceed 300)");
ABSL_FLAG(double, mean_labels, -1, "mean labels per video (>= 1)");
ABSL_FLAG(double, difficulty, -1, "noise scale: 1 is the default, 0 noise-free, larger is harder");
ABSL_FLAG(uint64_t, seed, 1, "seed: the same seed writes the same bytes");
ABSL_FLAG(bool, frame_level, true, "write frame-level records (<dir>/frame)");
ABSL_FLAG(bool, video_level, false, "also write video-level records (<dir>/video)");

namespace {

template <class T, class F>
void override_if_set(const absl::Flag<F>& flag, T* field) {
  const auto v = absl::GetFlag(flag);
  if (v >= 0) *field = static_cast<T>(v);
}

int run() {
  y8m::io::SynthOptions o;
  y8m::io::apply_synth_preset(absl::GetFlag(FLAGS_preset), &o);
  o.output_dir = absl::GetFlag(FLAGS_output_dir);
  override_if_set(FLAGS_num_classes, &o.num_classes);
  override_if_set(FLAGS_train_videos, &o.train_videos);
  override_if_set(FLAGS_validate_videos, &o.validate_videos);
  override_if_set(FLAGS_test_videos, &o.test_videos);
  override_if_set(FLAGS_shards, &o.shards);
  override_if_set(FLAGS_min_frames, &o.min_frames);
  override_if_set(FLAGS_max_frames, &o.max_frames);
  override_if_set(FLAGS_mean_labels, &o.mean_labels);
  override_if_set(FLAGS_difficulty, &o.difficulty);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.frame_level = absl::GetFlag(FLAGS_frame_level);
  o.video_level = absl::GetFlag(FLAGS_video_level);
  const auto t0 = std::chrono::steady_clock::now();
  const auto s = y8m::io::write_synth_dataset(o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print(
      "y8m-synth: wrote {} videos ({} frames, {} labels, {} classes) in {} files, {:.1f} MB, to {} "
      "in {:.1f} s\n",
      s.videos, s.frames, s.labels, o.num_classes, s.files, s.bytes / 1e6, o.output_dir, secs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  y8m::apps::parse_flags(argc, argv,
                         "Writes a synthetic YouTube-8M dataset. Example: y8m-synth "
                         "--preset=quickstart --output_dir=DIR");
  return y8m::apps::run_app("y8m-synth", run);
}
