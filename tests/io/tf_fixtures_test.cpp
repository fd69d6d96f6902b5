// Interoperability with TensorFlow itself: fixtures written by TensorFlow's TFRecordWriter
// (tools/make_tf_fixtures.py; the manifest documents the content). Our reader must decode every
// record exactly; for canonical records (TensorFlow's deterministic serialization) our encoder must
// reproduce TensorFlow's bytes, and our TFRecord writer the whole file's framing.
#include "engine/error.h"
#include "io/tfrecord.h"
#include "io/yt8m_record.h"
#include "tests/common/test_util.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace y8m::io {
namespace {

const std::string kDir = Y8M_IO_FIXTURES;

struct Entry {
  std::string kind, file, id, id_key;
  int index = 0, frames = 0, salt = 0;
  bool canonical = false;
  std::vector<int64_t> labels;
};

std::vector<Entry> manifest() {
  std::ifstream f(kDir + "/manifest.txt");
  EXPECT_TRUE(f.good()) << "missing " << kDir << "/manifest.txt";
  std::vector<Entry> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    Entry e;
    std::string labels;
    int canon = 0;
    ss >> e.kind >> e.file >> e.index >> e.id;
    if (e.kind == "frame") {
      ss >> e.id_key >> labels >> e.frames >> e.salt >> canon;
    } else {
      ss >> labels >> e.salt >> canon;
    }
    e.canonical = canon != 0;
    if (labels != "-") {
      std::istringstream ls(labels);
      std::string v;
      while (std::getline(ls, v, ',')) e.labels.push_back(std::stoll(v));
    }
    out.push_back(e);
  }
  return out;
}

std::string frame_bytes(int t, int size, int salt, int k) {
  std::string s(static_cast<size_t>(size), '\0');
  for (int i = 0; i < size; ++i)
    s[static_cast<size_t>(i)] = static_cast<char>((t * 31 + i * 7 + salt + k) & 0xff);
  return s;
}

std::vector<float> video_values(int size, int salt, int k) {
  std::vector<float> v;
  for (int i = 0; i < size; ++i)
    v.push_back(static_cast<float>(((i * 13 + salt + k) % 97) / 32.0 - 1.5));
  return v;
}

std::vector<std::string> records(const std::string& file) {
  RecordReader r(kDir + "/" + file);
  std::vector<std::string> out;
  std::string_view v;
  while (r.next(&v)) out.emplace_back(v);
  return out;
}

TEST(TensorFlowFixtures, FrameRecordsDecodeExactlyAndReencodeBitForBit) {
  const auto recs = records("tf_frame.tfrecord");
  int checked = 0, reencoded = 0;
  for (const Entry& e : manifest()) {
    if (e.kind != "frame") continue;
    ASSERT_LT(e.index, static_cast<int>(recs.size()));
    const std::string& rec = recs[static_cast<size_t>(e.index)];
    FrameRecord fr;
    decode_frame_record(rec, {}, &fr);
    EXPECT_EQ(fr.id, e.id);
    EXPECT_EQ(fr.labels, e.labels) << e.id;
    ASSERT_EQ(fr.num_frames, e.frames) << e.id;
    std::vector<std::string> rgb, audio;
    for (int t = 0; t < e.frames; ++t) {
      rgb.push_back(frame_bytes(t, 1024, e.salt, 0));
      audio.push_back(frame_bytes(t, 128, e.salt, 1));
      EXPECT_EQ(std::string(fr.frames[0][static_cast<size_t>(t)]), rgb.back())
          << e.id << " frame " << t;
      EXPECT_EQ(std::string(fr.frames[1][static_cast<size_t>(t)]), audio.back())
          << e.id << " frame " << t;
    }
    ++checked;
    if (!e.canonical) continue;
    std::vector<std::vector<std::string_view>> frames(2);
    for (int t = 0; t < e.frames; ++t) {
      frames[0].push_back(rgb[static_cast<size_t>(t)]);
      frames[1].push_back(audio[static_cast<size_t>(t)]);
    }
    EXPECT_EQ(encode_frame_record(e.id, e.labels, frames, FeatureSpec::frame_default(), e.id_key),
              rec)
        << e.id;
    ++reencoded;
  }
  EXPECT_EQ(checked, 5);
  EXPECT_EQ(reencoded, 3);
}

TEST(TensorFlowFixtures, VideoRecordsDecodeExactlyAndReencodeBitForBit) {
  const auto recs = records("tf_video.tfrecord");
  DecodeOptions o;
  o.features = FeatureSpec::video_default();
  int checked = 0;
  for (const Entry& e : manifest()) {
    if (e.kind != "video") continue;
    const std::string& rec = recs.at(static_cast<size_t>(e.index));
    VideoRecord vr;
    decode_video_record(rec, o, &vr);
    EXPECT_EQ(vr.id, e.id);
    EXPECT_EQ(vr.labels, e.labels);
    std::vector<float> want = video_values(1024, e.salt, 0);
    const std::vector<float> audio = video_values(128, e.salt, 1);
    want.insert(want.end(), audio.begin(), audio.end());
    EXPECT_EQ(vr.features, want) << e.id;
    if (e.canonical) {
      EXPECT_EQ(
          encode_video_record(e.id, e.labels, {video_values(1024, e.salt, 0), audio}, o.features),
          rec)
          << e.id;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(TensorFlowFixtures, OurWriterReproducesTensorFlowFraming) {
  for (const std::string file : {"tf_frame.tfrecord", "tf_video.tfrecord"}) {
    testing::TempDir d;
    RecordWriter w(d.file(file));
    for (const std::string& r : records(file)) w.write(r);
    w.close();
    EXPECT_EQ(testing::read_file(d.file(file)), testing::read_file(kDir + "/" + file)) << file;
  }
}

}  // namespace
}  // namespace y8m::io
