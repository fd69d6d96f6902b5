// Regenerates the seed corpora of the fuzz targets: y8m_fuzz_make_corpus <repo>/fuzz/corpus
// (deterministic: the same files every run). Writes, per target folder, a few valid inputs made by
// the real writers (write_container, append_record, encode_*_record) and hand-made corrupt variants
// of them; every valid container is read back before it is kept. Inputs that the fuzzers found and
// that reproduce a fixed bug are committed next to these under names starting with "crash-" (never
// touched here); "bug-" files are regression inputs this program writes.
#include "engine/error.h"
#include "engine/tensor.h"
#include "io/container.h"
#include "io/crc32c.h"
#include "io/tfrecord.h"
#include "io/yt8m_record.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace y8m;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  Y8M_CHECK(out.good(), "{}: write failed", p.string());
}

void put_u32(std::string* s, size_t at, uint32_t v) { std::memcpy(s->data() + at, &v, 4); }
void put_u64(std::string* s, size_t at, uint64_t v) { std::memcpy(s->data() + at, &v, 8); }

// ---- container ----------------------------------------------------------------------------------

Tensor bytes_tensor(const Shape& shape, DType dtype, uint8_t seed) {
  Tensor t = Tensor::empty(shape, dtype);
  auto* p = static_cast<uint8_t*>(t.data_ptr());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<uint8_t>(seed + 7 * i);
  return t;
}

void make_container(const fs::path& dir) {
  const fs::path tmp = dir / "tmp.y8m";
  // Writes a valid container and checks that the reader accepts it (writer/reader agreement).
  auto emit = [&](const std::string& name, const io::ContainerContents& c) {
    io::write_container(tmp.string(), c);
    {
      io::Container back(tmp.string());
      back.verify();
      Y8M_CHECK(back.metadata() == c.metadata && back.model_config() == c.model_config &&
                    back.tensors().size() == c.tensors.size(),
                "{}: does not read back as written", name);
    }
    std::string bytes = read_file(tmp);
    fs::remove(tmp);
    write_file(dir / name, bytes);
    return bytes;
  };
  io::ContainerContents empty;
  empty.kind = "model";
  emit("valid_empty.y8m", empty);

  io::ContainerContents ckpt;
  ckpt.kind = "checkpoint";
  ckpt.metadata = {{"step", "42"}, {"flags", "--model=NetVLADModelLF"}};
  ckpt.model_config = {{"model", "NetVLADModelLF"}, {"netvlad_cluster_size", "8"}};
  ckpt.graph = "graph";
  ckpt.tensors.push_back(
      {"a/weights", Tensor::from_vector<float>({1.5f, -2, 3, 4, 5, 6}, {2, 3}), ""});
  ckpt.tensors.push_back({"b", Tensor::from_vector<int64_t>({7}, {}), ""});
  ckpt.tensors.push_back({"empty", Tensor::zeros({0, 5}), ""});
  ckpt.tensors.push_back({"d", bytes_tensor({2, 1, 2}, DType::f64, 1), ""});
  ckpt.tensors.push_back({"h", bytes_tensor({3}, DType::f16, 2), ""});
  ckpt.tensors.push_back({"bf", bytes_tensor({1, 1, 1, 1, 1, 1, 1, 5}, DType::bf16, 3), ""});
  ckpt.tensors.push_back({"i8", bytes_tensor({65}, DType::i8, 4), ""});
  ckpt.tensors.push_back({"i32", bytes_tensor({2, 2}, DType::i32, 5), ""});
  const std::string good = emit("valid_checkpoint.y8m", ckpt);

  // Regression (found by the container fuzzer's protobuf log): a metadata value that is not UTF-8,
  // e.g. a Latin-1 path in a recorded flag, was written but then refused by the reader.
  io::ContainerContents latin1;
  latin1.kind = "checkpoint";
  latin1.metadata = {{"flag.train_dir", "/data/caf\xe9"}, {"step", "1"}};
  latin1.model_config = {{"feature_names",
                          "r\xf6"
                          "b"}};
  latin1.tensors.push_back({"w", Tensor::from_vector<float>({1, 2}, {2}), ""});
  emit("bug-non-utf8-metadata.y8m", latin1);

  io::ContainerContents quant;
  quant.kind = "model";
  quant.tensors.push_back({"q", Tensor::from_vector<uint8_t>({1, 2, 3, 0, 15}, {5}), "cb"});
  quant.tensors.push_back({"cb", bytes_tensor({16}, DType::f32, 9), ""});
  emit("valid_quantized.y8m", quant);

  // Corrupt variants of the checkpoint.
  uint64_t hlen;
  std::memcpy(&hlen, good.data() + 16, 8);
  std::string s = good;
  s[0] = 'X';
  write_file(dir / "corrupt_magic.y8m", s);
  s = good;
  put_u32(&s, 8, 2);
  write_file(dir / "corrupt_major_version.y8m", s);
  s = good;
  put_u64(&s, 16, 64ull << 30);
  write_file(dir / "corrupt_header_length_huge.y8m", s);
  s = good;
  s[32 + hlen / 2] ^= 0x20;
  write_file(dir / "corrupt_header_crc.y8m", s);
  write_file(dir / "corrupt_truncated_data.y8m", good.substr(0, good.size() - 40));
  write_file(dir / "corrupt_truncated_preamble.y8m", good.substr(0, 20));
  write_file(dir / "corrupt_trailing_bytes.y8m", good + std::string(64, '\0'));
  s = good;
  s[(32 + hlen + 63) / 64 * 64 + 1] ^= 1;  // inside the first blob: opens, verify() fails
  write_file(dir / "corrupt_blob_crc.y8m", s);
}

// ---- TFRecord -----------------------------------------------------------------------------------

std::string framed(const std::vector<std::string>& records) {
  std::string out;
  for (const auto& r : records) io::append_record(&out, r);
  return out;
}

std::string small_frame_record(const std::string& id, int frames, bool labels = true) {
  const io::FeatureSpec spec = io::FeatureSpec::parse("rgb,audio", "4,2");
  std::vector<std::string> rgb, audio;
  for (int t = 0; t < frames; ++t) {
    rgb.push_back(std::string(4, static_cast<char>('a' + t)));
    audio.push_back(std::string(2, static_cast<char>('A' + t)));
  }
  std::vector<std::vector<std::string_view>> views(2);
  for (int t = 0; t < frames; ++t) {
    views[0].push_back(rgb[static_cast<size_t>(t)]);
    views[1].push_back(audio[static_cast<size_t>(t)]);
  }
  const std::vector<int64_t> l = labels ? std::vector<int64_t>{1, 4, 9} : std::vector<int64_t>{};
  return io::encode_frame_record(id, l, views, spec, labels ? "id" : "video_id");
}

void make_tfrecord(const fs::path& dir) {
  write_file(dir / "valid_empty_file.tfrecord", "");
  write_file(dir / "valid_one.tfrecord", framed({"hello"}));
  const std::string good = framed({"", small_frame_record("vid0", 2), "x", std::string(40, 'z')});
  write_file(dir / "valid_four.tfrecord", good);
  // Byte offsets of the records in `good`: 16, +16 + frame record, ...
  const size_t second = 16;
  std::string s = good;
  s[second + 12 + 3] ^= 0x40;  // data CRC of record 1 fails: skipped, later records still read
  write_file(dir / "corrupt_data_crc.tfrecord", s);
  s = good;
  s[second] ^= 1;  // length of record 1 changes: its length CRC fails, the rest cannot be framed
  write_file(dir / "corrupt_length_crc.tfrecord", s);
  write_file(dir / "corrupt_truncated_record.tfrecord", good.substr(0, good.size() - 10));
  write_file(dir / "corrupt_truncated_header.tfrecord", good + std::string(7, '\0'));
  s = framed({"abc"});
  put_u64(&s, 0, ~0ull);  // a huge length with a correct length CRC
  put_u32(&s, 8, io::masked_crc32c(s.data(), 8));
  write_file(dir / "corrupt_huge_length.tfrecord", s);
}

// ---- YouTube-8M records -------------------------------------------------------------------------

// Hand-made wire bytes: unknown fields, a group, unpacked labels and fixed32 floats.
void varint(std::string* o, uint64_t v) {
  while (v >= 0x80) {
    o->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  o->push_back(static_cast<char>(v));
}
std::string len_field(uint32_t field, const std::string& payload) {
  std::string o;
  varint(&o, field << 3 | 2);
  varint(&o, payload.size());
  return o + payload;
}

std::string handmade_frame_record() {
  auto feature = [](uint32_t kind, const std::string& list) { return len_field(kind, list); };
  std::string labels_list;  // unpacked int64 values 2, 3
  for (int v : {2, 3}) {
    varint(&labels_list, 1 << 3 | 0);
    varint(&labels_list, static_cast<uint64_t>(v));
  }
  std::string preds;  // unpacked fixed32 floats
  for (int i = 0; i < 10; ++i) {
    varint(&preds, 1 << 3 | 5);
    const float f = 0.1f * static_cast<float>(i);
    preds.append(reinterpret_cast<const char*>(&f), 4);
  }
  auto entry = [](const std::string& key, const std::string& value) {
    return len_field(1, len_field(1, key) + len_field(2, value));
  };
  std::string context = entry("video_id", feature(1, len_field(1, "hand")));
  context += entry("labels", feature(3, labels_list));
  context += entry("predictions", feature(2, preds));
  std::string lists;
  for (const auto& [name, size] : {std::pair<std::string, int>{"rgb", 4}, {"audio", 2}}) {
    std::string fl;
    for (int t = 0; t < 2; ++t)
      fl += len_field(1, feature(1, len_field(1, std::string(size, 'q'))));
    lists += entry(name, fl);
  }
  std::string rec = len_field(1, context) + len_field(2, lists);
  std::string unknown;
  varint(&unknown, 7 << 3 | 0);  // varint field 7
  varint(&unknown, 300);
  varint(&unknown, 8 << 3 | 3);  // group 8 holding a fixed64, then its end tag
  varint(&unknown, 1 << 3 | 1);
  unknown.append(8, '\x01');
  varint(&unknown, 8 << 3 | 4);
  return unknown + rec;
}

void make_yt8m_record(const fs::path& dir) {
  write_file(dir / "frame_small.pb", small_frame_record("vid0", 2));
  write_file(dir / "frame_small_truncated_frames.pb", small_frame_record("vid1", 5));
  write_file(dir / "frame_small_test_no_labels.pb", small_frame_record("tst0", 1, false));
  write_file(dir / "frame_handmade_distill.pb", handmade_frame_record());
  {
    const io::FeatureSpec spec = io::FeatureSpec::parse("rgb,audio", "4,2");
    const std::string a(4, 'a'), b(2, 'b');
    std::vector<std::vector<std::string_view>> views = {{a}, {b}};
    std::vector<float> preds(10);
    for (int i = 0; i < 10; ++i) preds[static_cast<size_t>(i)] = 0.05f * static_cast<float>(i);
    write_file(dir / "frame_small_distill.pb",
               io::encode_frame_record("dst0", {0, 9}, views, spec, "video_id", &preds));
  }
  {
    const io::FeatureSpec spec = io::FeatureSpec::frame_default();
    const std::string rgb(1024, '\x80'), audio(128, '\x7f');
    std::vector<std::vector<std::string_view>> views = {{rgb, rgb}, {audio, audio}};
    write_file(dir / "frame_default.pb", io::encode_frame_record("AbCd12", {0, 3861}, views, spec));
  }
  {
    const io::FeatureSpec spec = io::FeatureSpec::parse("mean_rgb,mean_audio", "4,2");
    write_file(dir / "video_small.pb",
               io::encode_video_record("v000", {5}, {{0.5f, -1, 2, 3}, {1, 2}}, spec));
  }
  {
    const io::FeatureSpec spec = io::FeatureSpec::video_default();
    std::vector<float> rgb(1024), audio(128);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<float>(i % 7) * 0.25f;
    write_file(dir / "video_default.pb",
               io::encode_video_record("v001", {1, 2}, {rgb, audio}, spec));
  }
  // Corrupt variants.
  const std::string good = small_frame_record("vid0", 2);
  write_file(dir / "corrupt_truncated.pb", good.substr(0, good.size() - 3));
  std::string s = good;
  s[1] = static_cast<char>(0xff);  // context length runs past the end
  write_file(dir / "corrupt_length.pb", s);
  write_file(dir / "corrupt_varint_10_bytes.pb", std::string(11, '\xff'));
  write_file(dir / "corrupt_wire_type_7.pb", std::string("\x0f\x00", 2));
  write_file(dir / "corrupt_group_nesting.pb", std::string(40, '\x0b'));  // field 1, start group
  write_file(dir / "corrupt_label_range.pb",
             io::encode_frame_record("bad", {-1, 10},
                                     {{std::string_view("aaaa")}, {std::string_view("bb")}},
                                     io::FeatureSpec::parse("rgb,audio", "4,2")));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <repo>/fuzz/corpus\n", argv[0]);
    return 2;
  }
  try {
    const fs::path root = argv[1];
    for (const char* t : {"container", "tfrecord", "yt8m_record"}) fs::create_directories(root / t);
    make_container(root / "container");
    make_tfrecord(root / "tfrecord");
    make_yt8m_record(root / "yt8m_record");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
