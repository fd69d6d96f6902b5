#include "io/yt8m_record.h"

#include "engine/error.h"
#include "io/proto/example.pb.h"
#include "io/wire.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <sstream>

namespace y8m::io {

using wire::Cursor;

int FeatureSpec::total() const {
  int t = 0;
  for (int s : sizes) t += s;
  return t;
}

FeatureSpec FeatureSpec::parse(const std::string& names_csv, const std::string& sizes_csv) {
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) {
      // The original configs sometimes quote the sizes ('"1024,128"'); strip quotes and spaces.
      std::string clean;
      for (char c : item)
        if (c != '"' && c != '\'' && c != ' ') clean += c;
      out.push_back(clean);
    }
    return out;
  };
  FeatureSpec f;
  f.names = split(names_csv);
  for (const std::string& s : split(sizes_csv)) {
    int v = 0;
    try {
      size_t used = 0;
      v = std::stoi(s, &used);
      Y8M_CHECK(used == s.size(), "");
    } catch (const std::exception&) {
      Y8M_FAIL("--feature_sizes: '{}' is not a number (in '{}')", s, sizes_csv);
    }
    Y8M_CHECK(v > 0, "--feature_sizes: sizes must be positive, got {}", v);
    f.sizes.push_back(v);
  }
  Y8M_CHECK(!f.names.empty() && f.names.size() == f.sizes.size(),
            "--feature_names '{}' and --feature_sizes '{}' must list the same number of features",
            names_csv, sizes_csv);
  return f;
}

namespace {

// A Feature message's payload of the expected kind (1 bytes_list, 2 float_list, 3 int64_list).
std::string_view feature_payload(std::string_view feature, uint32_t want, const char* key,
                                 const char* kind) {
  Cursor c(feature);
  std::string_view payload;
  bool found = false;
  while (!c.done()) {
    uint32_t wt;
    const uint32_t f = c.tag(&wt);
    if (wt == wire::kLen && f >= 1 && f <= 3) {
      std::string_view v = c.bytes();
      if (f == want) {
        payload = v;
        found = true;
      } else {
        found = false;  // oneof: the last kind set wins
      }
    } else {
      c.skip(wt);
    }
  }
  Y8M_CHECK(found || feature.empty(), "feature '{}' is not a {}", key, kind);
  return payload;
}

void read_int64_list(std::string_view list, std::vector<int64_t>* out) {
  Cursor c(list);
  while (!c.done()) {
    uint32_t wt;
    const uint32_t f = c.tag(&wt);
    if (f == 1 && wt == wire::kLen) {  // packed
      Cursor p(c.bytes());
      while (!p.done()) out->push_back(static_cast<int64_t>(p.varint()));
    } else if (f == 1 && wt == wire::kVarint) {
      out->push_back(static_cast<int64_t>(c.varint()));
    } else {
      c.skip(wt);
    }
  }
}

void read_float_list(std::string_view list, std::vector<float>* out) {
  Cursor c(list);
  while (!c.done()) {
    uint32_t wt;
    const uint32_t f = c.tag(&wt);
    if (f == 1 && wt == wire::kLen) {  // packed
      std::string_view b = c.bytes();
      Y8M_CHECK(b.size() % 4 == 0, "malformed protobuf: packed float list of {} bytes", b.size());
      if (b.empty()) continue;  // memcpy into an empty vector's null data() is undefined
      const size_t n0 = out->size();
      out->resize(n0 + b.size() / 4);
      std::memcpy(out->data() + n0, b.data(), b.size());
    } else if (f == 1 && wt == wire::kFixed32) {
      const uint32_t u = c.fixed32();
      float v;
      std::memcpy(&v, &u, 4);
      out->push_back(v);
    } else {
      c.skip(wt);
    }
  }
}

// Reads a small varint at p (< end); returns false if it does not fit in 2 bytes or runs past end.
inline bool short_varint(const uint8_t*& p, const uint8_t* end, uint32_t* v) {
  if (p < end && p[0] < 0x80) {
    *v = p[0];
    p += 1;
    return true;
  }
  if (end - p >= 2 && p[1] < 0x80) {
    *v = (p[0] & 0x7fu) | static_cast<uint32_t>(p[1]) << 7;
    p += 2;
    return true;
  }
  return false;
}

// The common encoding of one frame, Feature{bytes_list{value: <frame>}}, recognized without the
// general parser (the reader's hot path: 600 frames per record). False: use the general parser.
inline bool frame_fast_path(std::string_view feature, std::string_view* frame) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(feature.data());
  const uint8_t* end = p + feature.size();
  uint32_t n1, n2;
  if (p == end || *p++ != 0x0a || !short_varint(p, end, &n1) ||
      n1 != static_cast<uint32_t>(end - p))
    return false;
  if (p == end || *p++ != 0x0a || !short_varint(p, end, &n2) ||
      n2 != static_cast<uint32_t>(end - p))
    return false;
  *frame = std::string_view(reinterpret_cast<const char*>(p), n2);
  return true;
}

// First value of a bytes_list (ids).
std::string_view read_first_bytes(std::string_view list) {
  Cursor c(list);
  while (!c.done()) {
    uint32_t wt;
    const uint32_t f = c.tag(&wt);
    if (f == 1 && wt == wire::kLen) return c.bytes();
    c.skip(wt);
  }
  return {};
}

// Calls fn(key, value) for every entry of a map<string, Message> field (field 1 of `msg`).
template <class Fn>
void for_each_map_entry(std::string_view msg, Fn&& fn) {
  Cursor c(msg);
  while (!c.done()) {
    uint32_t wt;
    const uint32_t f = c.tag(&wt);
    if (f != 1 || wt != wire::kLen) {
      c.skip(wt);
      continue;
    }
    Cursor e(c.bytes());
    std::string_view key, value;
    while (!e.done()) {
      uint32_t ewt;
      const uint32_t ef = e.tag(&ewt);
      if (ef == 1 && ewt == wire::kLen) {
        key = e.bytes();
      } else if (ef == 2 && ewt == wire::kLen) {
        value = e.bytes();
      } else {
        e.skip(ewt);
      }
    }
    fn(key, value);
  }
}

void check_labels(const std::vector<int64_t>& labels, int num_classes) {
  for (int64_t l : labels)
    Y8M_CHECK(l >= 0 && l < num_classes, "label {} outside [0, {})", l, num_classes);
}

struct Context {
  std::string_view id, id_alt, labels_list, predictions_list;
  bool has_id = false, has_id_alt = false, has_labels = false, has_predictions = false;
};

Context read_context(std::string_view features, const DecodeOptions& opts, const char* id_main,
                     const char* id_alt) {
  Context ctx;
  for_each_map_entry(features, [&](std::string_view key, std::string_view value) {
    if (key == id_main) {
      ctx.id = read_first_bytes(feature_payload(value, 1, id_main, "bytes_list"));
      ctx.has_id = true;
    } else if (id_alt != nullptr && key == id_alt) {
      ctx.id_alt = read_first_bytes(feature_payload(value, 1, id_alt, "bytes_list"));
      ctx.has_id_alt = true;
    } else if (key == "labels") {
      ctx.labels_list = feature_payload(value, 3, "labels", "int64_list");
      ctx.has_labels = true;
    } else if (opts.distill && key == "predictions") {
      ctx.predictions_list = feature_payload(value, 2, "predictions", "float_list");
      ctx.has_predictions = true;
    }
  });
  return ctx;
}

void finish_context(const Context& ctx, const DecodeOptions& opts, std::string_view* id,
                    std::vector<int64_t>* labels) {
  const bool auto_id = opts.id_key.empty();
  if (ctx.has_id) {
    *id = ctx.id;
  } else {
    if (!(auto_id && ctx.has_id_alt))
      throw MissingFeatureError(
          auto_id ? "id" : opts.id_key,
          fmt::format("missing context feature '{}'",
                      auto_id ? std::string("id' (or 'video_id") : opts.id_key));
    *id = ctx.id_alt;
  }
  labels->clear();
  if (!ctx.has_labels && opts.require_labels)
    throw MissingFeatureError("labels", "missing context feature 'labels'");
  read_int64_list(ctx.labels_list, labels);
  check_labels(*labels, opts.num_classes);
}

}  // namespace

void decode_frame_record(std::string_view record, const DecodeOptions& opts, FrameRecord* out) {
  const FeatureSpec& fs = opts.features;
  const size_t nf = fs.names.size();
  out->frames.resize(nf);
  for (auto& f : out->frames) f.clear();
  std::vector<int> counts(nf, -1);
  std::string_view context;
  Cursor c(record);
  while (!c.done()) {
    uint32_t wt;
    const uint32_t f = c.tag(&wt);
    if (f == 1 && wt == wire::kLen) {
      context = c.bytes();
    } else if (f == 2 && wt == wire::kLen) {
      for_each_map_entry(c.bytes(), [&](std::string_view key, std::string_view list) {
        for (size_t k = 0; k < nf; ++k) {
          if (key != fs.names[k]) continue;
          auto& views = out->frames[k];
          views.clear();  // a repeated key replaces the earlier entry
          views.reserve(static_cast<size_t>(opts.max_frames));
          int count = 0;
          Cursor lc(list);
          while (!lc.done()) {
            uint32_t lwt;
            const uint32_t lf = lc.tag(&lwt);
            if (lf != 1 || lwt != wire::kLen) {
              lc.skip(lwt);
              continue;
            }
            const std::string_view feature = lc.bytes();
            std::string_view frame;
            if (!frame_fast_path(feature, &frame))
              frame =
                  read_first_bytes(feature_payload(feature, 1, fs.names[k].c_str(), "bytes_list"));
            Y8M_CHECK(static_cast<int>(frame.size()) == fs.sizes[k],
                      "feature '{}' frame {} has {} bytes, expected {} (--feature_sizes)",
                      fs.names[k], count, frame.size(), fs.sizes[k]);
            if (count < opts.max_frames) views.push_back(frame);
            ++count;
          }
          counts[k] = count;
        }
      });
    } else {
      c.skip(wt);
    }
  }
  const char* main_key = opts.id_key.empty() ? "id" : opts.id_key.c_str();
  const Context ctx =
      read_context(context, opts, main_key, opts.id_key.empty() ? "video_id" : nullptr);
  finish_context(ctx, opts, &out->id, &out->labels);
  out->predictions.clear();
  if (opts.distill) {
    if (!ctx.has_predictions)
      throw MissingFeatureError(
          "predictions", "missing context feature 'predictions' (not a distillation record?)");
    read_float_list(ctx.predictions_list, &out->predictions);
    Y8M_CHECK(static_cast<int>(out->predictions.size()) == opts.num_classes,
              "context feature 'predictions' has {} values, expected {}", out->predictions.size(),
              opts.num_classes);
  }
  for (size_t k = 0; k < nf; ++k) {
    Y8M_CHECK(counts[k] >= 0, "missing feature list '{}' (--feature_names)", fs.names[k]);
    Y8M_CHECK(counts[k] == counts[0], "frame count mismatch: '{}' has {} frames, '{}' has {}",
              fs.names[0], counts[0], fs.names[k], counts[k]);
  }
  out->total_frames = counts[0];
  out->num_frames = std::min(counts[0], opts.max_frames);
}

void decode_video_record(std::string_view record, const DecodeOptions& opts, VideoRecord* out) {
  const FeatureSpec& fs = opts.features;
  std::string_view features;
  Cursor c(record);
  while (!c.done()) {
    uint32_t wt;
    const uint32_t f = c.tag(&wt);
    if (f == 1 && wt == wire::kLen) {
      features = c.bytes();
    } else {
      c.skip(wt);
    }
  }
  const char* main_key = opts.id_key.empty() ? "id" : opts.id_key.c_str();
  const Context ctx =
      read_context(features, opts, main_key, opts.id_key.empty() ? "video_id" : nullptr);
  finish_context(ctx, opts, &out->id, &out->labels);
  std::vector<std::string_view> lists(fs.names.size());
  std::vector<bool> seen(fs.names.size(), false);
  for_each_map_entry(features, [&](std::string_view key, std::string_view value) {
    for (size_t k = 0; k < fs.names.size(); ++k)
      if (key == fs.names[k]) {
        lists[k] = feature_payload(value, 2, fs.names[k].c_str(), "float_list");
        seen[k] = true;
      }
  });
  out->features.clear();
  for (size_t k = 0; k < fs.names.size(); ++k) {
    Y8M_CHECK(seen[k], "missing feature '{}' (--feature_names)", fs.names[k]);
    const size_t before = out->features.size();
    read_float_list(lists[k], &out->features);
    Y8M_CHECK(static_cast<int>(out->features.size() - before) == fs.sizes[k],
              "feature '{}' has {} values, expected {}", fs.names[k], out->features.size() - before,
              fs.sizes[k]);
  }
}

namespace {
std::string serialize_deterministic(const google::protobuf::MessageLite& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream sos(&out);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&cos);
  }
  return out;
}

void set_context(tensorflow::Features* ctx, std::string_view id, const std::string& id_key,
                 const std::vector<int64_t>& labels) {
  auto& fm = *ctx->mutable_feature();
  fm[id_key].mutable_bytes_list()->add_value(std::string(id));
  auto* l = fm["labels"].mutable_int64_list();
  for (int64_t v : labels) l->add_value(v);
}
}  // namespace

std::string encode_frame_record(std::string_view id, const std::vector<int64_t>& labels,
                                const std::vector<std::vector<std::string_view>>& frames,
                                const FeatureSpec& features, const std::string& id_key,
                                const std::vector<float>* predictions) {
  Y8M_CHECK(frames.size() == features.names.size(), "encode: {} frame lists for {} features",
            frames.size(), features.names.size());
  tensorflow::SequenceExample ex;
  set_context(ex.mutable_context(), id, id_key, labels);
  if (predictions != nullptr) {
    auto* p = (*ex.mutable_context()->mutable_feature())["predictions"].mutable_float_list();
    p->mutable_value()->Add(predictions->begin(), predictions->end());
  }
  auto& lists = *ex.mutable_feature_lists()->mutable_feature_list();
  for (size_t k = 0; k < frames.size(); ++k) {
    Y8M_CHECK(frames[k].size() == frames[0].size(),
              "encode: frame count mismatch between features");
    auto& fl = lists[features.names[k]];
    for (std::string_view fr : frames[k]) {
      Y8M_CHECK(static_cast<int>(fr.size()) == features.sizes[k],
                "encode: frame of {} bytes for feature '{}' of {}", fr.size(), features.names[k],
                features.sizes[k]);
      fl.add_feature()->mutable_bytes_list()->add_value(std::string(fr));
    }
  }
  return serialize_deterministic(ex);
}

std::string encode_video_record(std::string_view id, const std::vector<int64_t>& labels,
                                const std::vector<std::vector<float>>& features,
                                const FeatureSpec& spec) {
  Y8M_CHECK(features.size() == spec.names.size(), "encode: {} feature vectors for {} features",
            features.size(), spec.names.size());
  tensorflow::Example ex;
  set_context(ex.mutable_features(), id, "id", labels);
  auto& fm = *ex.mutable_features()->mutable_feature();
  for (size_t k = 0; k < features.size(); ++k) {
    Y8M_CHECK(static_cast<int>(features[k].size()) == spec.sizes[k],
              "encode: feature '{}' has {} values, expected {}", spec.names[k], features[k].size(),
              spec.sizes[k]);
    fm[spec.names[k]].mutable_float_list()->mutable_value()->Add(features[k].begin(),
                                                                 features[k].end());
  }
  return serialize_deterministic(ex);
}

}  // namespace y8m::io
