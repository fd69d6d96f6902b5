// libFuzzer target: io::decode_frame_record / decode_video_record (the zero-copy protobuf wire
// parser of tf.SequenceExample / tf.Example, io/yt8m_record.h).
//
// The input is one record (a TFRecord payload). Every exec decodes it under several option sets:
// the real frame-level layout (rgb 1024 + audio 128 bytes, 300 frames, 3862 classes), a small
// layout that mutations reach easily (4 + 2 bytes, 3 frames, 10 classes) with and without
// distillation, with a fixed id key and without labels (test data), and the video-level layouts.
// One output object is reused across the decodes, as the reader does. Contract and invariants:
//   - malformed input throws y8m::Error (not an internal assertion, another exception or a crash);
//   - a decoded record's views (id, every frame) lie inside the input, frames have the feature's
//     size, num_frames = min(total_frames, max_frames), every feature has num_frames views, labels
//     lie in [0, num_classes), a distillation record has num_classes predictions, a video record
//     has sum(feature sizes) floats;
//   - the heap grows by at most a bounded multiple of the record's size (views, not copies).
#include "fuzz/fuzz_util.h"

#include "io/yt8m_record.h"

#include <algorithm>
#include <string_view>
#include <vector>

namespace {

using y8m::fuzz::expect_user_error;
using y8m::fuzz::HeapScope;
using y8m::io::DecodeOptions;
using y8m::io::FeatureSpec;

// A packed varint label is one byte of input and eight of output (24 with vector growth); a frame
// is at least 4 bytes of input and one 16-byte view. The slack covers the frame views reserved up
// front (max_frames per feature: 9.6 KB for the real layout). (Seen: 12 KB for the 4.7 KB video
// seed.)
constexpr int64_t kHeapFactor = 32;
constexpr int64_t kHeapSlack = 16 << 10;

struct Config {
  bool video;
  DecodeOptions opts;
};

std::vector<Config> make_configs() {
  std::vector<Config> c;
  DecodeOptions frame;  // the defaults are the real frame-level layout
  c.push_back({false, frame});
  DecodeOptions small;
  small.features = FeatureSpec::parse("rgb,audio", "4,2");
  small.max_frames = 3;
  small.num_classes = 10;
  c.push_back({false, small});
  DecodeOptions distill = small;
  distill.distill = true;
  c.push_back({false, distill});
  DecodeOptions test = small;
  test.id_key = "video_id";
  test.require_labels = false;
  c.push_back({false, test});
  DecodeOptions video;
  video.features = FeatureSpec::video_default();
  c.push_back({true, video});
  DecodeOptions video_small = small;
  video_small.features = FeatureSpec::parse("mean_rgb,mean_audio", "4,2");
  c.push_back({true, video_small});
  DecodeOptions video_test = video_small;
  video_test.id_key = "id";
  video_test.require_labels = false;
  c.push_back({true, video_test});
  return c;
}

bool inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_labels(const std::vector<int64_t>& labels, const DecodeOptions& o) {
  for (int64_t l : labels)
    Y8M_FUZZ_CHECK(l >= 0 && l < o.num_classes, "label %lld outside [0, %d)",
                   static_cast<long long>(l), o.num_classes);
}

void check_frame(const y8m::io::FrameRecord& r, std::string_view rec, const DecodeOptions& o) {
  const FeatureSpec& fs = o.features;
  Y8M_FUZZ_CHECK(inside(r.id, rec), "id view outside the record");
  check_labels(r.labels, o);
  Y8M_FUZZ_CHECK(r.total_frames >= 0 && r.num_frames == std::min(r.total_frames, o.max_frames),
                 "num_frames %d, total_frames %d, max_frames %d", r.num_frames, r.total_frames,
                 o.max_frames);
  Y8M_FUZZ_CHECK(r.frames.size() == fs.names.size(), "%zu frame lists for %zu features",
                 r.frames.size(), fs.names.size());
  for (size_t k = 0; k < r.frames.size(); ++k) {
    Y8M_FUZZ_CHECK(r.frames[k].size() == static_cast<size_t>(r.num_frames),
                   "feature %zu has %zu views for %d frames", k, r.frames[k].size(), r.num_frames);
    for (std::string_view f : r.frames[k])
      Y8M_FUZZ_CHECK(f.size() == static_cast<size_t>(fs.sizes[k]) && inside(f, rec),
                     "frame view of %zu bytes (feature %zu of %d bytes) or outside the record",
                     f.size(), k, fs.sizes[k]);
  }
  if (o.distill)
    Y8M_FUZZ_CHECK(r.predictions.size() == static_cast<size_t>(o.num_classes),
                   "%zu predictions for %d classes", r.predictions.size(), o.num_classes);
  else
    Y8M_FUZZ_CHECK(r.predictions.empty(), "predictions without distill");
}

void check_video(const y8m::io::VideoRecord& r, std::string_view rec, const DecodeOptions& o) {
  Y8M_FUZZ_CHECK(inside(r.id, rec), "id view outside the record");
  check_labels(r.labels, o);
  Y8M_FUZZ_CHECK(r.features.size() == static_cast<size_t>(o.features.total()),
                 "%zu features for %d", r.features.size(), o.features.total());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Config> configs = make_configs();
  const std::string_view rec(reinterpret_cast<const char*>(data), size);
  HeapScope heap;
  {
    y8m::io::FrameRecord frame;
    y8m::io::VideoRecord video;
    for (const Config& c : configs) {
      try {
        if (c.video) {
          y8m::io::decode_video_record(rec, c.opts, &video);
          check_video(video, rec, c.opts);
          if (y8m::fuzz::verbose())
            std::fprintf(stderr, "  video: %zu labels, %zu floats\n", video.labels.size(),
                         video.features.size());
        } else {
          y8m::io::decode_frame_record(rec, c.opts, &frame);
          check_frame(frame, rec, c.opts);
          if (y8m::fuzz::verbose())
            std::fprintf(stderr, "  frame (distill %d): %zu labels, %d of %d frames\n",
                         c.opts.distill, frame.labels.size(), frame.num_frames, frame.total_frames);
        }
      } catch (const y8m::Error& e) {
        expect_user_error(e);
      }
    }
  }
  heap.check(size, kHeapFactor, kHeapSlack, "yt8m_record");
  return 0;
}
