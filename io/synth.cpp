#include "io/synth.h"

#include "engine/error.h"
#include "engine/philox.h"
#include "io/atomic_file.h"
#include "io/tfrecord.h"
#include "io/yt8m_record.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

namespace y8m::io {

namespace fs = std::filesystem;

namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A sequential random stream over Philox blocks, keyed by a hash of (seed, purpose, index).
class Stream {
 public:
  Stream(uint64_t seed, uint64_t purpose, uint64_t index)
      : key_(splitmix(seed ^ splitmix(purpose ^ splitmix(index)))) {}
  uint32_t u32() {
    if (pos_ == 4) {
      buf_ = engine::philox::block(key_, ctr_++);
      pos_ = 0;
    }
    return buf_.v[pos_++];
  }
  double uniform() {
    return (static_cast<double>(u32() >> 5) * 67108864.0 + (u32() >> 6)) / 9007199254740992.0;
  }
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  int poisson(double mean) {  // Knuth; mean is small here
    const double l = std::exp(-mean);
    int k = 0;
    double p = uniform();
    while (p > l) {
      ++k;
      p *= uniform();
    }
    return k;
  }

 private:
  uint64_t key_;
  uint64_t ctr_ = 0;
  engine::philox::U32x4 buf_{};
  int pos_ = 4;
};

enum Purpose : uint64_t { kPrototype = 1, kVideo = 2 };
constexpr int kRgb = 1024, kAudio = 128, kF = kRgb + kAudio;
const char* kSplits[3] = {"train", "validate", "test"};

std::string video_id(uint64_t seed, int split, int64_t i) {
  // A bijection of (split, i) onto [0, 62^6): multiply by a unit mod 62^6, add an offset.
  static const char* kAlpha = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const uint64_t m = 56800235584ull;  // 62^6
  uint64_t v = (static_cast<uint64_t>(split) * 20000000ull + static_cast<uint64_t>(i)) % m;
  v = (v * 1000003ull + (seed % m)) % m;  // 1000003 is prime and coprime with 62^6
  std::string id(6, '0');
  for (int k = 5; k >= 0; --k) {
    id[static_cast<size_t>(k)] = kAlpha[v % 62];
    v /= 62;
  }
  return id;
}

uint8_t quantize(double x) {
  x = std::clamp(x, -2.0, 2.0);
  const double q = std::nearbyint((x + 1.9921875) * (255.0 / 4.0));
  return static_cast<uint8_t>(std::clamp(q, 0.0, 255.0));
}

struct Shared {
  const SynthOptions& o;
  std::vector<float> prototypes;  // [num_classes, 1152]
  std::vector<double> cdf;        // class CDF
};

std::vector<int64_t> draw_labels(const Shared& sh, Stream& rs) {
  const SynthOptions& o = sh.o;
  const int k =
      std::min({1 + rs.poisson(std::max(0.0, o.mean_labels - 1.0)), o.max_labels, o.num_classes});
  std::vector<int64_t> labels;
  while (static_cast<int>(labels.size()) < k) {
    const double u = rs.uniform() * sh.cdf.back();
    const int64_t c = std::upper_bound(sh.cdf.begin(), sh.cdf.end(), u) - sh.cdf.begin();
    const int64_t cc = std::min<int64_t>(c, o.num_classes - 1);
    if (std::find(labels.begin(), labels.end(), cc) == labels.end()) labels.push_back(cc);
  }
  return labels;
}

// Writes one shard of one split: videos [begin, end).
SynthSummary write_shard(const Shared& sh, const std::string& root, int split, int shard,
                         int64_t begin, int64_t end) {
  const SynthOptions& o = sh.o;
  SynthSummary s;
  const std::string name = fmt::format("{}{:04d}.tfrecord", kSplits[split], shard);
  std::unique_ptr<RecordWriter> fw, vw;
  if (o.frame_level) fw = std::make_unique<RecordWriter>(root + "/frame/" + name);
  if (o.video_level) vw = std::make_unique<RecordWriter>(root + "/video/" + name);
  const FeatureSpec fspec = FeatureSpec::frame_default(), vspec = FeatureSpec::video_default();
  const double noise = 0.3 * o.difficulty;
  std::vector<uint8_t> rgb, audio;
  for (int64_t i = begin; i < end; ++i) {
    Stream rs(o.seed, kVideo, static_cast<uint64_t>(split) << 40 | static_cast<uint64_t>(i));
    std::vector<int64_t> labels = draw_labels(sh, rs);
    const int n = o.min_frames + static_cast<int>(rs.uniform() * (o.max_frames - o.min_frames + 1));
    double bg[kF];
    for (double& b : bg) b = 0.15 * rs.normal();
    rgb.resize(static_cast<size_t>(n) * kRgb);
    audio.resize(static_cast<size_t>(n) * kAudio);
    std::vector<double> mean(kF, 0.0);
    for (int t = 0; t < n; ++t) {
      const bool background = rs.uniform() < o.background_frames;
      const float* proto =
          background
              ? nullptr
              : sh.prototypes.data() + labels[static_cast<size_t>(rs.u32() % labels.size())] * kF;
      for (int f = 0; f < kF; ++f) {
        const double x = (proto ? proto[f] : 0.0) + bg[f] + noise * rs.normal();
        const uint8_t q = quantize(x);
        if (f < kRgb) {
          rgb[static_cast<size_t>(t) * kRgb + f] = q;
        } else {
          audio[static_cast<size_t>(t) * kAudio + (f - kRgb)] = q;
        }
        mean[static_cast<size_t>(f)] += q * (4.0 / 255.0) - 1.9921875;
      }
    }
    const std::string id = video_id(o.seed, split, i);
    const bool with_labels = split != 2;
    const std::vector<int64_t> written = with_labels ? labels : std::vector<int64_t>{};
    if (fw) {
      std::vector<std::vector<std::string_view>> frames(2);
      for (int t = 0; t < n; ++t) {
        frames[0].emplace_back(
            reinterpret_cast<const char*>(rgb.data()) + static_cast<size_t>(t) * kRgb, kRgb);
        frames[1].emplace_back(
            reinterpret_cast<const char*>(audio.data()) + static_cast<size_t>(t) * kAudio, kAudio);
      }
      fw->write(encode_frame_record(id, written, frames, fspec, "id"));
    }
    if (vw) {
      std::vector<std::vector<float>> feats(2);
      for (int f = 0; f < kF; ++f)
        feats[f < kRgb ? 0 : 1].push_back(static_cast<float>(mean[static_cast<size_t>(f)] / n));
      vw->write(encode_video_record(id, written, feats, vspec));
    }
    s.videos += 1;
    s.frames += n;
    s.labels += static_cast<int64_t>(written.size());
  }
  for (auto* w : {fw.get(), vw.get()}) {
    if (!w) continue;
    w->close();
    s.files += 1;
    s.bytes += static_cast<int64_t>(fs::file_size(w->path()));
  }
  return s;
}

}  // namespace

void apply_synth_preset(const std::string& preset, SynthOptions* o) {
  if (preset == "quickstart") {  // a small model learns it on 2 CPU cores in minutes
    o->train_videos = 4000;
    o->validate_videos = 1000;
    o->test_videos = 1000;
    o->shards = 4;
    o->min_frames = 20;
    o->max_frames = 60;
  } else if (preset == "tiny") {  // unit and end-to-end tests
    o->num_classes = 50;
    o->train_videos = 300;
    o->validate_videos = 100;
    o->test_videos = 50;
    o->shards = 2;
    o->min_frames = 5;
    o->max_frames = 20;
  } else if (preset == "default" || preset.empty()) {
  } else {
    Y8M_FAIL("--preset: unknown preset '{}' (quickstart, tiny, default)", preset);
  }
}

double synth_class_probability(const SynthOptions& o, int c) {
  double z = 0;
  for (int k = 0; k < o.num_classes; ++k) z += std::pow(k + 10.0, -o.alpha);
  return std::pow(c + 10.0, -o.alpha) / z;
}

SynthSummary write_synth_dataset(const SynthOptions& o) {
  Y8M_CHECK(!o.output_dir.empty(), "--output_dir: required");
  Y8M_CHECK(!fs::exists(o.output_dir), "--output_dir: '{}' already exists (choose a new folder)",
            o.output_dir);
  Y8M_CHECK(o.num_classes > 0 && o.shards > 0 && o.min_frames >= 1 &&
                o.max_frames >= o.min_frames && o.train_videos >= 0 && o.validate_videos >= 0 &&
                o.test_videos >= 0 && o.mean_labels >= 1 && o.max_labels >= 1 &&
                o.difficulty >= 0 && (o.frame_level || o.video_level),
            "y8m-synth: inconsistent options (classes {}, shards {}, frames [{}, {}], labels mean "
            "{} max {})",
            o.num_classes, o.shards, o.min_frames, o.max_frames, o.mean_labels, o.max_labels);
  Shared sh{o, {}, {}};
  sh.prototypes.resize(static_cast<size_t>(o.num_classes) * kF);
  for (int c = 0; c < o.num_classes; ++c) {
    Stream ps(o.seed, kPrototype, static_cast<uint64_t>(c));
    for (int f = 0; f < kF; ++f)
      sh.prototypes[static_cast<size_t>(c) * kF + f] = static_cast<float>(0.35 * ps.normal());
  }
  double acc = 0;
  for (int c = 0; c < o.num_classes; ++c) sh.cdf.push_back(acc += std::pow(c + 10.0, -o.alpha));

  // Build in a temporary sibling folder and rename at the end: no partial dataset under the final
  // name.
  const std::string tmp = temp_path_for(o.output_dir);
  fs::create_directories(tmp);
  if (o.frame_level) fs::create_directories(tmp + "/frame");
  if (o.video_level) fs::create_directories(tmp + "/video");
  struct Job {
    int split, shard;
    int64_t begin, end;
  };
  std::vector<Job> jobs;
  const int64_t counts[3] = {o.train_videos, o.validate_videos, o.test_videos};
  for (int sp = 0; sp < 3; ++sp) {
    if (counts[sp] == 0) continue;
    const int shards = static_cast<int>(std::min<int64_t>(o.shards, counts[sp]));
    for (int s = 0; s < shards; ++s)
      jobs.push_back({sp, s, counts[sp] * s / shards, counts[sp] * (s + 1) / shards});
  }
  SynthSummary total;
  std::mutex mu;
  std::atomic<size_t> next{0};
  std::exception_ptr err;
  auto work = [&] {
    for (size_t j; (j = next++) < jobs.size();) {
      try {
        const SynthSummary s =
            write_shard(sh, tmp, jobs[j].split, jobs[j].shard, jobs[j].begin, jobs[j].end);
        std::lock_guard<std::mutex> l(mu);
        total.videos += s.videos;
        total.frames += s.frames;
        total.labels += s.labels;
        total.files += s.files;
        total.bytes += s.bytes;
      } catch (...) {
        std::lock_guard<std::mutex> l(mu);
        if (!err) err = std::current_exception();
      }
    }
  };
  const int nt = o.threads > 0
                     ? o.threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int t = 0; t < nt; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (err) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    std::rethrow_exception(err);
  }
  fs::rename(tmp, o.output_dir);
  return total;
}

}  // namespace y8m::io
