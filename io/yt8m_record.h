// YouTube-8M records (SPEC §1.3–1.6): decoding and encoding of the three layouts.
//
// frame-level  SequenceExample: context `id` (2018) or `video_id` (2017, distillation), `labels`
//              int64 list; feature_lists per --feature_names, one bytes value of F bytes per frame.
// video-level  Example: `id`, `labels`, float lists per feature name (`mean_rgb`, `mean_audio`).
// distillation SequenceExample: frame-level plus context `predictions`, exactly num_classes floats.
// A missing `labels` key reads as an empty label list (TF's VarLenFeature), in every layout.
//
// The decoder is a zero-copy wire parser: frames are views into the record. Packed and unpacked
// numeric lists and unknown fields are accepted (protobuf semantics; for a repeated map key the
// last entry wins). Encoders use the protoc-generated TensorFlow messages with deterministic
// serialization (map keys sorted), byte-identical to TensorFlow's writer for the same message.
#pragma once
#include "engine/error.h"
#include "io/io_layer.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace y8m::io {

// --feature_names / --feature_sizes, e.g. "rgb,audio" and "1024,128".
struct FeatureSpec {
  std::vector<std::string> names;
  std::vector<int> sizes;
  int total() const;
  static FeatureSpec parse(const std::string& names_csv, const std::string& sizes_csv);
  static FeatureSpec frame_default() { return parse("rgb,audio", "1024,128"); }
  static FeatureSpec video_default() { return parse("mean_rgb,mean_audio", "1024,128"); }
};

struct DecodeOptions {
  FeatureSpec features = FeatureSpec::frame_default();
  int max_frames = 300;
  int num_classes = 3862;
  std::string id_key;  // "" = detect: `id`, else `video_id`
  // A record without a `labels` key has no labels, as TF's VarLenFeature read it (the test set's
  // records). true makes that an error; no app sets it.
  bool require_labels = false;
  bool distill = false;  // read the `predictions` context feature
};

// A decoded frame-level record. Views point into the record bytes.
struct FrameRecord {
  std::string_view id;
  std::vector<int64_t> labels;
  std::vector<float> predictions;                     // distillation records only
  int num_frames = 0;                                 // min(frames in the record, max_frames)
  int total_frames = 0;                               // frames in the record
  std::vector<std::vector<std::string_view>> frames;  // [feature][frame < num_frames], each F bytes
};

// A decoded video-level record.
struct VideoRecord {
  std::string_view id;
  std::vector<int64_t> labels;
  std::vector<float> features;  // concatenated in FeatureSpec order
};

// A record without a context feature the decoder needs (`id`, `labels` with require_labels,
// `predictions` with distill). where() is the file and record a caller put in front of the
// message ("" from the decoder itself), so that callers can tell this case from other problems
// (a frame-level record that is no distillation record) without matching text.
class MissingFeatureError : public Error {
 public:
  MissingFeatureError(std::string feature, const std::string& message, std::string where = "")
      : Error(where.empty() ? message : where + ": " + message),
        feature_(std::move(feature)),
        message_(message),
        where_(std::move(where)) {}
  const std::string& feature() const { return feature_; }
  const std::string& where() const { return where_; }
  // The same error with `where` in front of the decoder's message.
  MissingFeatureError located(const std::string& where) const {
    return MissingFeatureError(feature_, message_, where);
  }

 private:
  std::string feature_, message_, where_;
};

// Decoders throw y8m::Error describing the problem (MissingFeatureError for a missing context
// feature); callers prefix the file and record index.
void decode_frame_record(std::string_view record, const DecodeOptions& opts, FrameRecord* out);
void decode_video_record(std::string_view record, const DecodeOptions& opts, VideoRecord* out);

// Encoders. `frames[k]` holds the frames of feature k, each opts.features.sizes[k] bytes.
std::string encode_frame_record(std::string_view id, const std::vector<int64_t>& labels,
                                const std::vector<std::vector<std::string_view>>& frames,
                                const FeatureSpec& features, const std::string& id_key = "id",
                                const std::vector<float>* predictions = nullptr);
std::string encode_video_record(std::string_view id, const std::vector<int64_t>& labels,
                                const std::vector<std::vector<float>>& features,
                                const FeatureSpec& spec);

}  // namespace y8m::io
