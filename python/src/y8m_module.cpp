// The y8m Python extension (y8m._y8m) over the C API of capi/y8m.h: numpy arrays in and out,
// C API failures raised as ValueError (bad arguments), MemoryError or RuntimeError with the API's
// message. The GIL is released while an archive runs, so Python threads predict concurrently.
#include "capi/y8m.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

void check(y8m_status s) {
  if (s == Y8M_OK) return;
  const std::string msg = y8m_last_error();
  if (s == Y8M_ERROR_ARGUMENT) throw py::value_error(msg);
  if (s == Y8M_ERROR_MEMORY) {
    PyErr_SetString(PyExc_MemoryError, msg.c_str());
    throw py::error_already_set();
  }
  throw std::runtime_error(msg);
}

std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

class Archive {
 public:
  Archive(const std::string& path, std::optional<std::string> device) : path_(path) {
    y8m_archive* a = nullptr;
    {
      py::gil_scoped_release nogil;
      check(y8m_archive_open(path.c_str(), device ? device->c_str() : nullptr, &a));
    }
    a_ = a;
    int fl = 0;
    check(y8m_archive_frame_level(a_, &fl));
    frame_level_ = fl != 0;
    check(y8m_archive_max_frames(a_, &max_frames_));
    check(y8m_archive_feature_size(a_, &feature_size_));
    check(y8m_archive_num_classes(a_, &num_classes_));
  }
  ~Archive() { y8m_archive_close(a_); }

  void close() {
    py::gil_scoped_release nogil;
    std::unique_lock<std::shared_mutex> l(mu_);  // waits for running predictions
    y8m_archive_close(a_);
    a_ = nullptr;
  }
  bool closed() const { return a_ == nullptr; }

  y8m_archive* handle() const {
    if (a_ == nullptr) throw py::value_error("y8m.Archive: " + path_ + " is closed");
    return a_;
  }

  py::array_t<float> predict(const py::array& frames_in, const py::object& num_frames_in,
                             uint64_t seed) {
    handle();
    const bool u8 = frames_in.dtype().is(py::dtype::of<uint8_t>());
    if (!u8 && !frames_in.dtype().is(py::dtype::of<float>()))
      throw py::type_error("frames: dtype " + dtype_str(frames_in) + ", expected float32 or uint8");
    const py::ssize_t want_dim = frame_level_ ? 3 : 2;
    if (frames_in.ndim() != want_dim)
      throw py::value_error(
          "frames: shape " + shape_str(frames_in) + ", expected " +
          (frame_level_ ? "(batch, frames, " + std::to_string(feature_size_) + ")"
                        : "(batch, " + std::to_string(feature_size_) + ") (video-level archive)"));
    // C-contiguous copies only when needed.
    const py::array frames =
        u8 ? py::array(py::array_t<uint8_t, py::array::c_style>::ensure(frames_in))
           : py::array(py::array_t<float, py::array::c_style>::ensure(frames_in));
    const int64_t b = frames.shape(0);
    const int64_t t = frame_level_ ? frames.shape(1) : 0;
    const int64_t f = frames.shape(want_dim - 1);
    py::array_t<int32_t, py::array::c_style> num_frames;
    if (frame_level_) {
      if (num_frames_in.is_none()) {
        num_frames = py::array_t<int32_t, py::array::c_style>(b);
        std::fill(num_frames.mutable_data(), num_frames.mutable_data() + b,
                  static_cast<int32_t>(t));
      } else {
        const py::array n = py::array::ensure(num_frames_in);
        if (!n || (n.dtype().kind() != 'i' && n.dtype().kind() != 'u'))
          throw py::type_error("num_frames: expected an integer array of shape (" +
                               std::to_string(b) + ",)");
        if (n.ndim() != 1 || n.shape(0) != b)
          throw py::value_error("num_frames: shape " + shape_str(n) + ", expected (" +
                                std::to_string(b) + ",) (one count per video)");
        num_frames = py::array_t<int32_t, py::array::c_style | py::array::forcecast>::ensure(n);
      }
    }
    py::array_t<float> scores({b, num_classes_});
    const void* data = frames.data();
    const int32_t* nf = frame_level_ ? num_frames.data() : nullptr;
    float* out = scores.mutable_data();
    const size_t len = static_cast<size_t>(b * num_classes_);
    y8m_status s;
    {
      py::gil_scoped_release nogil;
      std::shared_lock<std::shared_mutex> l(mu_);
      if (a_ == nullptr) {
        s = Y8M_ERROR_ARGUMENT;
      } else {
        s = y8m_predict(a_, u8 ? Y8M_UINT8 : Y8M_FLOAT32, data, b, t, f, nf, seed, out, len);
      }
    }
    if (a_ == nullptr) throw py::value_error("y8m.Archive: " + path_ + " is closed");
    check(s);
    return scores;
  }

  py::list features() const {
    size_t n = 0;
    check(y8m_archive_num_features(handle(), &n));
    py::list out;
    for (size_t i = 0; i < n; ++i) {
      const char* name = nullptr;
      int64_t size = 0;
      check(y8m_archive_feature(a_, i, &name, &size));
      out.append(py::make_tuple(std::string(name), size));
    }
    return out;
  }

  py::dict inputs() const {
    py::dict d;
    d["frame_level"] = frame_level_;
    d["max_frames"] = max_frames_;
    d["feature_size"] = feature_size_;
    d["features"] = features();
    return d;
  }

  std::vector<std::string> outputs() const {
    size_t n = 0;
    check(y8m_archive_num_outputs(handle(), &n));
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i) {
      const char* name = nullptr;
      check(y8m_archive_output_name(a_, i, &name));
      out.emplace_back(name);
    }
    return out;
  }

  std::string str_query(y8m_status (*fn)(const y8m_archive*, const char**)) const {
    const char* s = nullptr;
    check(fn(handle(), &s));
    return s;
  }

  std::optional<std::string> metadata(const std::string& key) const {
    const char* v = nullptr;
    check(y8m_archive_metadata(handle(), key.c_str(), &v));
    return v ? std::optional<std::string>(v) : std::nullopt;
  }

  const std::string& path() const { return path_; }
  bool frame_level() const { return (handle(), frame_level_); }
  int64_t max_frames() const { return (handle(), max_frames_); }
  int64_t feature_size() const { return (handle(), feature_size_); }
  int64_t num_classes() const { return (handle(), num_classes_); }

 private:
  std::string path_;
  y8m_archive* a_ = nullptr;
  bool frame_level_ = false;
  int64_t max_frames_ = 0, feature_size_ = 0, num_classes_ = 0;
  mutable std::shared_mutex mu_;
};

// Iterates over TFRecord batches as (video_ids, frames, num_frames, labels) with copied arrays.
class Reader {
 public:
  Reader(const std::string& pattern, const Archive* archive, bool frame_level,
         std::optional<std::string> feature_names, std::optional<std::string> feature_sizes,
         int max_frames, int num_classes, int batch_size) {
    y8m_reader* r = nullptr;
    if (archive != nullptr) {
      check(y8m_reader_open_for(pattern.c_str(), archive->handle(), batch_size, &r));
    } else {
      check(y8m_reader_open(pattern.c_str(), frame_level ? 1 : 0,
                            feature_names ? feature_names->c_str() : nullptr,
                            feature_sizes ? feature_sizes->c_str() : nullptr, max_frames,
                            num_classes, batch_size, &r));
    }
    r_ = r;
  }
  ~Reader() { y8m_reader_close(r_); }

  py::tuple next() {
    if (r_ == nullptr) throw py::stop_iteration();
    y8m_batch b{};
    y8m_status s;
    {
      py::gil_scoped_release nogil;
      s = y8m_reader_next(r_, &b);
    }
    check(s);
    if (b.size == 0) {
      y8m_reader_close(r_);
      r_ = nullptr;
      throw py::stop_iteration();
    }
    py::list ids;
    for (int64_t i = 0; i < b.size; ++i) ids.append(py::str(b.video_ids[i]));
    py::array frames;
    if (b.dtype == Y8M_UINT8) {
      py::array_t<uint8_t> a({b.size, b.max_frames, b.feature_size});
      std::memcpy(a.mutable_data(), b.frames, static_cast<size_t>(a.size()));
      frames = a;
    } else {
      py::array_t<float> a({b.size, b.feature_size});
      std::memcpy(a.mutable_data(), b.frames, static_cast<size_t>(a.size()) * sizeof(float));
      frames = a;
    }
    py::array_t<int32_t> num_frames(b.size);
    std::memcpy(num_frames.mutable_data(), b.num_frames, static_cast<size_t>(b.size) * 4);
    py::array_t<float> labels({b.size, b.num_classes});
    std::memcpy(labels.mutable_data(), b.labels, static_cast<size_t>(labels.size()) * 4);
    return py::make_tuple(ids, frames, num_frames, labels);
  }

 private:
  y8m_reader* r_ = nullptr;
};

}  // namespace

PYBIND11_MODULE(_y8m, m) {
  m.doc() = "y8m C API bindings (use the y8m package)";
  m.def("version", [] { return std::string(y8m_version()); });
  m.def(
      "dequantize",
      [](const py::array_t<uint8_t, py::array::c_style>& q) {
        py::array_t<float> out(std::vector<py::ssize_t>(q.shape(), q.shape() + q.ndim()));
        check(y8m_dequantize(q.data(), static_cast<size_t>(q.size()), out.mutable_data()));
        return out;
      },
      py::arg("frames"));
  py::class_<Archive>(m, "Archive")
      .def(py::init<const std::string&, std::optional<std::string>>(), py::arg("path"),
           py::arg("device") = py::none())
      .def("predict", &Archive::predict, py::arg("frames"), py::arg("num_frames") = py::none(),
           py::arg("seed") = 0)
      .def("close", &Archive::close)
      .def("metadata", &Archive::metadata, py::arg("key"))
      .def_property_readonly("closed", &Archive::closed)
      .def_property_readonly("path", &Archive::path)
      .def_property_readonly("frame_level", &Archive::frame_level)
      .def_property_readonly("max_frames", &Archive::max_frames)
      .def_property_readonly("feature_size", &Archive::feature_size)
      .def_property_readonly("num_classes", &Archive::num_classes)
      .def_property_readonly("features", &Archive::features)
      .def_property_readonly("inputs", &Archive::inputs)
      .def_property_readonly("outputs", &Archive::outputs)
      .def_property_readonly("model",
                             [](const Archive& a) { return a.str_query(y8m_archive_model); })
      .def_property_readonly("device",
                             [](const Archive& a) { return a.str_query(y8m_archive_device); });
  py::class_<Reader>(m, "_Reader")
      .def(py::init<const std::string&, const Archive*, bool, std::optional<std::string>,
                    std::optional<std::string>, int, int, int>())
      .def("__iter__", [](Reader& r) -> Reader& { return r; })
      .def("__next__", &Reader::next);
}
