// The C API of capi/y8m.h over pipeline::ArchiveModel (the archive runner of y8m-infer) and
// io::Reader. Every entry point catches every exception and turns it into a status and the
// thread's last-error message.
//
// Float frames: an archive's frame-level graph reads uint8 frames through prepare_frames
// (dequantize, zero the padding slots, per-frame L2 norm). For float32 input a second executor runs
// the same graph with that node replaced by l2_normalize over f32 frames, whose padding slots are
// zeroed here; it is built on the first float32 call.
#include "capi/y8m.h"

#include "autograd/variable.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "io/reader.h"
#include "ops/nn/frames.h"
#include "pipeline/archive.h"
#include "pipeline/model_inputs.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

using y8m::Device;
using y8m::DType;
using y8m::Tensor;
namespace og = y8m::ops::graph;

struct y8m_archive {
  std::unique_ptr<y8m::pipeline::ArchiveModel> model;
  y8m::models::ModelConfig config;
  bool frame_level = false;
  int64_t max_frames = 0, feature_size = 0, num_classes = 0;
  std::string device;
  std::vector<std::string> outputs;
  std::once_flag float_once;
  std::unique_ptr<og::Executor> float_executor;  // frame-level float32 input (see above)
};

struct y8m_reader {
  std::unique_ptr<y8m::io::Reader> reader;
  y8m::io::Batch batch;
  std::vector<const char*> ids;
};

namespace {

thread_local std::string t_error;

// Runs on CUDA devices are serialized: every handle on a device shares its one compute stream,
// cuBLAS handle and scratch state, which the engine does not guard for concurrent host threads.
// CPU runs are concurrent.
std::mutex g_cuda_runs;

// A failure inside the API: the status to return with its message.
struct ApiError {
  y8m_status status;
  std::string message;
};

[[noreturn]] void fail_argument(std::string message) {
  throw ApiError{Y8M_ERROR_ARGUMENT, std::move(message)};
}

template <class F>
y8m_status guarded(F&& f) {
  t_error.clear();
  try {
    f();
    return Y8M_OK;
  } catch (const ApiError& e) {
    t_error = e.message;
    return e.status;
  } catch (const std::bad_alloc&) {
    t_error = "out of memory";
    return Y8M_ERROR_MEMORY;
  } catch (const std::exception& e) {
    t_error = e.what();
    // Engine allocators report exhausted host or device memory as errors starting with this.
    return std::strncmp(e.what(), "out of memory", 13) == 0 ? Y8M_ERROR_MEMORY : Y8M_ERROR_RUNTIME;
  } catch (...) {
    t_error = "unknown error";
    return Y8M_ERROR_RUNTIME;
  }
}

void need(const void* p, const char* what) {
  if (p == nullptr) fail_argument(std::string(what) + ": NULL");
}

// The frame-level graph with every prepare_frames(frames, num_frames) node replaced by
// l2_normalize(frames) over f32 frames; any other reader of `frames` is an error.
og::Graph float_frames_graph(const og::Graph& graph, const std::string& path) {
  og::Graph g = graph;
  for (og::Node& n : g.nodes) {
    if (std::find(n.inputs.begin(), n.inputs.end(), "frames") == n.inputs.end()) continue;
    Y8M_CHECK(n.op == "prepare_frames" && n.inputs.size() == 2 && n.inputs[0] == "frames",
              "{}: the graph reads frames in op {}, so float32 frames cannot be fed (give uint8)",
              path, n.op);
    n.op = "l2_normalize";
    n.inputs = {"frames"};
    n.attrs = {{"axis", og::Attr(-1)}};
  }
  for (og::ValueInfo& v : g.inputs)
    if (v.name == "frames") v.dtype = DType::f32;
  return g;
}

void predict(y8m_archive* a, y8m_dtype dtype, const void* frames, int64_t batch, int64_t t_in,
             int64_t f, const int32_t* num_frames, uint64_t seed, float* scores,
             size_t scores_len) {
  need(a, "archive");
  need(frames, "frames");
  need(scores, "scores");
  if (dtype != Y8M_FLOAT32 && dtype != Y8M_UINT8)
    fail_argument("dtype: " + std::to_string(static_cast<int>(dtype)) + " is not a y8m_dtype");
  if (batch < 1) fail_argument("batch: " + std::to_string(batch) + ", expected at least 1");
  if (f != a->feature_size)
    fail_argument("feature_size: " + std::to_string(f) + ", the archive expects " +
                  std::to_string(a->feature_size));
  const uint64_t need_len = static_cast<uint64_t>(batch) * static_cast<uint64_t>(a->num_classes);
  if (scores_len < need_len)
    fail_argument("scores: room for " + std::to_string(scores_len) + " floats, batch " +
                  std::to_string(batch) + " x " + std::to_string(a->num_classes) +
                  " classes needs " + std::to_string(need_len));
  std::map<std::string, Tensor> inputs;
  const og::Executor* executor = &a->model->executor();
  if (!a->frame_level) {
    if (dtype != Y8M_FLOAT32)
      fail_argument("frames: uint8, but this video-level archive takes float32 features");
    if (t_in != 0)
      fail_argument("frames_per_video: " + std::to_string(t_in) +
                    ", a video-level archive takes features [batch, feature_size] (0)");
    Tensor x = Tensor::empty({batch, f}, DType::f32);
    std::memcpy(x.data_ptr(), frames, static_cast<size_t>(batch * f) * sizeof(float));
    inputs.emplace("features", x);
  } else {
    need(num_frames, "num_frames");
    const int64_t t = a->max_frames;
    if (t_in < 1 || t_in > t)
      fail_argument("frames_per_video: " + std::to_string(t_in) + ", expected 1 to " +
                    std::to_string(t) + " (the archive's max_frames)");
    Tensor n = Tensor::empty({batch}, DType::i32);
    for (int64_t b = 0; b < batch; ++b) {
      if (num_frames[b] < 0 || num_frames[b] > t_in)
        fail_argument("num_frames[" + std::to_string(b) + "]: " + std::to_string(num_frames[b]) +
                      ", expected 0 to " + std::to_string(t_in) + " (frames per video)");
      n.data<int32_t>()[b] = num_frames[b];
    }
    const size_t elem = dtype == Y8M_UINT8 ? 1 : sizeof(float);
    Tensor x = Tensor::zeros({batch, t, f}, dtype == Y8M_UINT8 ? DType::u8 : DType::f32);
    // Only the frames before num_frames[b] are copied: the rest stay zero (prepare_frames zeroes
    // them for uint8; for float32 a zero frame stays zero through l2_normalize).
    const size_t row = static_cast<size_t>(f) * elem;
    for (int64_t b = 0; b < batch; ++b)
      std::memcpy(static_cast<char*>(x.data_ptr()) + static_cast<size_t>(b * t) * row,
                  static_cast<const char*>(frames) + static_cast<size_t>(b * t_in) * row,
                  static_cast<size_t>(n.data<int32_t>()[b]) * row);
    if (dtype == Y8M_FLOAT32) {
      std::call_once(a->float_once, [&] {
        const y8m::pipeline::Archive& ar = a->model->archive();
        a->float_executor = std::make_unique<og::Executor>(
            float_frames_graph(ar.graph, ar.path), ar.initializers, a->model->executor().device());
      });
      executor = a->float_executor.get();
    }
    inputs.emplace("frames", x);
    inputs.emplace("num_frames", n);
  }
  y8m::engine::Generator gen(seed ^ y8m::pipeline::kInferenceSeedSalt);
  y8m::autograd::NoGradGuard ng;
  std::unique_lock<std::mutex> cuda_lock(g_cuda_runs, std::defer_lock);
  if (executor->device().is_cuda()) cuda_lock.lock();
  const Tensor p = executor->run(inputs, gen).at("predictions").to(Device::cpu());
  if (cuda_lock.owns_lock()) cuda_lock.unlock();
  Y8M_CHECK(p.dtype() == DType::f32 && p.numel() == static_cast<int64_t>(need_len),
            "{}: predictions {}, expected [{}, {}]", a->model->archive().path, p.str(), batch,
            a->num_classes);
  std::memcpy(scores, p.data_ptr(), need_len * sizeof(float));
}

void open_reader(y8m::io::ReaderOptions ro, const char* pattern, int batch_size, y8m_reader** out) {
  need(out, "out");
  *out = nullptr;
  need(pattern, "pattern");
  ro.patterns = pattern;
  ro.pattern_flag = "pattern";
  ro.batch_size = batch_size > 0 ? batch_size : 1024;
  ro.decode.require_labels = false;
  auto r = std::make_unique<y8m_reader>();
  r->reader = std::make_unique<y8m::io::Reader>(ro);
  *out = r.release();
}

}  // namespace

extern "C" {

const char* y8m_version(void) { return "1.0.0"; }

const char* y8m_last_error(void) { return t_error.c_str(); }

y8m_status y8m_archive_open(const char* path, const char* device, y8m_archive** out) {
  return guarded([&] {
    need(out, "out");
    *out = nullptr;
    need(path, "path");
    const Device d =
        device == nullptr ? y8m::engine::default_device() : y8m::engine::device_from_name(device);
    auto a = std::make_unique<y8m_archive>();
    a->model = std::make_unique<y8m::pipeline::ArchiveModel>(path, d);
    a->config = a->model->config();
    const og::Graph& g = a->model->archive().graph;
    a->frame_level = g.find_input("features") == nullptr;
    const og::ValueInfo* in = g.find_input(a->frame_level ? "frames" : "features");
    Y8M_CHECK(in != nullptr && in->shape.size() == (a->frame_level ? 3u : 2u), "{}: no {} input",
              path, a->frame_level ? "frames [B, T, F]" : "features [B, F]");
    a->max_frames = a->frame_level ? in->shape[1] : 0;
    a->feature_size = in->shape.back();
    a->num_classes = a->config.num_classes;
    a->device = d.str();
    a->outputs = g.outputs;
    *out = a.release();
  });
}

void y8m_archive_close(y8m_archive* archive) { delete archive; }

y8m_status y8m_archive_frame_level(const y8m_archive* a, int* out) {
  return guarded([&] {
    need(a, "archive");
    need(out, "out");
    *out = a->frame_level ? 1 : 0;
  });
}

y8m_status y8m_archive_max_frames(const y8m_archive* a, int64_t* out) {
  return guarded([&] {
    need(a, "archive");
    need(out, "out");
    *out = a->max_frames;
  });
}

y8m_status y8m_archive_feature_size(const y8m_archive* a, int64_t* out) {
  return guarded([&] {
    need(a, "archive");
    need(out, "out");
    *out = a->feature_size;
  });
}

y8m_status y8m_archive_num_features(const y8m_archive* a, size_t* out) {
  return guarded([&] {
    need(a, "archive");
    need(out, "out");
    *out = a->config.feature_names.size();
  });
}

y8m_status y8m_archive_feature(const y8m_archive* a, size_t index, const char** name,
                               int64_t* size) {
  return guarded([&] {
    need(a, "archive");
    const size_t n = a->config.feature_names.size();
    if (index >= n || index >= a->config.feature_sizes.size())
      fail_argument("index: " + std::to_string(index) + ", the archive has " + std::to_string(n) +
                    " feature streams");
    if (name != nullptr) *name = a->config.feature_names[index].c_str();
    if (size != nullptr) *size = a->config.feature_sizes[index];
  });
}

y8m_status y8m_archive_num_classes(const y8m_archive* a, int64_t* out) {
  return guarded([&] {
    need(a, "archive");
    need(out, "out");
    *out = a->num_classes;
  });
}

y8m_status y8m_archive_num_outputs(const y8m_archive* a, size_t* out) {
  return guarded([&] {
    need(a, "archive");
    need(out, "out");
    *out = a->outputs.size();
  });
}

y8m_status y8m_archive_output_name(const y8m_archive* a, size_t index, const char** name) {
  return guarded([&] {
    need(a, "archive");
    need(name, "name");
    if (index >= a->outputs.size())
      fail_argument("index: " + std::to_string(index) + ", the archive has " +
                    std::to_string(a->outputs.size()) + " outputs");
    *name = a->outputs[index].c_str();
  });
}

y8m_status y8m_archive_model(const y8m_archive* a, const char** name) {
  return guarded([&] {
    need(a, "archive");
    need(name, "name");
    *name = a->config.model.c_str();
  });
}

y8m_status y8m_archive_device(const y8m_archive* a, const char** name) {
  return guarded([&] {
    need(a, "archive");
    need(name, "name");
    *name = a->device.c_str();
  });
}

y8m_status y8m_archive_metadata(const y8m_archive* a, const char* key, const char** value) {
  return guarded([&] {
    need(a, "archive");
    need(key, "key");
    need(value, "value");
    const auto& m = a->model->archive().metadata;
    const auto it = m.find(key);
    *value = it == m.end() ? nullptr : it->second.c_str();
  });
}

y8m_status y8m_predict(y8m_archive* archive, y8m_dtype dtype, const void* frames, int64_t batch,
                       int64_t frames_per_video, int64_t feature_size, const int32_t* num_frames,
                       uint64_t seed, float* scores, size_t scores_len) {
  return guarded([&] {
    predict(archive, dtype, frames, batch, frames_per_video, feature_size, num_frames, seed, scores,
            scores_len);
  });
}

y8m_status y8m_dequantize(const uint8_t* q, size_t n, float* out) {
  return guarded([&] {
    if (n == 0) return;
    need(q, "q");
    need(out, "out");
    for (size_t i = 0; i < n; ++i) {
      const float scaled = static_cast<float>(q[i]) * y8m::ops::kDequantScale;
      out[i] = scaled + y8m::ops::kDequantBias;
    }
  });
}

y8m_status y8m_reader_open(const char* pattern, int frame_level, const char* feature_names,
                           const char* feature_sizes, int max_frames, int num_classes,
                           int batch_size, y8m_reader** out) {
  return guarded([&] {
    y8m::io::ReaderOptions ro;
    ro.video_level = frame_level == 0;
    if ((feature_names == nullptr) != (feature_sizes == nullptr))
      fail_argument("feature_names and feature_sizes: give both or neither");
    ro.decode.features = feature_names != nullptr
                             ? y8m::io::FeatureSpec::parse(feature_names, feature_sizes)
                         : ro.video_level ? y8m::io::FeatureSpec::video_default()
                                          : y8m::io::FeatureSpec::frame_default();
    if (max_frames > 0) ro.decode.max_frames = max_frames;
    if (num_classes > 0) ro.decode.num_classes = num_classes;
    open_reader(ro, pattern, batch_size, out);
  });
}

y8m_status y8m_reader_open_for(const char* pattern, const y8m_archive* archive, int batch_size,
                               y8m_reader** out) {
  return guarded([&] {
    need(archive, "archive");
    open_reader(y8m::pipeline::reader_options(archive->config), pattern, batch_size, out);
  });
}

void y8m_reader_close(y8m_reader* reader) { delete reader; }

y8m_status y8m_reader_next(y8m_reader* r, y8m_batch* out) {
  return guarded([&] {
    need(r, "reader");
    need(out, "out");
    *out = y8m_batch{};
    r->batch = y8m::io::Batch{};
    r->ids.clear();
    if (!r->reader->next(&r->batch)) return;
    const y8m::io::Batch& b = r->batch;
    const bool video = r->reader->options().video_level;
    for (const std::string& id : b.ids) r->ids.push_back(id.c_str());
    out->size = b.size;
    out->video_ids = r->ids.data();
    out->dtype = video ? Y8M_FLOAT32 : Y8M_UINT8;
    out->frames = b.frames.data_ptr();
    out->max_frames = video ? 0 : b.frames.size(1);
    out->feature_size = b.frames.size(-1);
    out->num_frames = b.num_frames.data<int32_t>();
    out->labels = b.labels.data<float>();
    out->num_classes = b.labels.size(1);
  });
}

}  // extern "C"
