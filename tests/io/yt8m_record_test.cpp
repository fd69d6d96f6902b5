// YouTube-8M record codecs: round trips of the three layouts, agreement with protobuf's own parser,
// packed/unpacked lists, unknown fields, and every bad-input case with its message.
#include "io/proto/example.pb.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include "io/yt8m_record.h"

#include "engine/error.h"

#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <functional>

namespace y8m::io {
namespace {

std::vector<std::string> make_frames(int n, int size, int salt) {
  std::vector<std::string> f;
  for (int t = 0; t < n; ++t) {
    std::string s(static_cast<size_t>(size), '\0');
    for (int i = 0; i < size; ++i)
      s[static_cast<size_t>(i)] = static_cast<char>((t * 31 + i * 7 + salt) & 0xff);
    f.push_back(s);
  }
  return f;
}

std::string frame_record(int n, const std::vector<int64_t>& labels,
                         const std::string& id_key = "id", int audio_frames = -1,
                         const std::vector<float>* preds = nullptr) {
  const auto rgb = make_frames(n, 1024, 1),
             audio = make_frames(audio_frames < 0 ? n : audio_frames, 128, 2);
  std::vector<std::vector<std::string_view>> frames(2);
  for (const auto& s : rgb) frames[0].push_back(s);
  for (const auto& s : audio) frames[1].push_back(s);
  // encode checks equal counts; build mismatched records through protobuf directly below.
  return encode_frame_record("vid1", labels, frames, FeatureSpec::frame_default(), id_key, preds);
}

using testing::error_of;

TEST(FeatureSpec, Parse) {
  const FeatureSpec f = FeatureSpec::parse("rgb,audio", "\"1024,128\"");  // quoted as in the xlsx
  EXPECT_EQ(f.names, (std::vector<std::string>{"rgb", "audio"}));
  EXPECT_EQ(f.total(), 1152);
  EXPECT_NE(error_of([] { FeatureSpec::parse("rgb,audio", "1024"); }).find("--feature_names"),
            std::string::npos);
  EXPECT_NE(error_of([] { FeatureSpec::parse("rgb", "x1"); }).find("--feature_sizes"),
            std::string::npos);
}

TEST(FrameRecord, RoundTrip) {
  const std::string rec = frame_record(5, {7, 3, 3861});
  FrameRecord fr;
  decode_frame_record(rec, {}, &fr);
  EXPECT_EQ(fr.id, "vid1");
  EXPECT_EQ(fr.labels, (std::vector<int64_t>{7, 3, 3861}));
  EXPECT_EQ(fr.num_frames, 5);
  ASSERT_EQ(fr.frames.size(), 2u);
  EXPECT_EQ(std::string(fr.frames[0][4]), make_frames(5, 1024, 1)[4]);
  EXPECT_EQ(std::string(fr.frames[1][0]), make_frames(5, 128, 2)[0]);
}

TEST(FrameRecord, AgreesWithProtobufParser) {
  const std::string rec = frame_record(3, {1, 2});
  tensorflow::SequenceExample ex;
  ASSERT_TRUE(ex.ParseFromString(rec));
  EXPECT_EQ(ex.context().feature().at("id").bytes_list().value(0), "vid1");
  EXPECT_EQ(ex.feature_lists().feature_list().at("rgb").feature_size(), 3);
  EXPECT_EQ(ex.feature_lists().feature_list().at("audio").feature(2).bytes_list().value(0),
            make_frames(3, 128, 2)[2]);
  // Re-serialized by protobuf (deterministically) gives our bytes back.
  std::string again;
  google::protobuf::io::StringOutputStream sos(&again);
  {
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    ex.SerializeToCodedStream(&cos);
  }
  EXPECT_EQ(again, rec);
}

TEST(FrameRecord, TruncatesTo300) {
  FrameRecord fr;
  decode_frame_record(frame_record(350, {0}), {}, &fr);
  EXPECT_EQ(fr.num_frames, 300);
  EXPECT_EQ(fr.total_frames, 350);
  EXPECT_EQ(fr.frames[0].size(), 300u);
}

TEST(FrameRecord, VideoIdKeyDetectedAndOverridable) {
  FrameRecord fr;
  decode_frame_record(frame_record(1, {0}, "video_id"), {}, &fr);
  EXPECT_EQ(fr.id, "vid1");
  DecodeOptions o;
  o.id_key = "id";
  EXPECT_NE(
      error_of([&] { decode_frame_record(frame_record(1, {0}, "video_id"), o, &fr); }).find("'id'"),
      std::string::npos);
}

TEST(FrameRecord, BadInputs) {
  FrameRecord fr;
  // Out-of-range label.
  EXPECT_NE(error_of([&] {
              decode_frame_record(frame_record(2, {3862}), {}, &fr);
            }).find("label 3862 outside [0, 3862)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { decode_frame_record(frame_record(2, {-1}), {}, &fr); }).find("label -1"),
            std::string::npos);
  // Missing labels are an error only when asked for (require_labels; no app does).
  tensorflow::SequenceExample ex;
  ex.ParseFromString(frame_record(2, {1}));
  ex.mutable_context()->mutable_feature()->erase("labels");
  DecodeOptions opt;
  opt.require_labels = true;
  EXPECT_NE(error_of([&] {
              decode_frame_record(ex.SerializeAsString(), opt, &fr);
            }).find("missing context feature 'labels'"),
            std::string::npos);
  // rgb/audio frame-count mismatch (SPEC §1.3: the original never checked it; we do).
  ex.ParseFromString(frame_record(3, {1}));
  (*ex.mutable_feature_lists()->mutable_feature_list())["audio"].mutable_feature()->RemoveLast();
  EXPECT_NE(error_of([&] {
              decode_frame_record(ex.SerializeAsString(), {}, &fr);
            }).find("frame count mismatch"),
            std::string::npos);
  // Wrong frame size.
  ex.ParseFromString(frame_record(2, {1}));
  (*ex.mutable_feature_lists()->mutable_feature_list())["rgb"]
      .mutable_feature(1)
      ->mutable_bytes_list()
      ->set_value(0, "abc");
  EXPECT_NE(error_of([&] {
              decode_frame_record(ex.SerializeAsString(), {}, &fr);
            }).find("frame 1 has 3 bytes"),
            std::string::npos);
  // Missing feature list.
  ex.ParseFromString(frame_record(2, {1}));
  ex.mutable_feature_lists()->mutable_feature_list()->erase("audio");
  EXPECT_NE(error_of([&] {
              decode_frame_record(ex.SerializeAsString(), {}, &fr);
            }).find("missing feature list 'audio'"),
            std::string::npos);
  // Garbage bytes.
  EXPECT_NE(error_of([&] {
              decode_frame_record(std::string("\x0a\xff\xff\xff\x0f", 5), {}, &fr);
            }).find("malformed"),
            std::string::npos);
}

// TF's VarLenFeature: a record without a `labels` key (the test set's) has no labels, not an error,
// under the default options that training and evaluation use.
TEST(FrameRecord, MissingLabelsKeyReadsAsNoLabels) {
  tensorflow::SequenceExample ex;
  ASSERT_TRUE(ex.ParseFromString(frame_record(3, {1, 7})));
  ex.mutable_context()->mutable_feature()->erase("labels");
  FrameRecord fr;
  fr.labels = {99};  // a reused output object: the previous record's labels must go
  const std::string rec = ex.SerializeAsString();  // views point into it
  decode_frame_record(rec, {}, &fr);
  EXPECT_TRUE(fr.labels.empty());
  EXPECT_EQ(fr.id, "vid1");
  EXPECT_EQ(fr.num_frames, 3);
  // Distillation records and the `video_id` key too.
  std::vector<float> preds(3862, 0.5f);
  ASSERT_TRUE(ex.ParseFromString(frame_record(2, {4}, "video_id", -1, &preds)));
  ex.mutable_context()->mutable_feature()->erase("labels");
  DecodeOptions o;
  o.distill = true;
  decode_frame_record(ex.SerializeAsString(), o, &fr);
  EXPECT_TRUE(fr.labels.empty());
  EXPECT_EQ(fr.predictions.size(), 3862u);
}

TEST(FrameRecord, UnknownFieldsAndUnpackedLabelsAccepted) {
  // Hand-built wire bytes: context with unpacked int64 labels and an unknown field, plus an unknown
  // top-level field.
  auto varint = [](uint64_t v) {
    std::string s;
    while (v >= 0x80) {
      s += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    return s + static_cast<char>(v);
  };
  auto len = [&](int field, const std::string& payload) {
    return varint(static_cast<uint64_t>(field) << 3 | 2) + varint(payload.size()) + payload;
  };
  const std::string int64_list = varint(1 << 3 | 0) + varint(5) + varint(1 << 3 | 0) + varint(9) +
                                 varint(7 << 3 | 0) + varint(1);
  const std::string labels_feature = len(3, int64_list);
  const std::string id_feature = len(1, len(1, "abc"));
  const std::string context = len(1, len(1, "labels") + len(2, labels_feature)) +
                              len(1, len(1, "id") + len(2, id_feature)) +
                              len(1, len(1, "other") + len(2, labels_feature));
  std::string frame_lists;
  for (auto [name, size] : {std::pair<std::string, int>{"rgb", 1024}, {"audio", 128}}) {
    const std::string frame = len(1, len(1, std::string(static_cast<size_t>(size), 'q')));
    frame_lists += len(1, len(1, name) + len(2, len(1, frame) + len(1, frame)));
  }
  const std::string rec =
      len(1, context) + len(2, frame_lists) + varint(15 << 3 | 0) + varint(42) + len(9, "unknown");
  FrameRecord fr;
  decode_frame_record(rec, {}, &fr);
  EXPECT_EQ(fr.id, "abc");
  EXPECT_EQ(fr.labels, (std::vector<int64_t>{5, 9}));
  EXPECT_EQ(fr.num_frames, 2);
  tensorflow::SequenceExample ex;
  ASSERT_TRUE(ex.ParseFromString(rec));  // protobuf agrees the bytes are valid
  EXPECT_EQ(ex.context().feature().at("labels").int64_list().value_size(), 2);
}

TEST(DistillRecord, PredictionsRoundTrip) {
  std::vector<float> preds(3862);
  for (size_t i = 0; i < preds.size(); ++i) preds[i] = static_cast<float>(i) / 3862.f;
  const std::string rec = frame_record(4, {2, 5}, "video_id", -1, &preds);
  DecodeOptions o;
  o.distill = true;
  FrameRecord fr;
  decode_frame_record(rec, o, &fr);
  EXPECT_EQ(fr.predictions, preds);
  EXPECT_EQ(fr.id, "vid1");
  // A frame-level record is not a distillation record.
  EXPECT_NE(
      error_of([&] { decode_frame_record(frame_record(1, {0}), o, &fr); }).find("predictions"),
      std::string::npos);
  // ... told by its type and feature name, not its text; located() puts the record in front.
  try {
    decode_frame_record(frame_record(1, {0}), o, &fr);
    ADD_FAILURE() << "no error";
  } catch (const MissingFeatureError& e) {
    EXPECT_EQ(e.feature(), "predictions");
    EXPECT_EQ(e.where(), "");
    const MissingFeatureError located = e.located("f.tfrecord: record 0");
    EXPECT_EQ(located.where(), "f.tfrecord: record 0");
    EXPECT_EQ(std::string(located.what()), "f.tfrecord: record 0: " + std::string(e.what()));
  }
}

TEST(VideoRecord, RoundTrip) {
  const FeatureSpec spec = FeatureSpec::video_default();
  std::vector<std::vector<float>> feats{std::vector<float>(1024, 0.5f),
                                        std::vector<float>(128, -0.25f)};
  feats[0][3] = 1.75f;
  const std::string rec = encode_video_record("v9", {4, 1}, feats, spec);
  DecodeOptions o;
  o.features = spec;
  VideoRecord vr;
  decode_video_record(rec, o, &vr);
  EXPECT_EQ(vr.id, "v9");
  EXPECT_EQ(vr.labels, (std::vector<int64_t>{4, 1}));
  ASSERT_EQ(vr.features.size(), 1152u);
  EXPECT_EQ(vr.features[3], 1.75f);
  EXPECT_EQ(vr.features[1100], -0.25f);
  tensorflow::Example ex;
  ASSERT_TRUE(ex.ParseFromString(rec));
  EXPECT_EQ(ex.features().feature().at("mean_audio").float_list().value_size(), 128);
}

TEST(VideoRecord, MissingLabelsKeyReadsAsNoLabels) {
  const FeatureSpec spec = FeatureSpec::video_default();
  tensorflow::Example ex;
  ASSERT_TRUE(ex.ParseFromString(encode_video_record(
      "v1", {3}, {std::vector<float>(1024, 0.f), std::vector<float>(128, 1.f)}, spec)));
  ex.mutable_features()->mutable_feature()->erase("labels");
  DecodeOptions o;
  o.features = spec;
  VideoRecord vr;
  vr.labels = {5};
  const std::string rec = ex.SerializeAsString();  // views point into it
  decode_video_record(rec, o, &vr);
  EXPECT_TRUE(vr.labels.empty());
  EXPECT_EQ(vr.id, "v1");
  EXPECT_EQ(vr.features.size(), 1152u);
}

}  // namespace
}  // namespace y8m::io
