#include "engine/tensor.h"

#include "engine/parallel.h"
#include "engine/stream.h"

#include <cmath>
#include <cstring>
#include <limits>

#ifdef Y8M_WITH_CUDA
#include "engine/cuda_context.h"
#include "engine/tensor_cuda.h"
#endif

namespace y8m::engine {

std::string shape_str(const Shape& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    Y8M_CHECK(d >= 0, "tensor: negative dimension in shape {}", shape_str(s));
    Y8M_CHECK(d == 0 || n <= std::numeric_limits<int64_t>::max() / d,
              "tensor: element count of shape {} overflows", shape_str(s));
    n *= d;
  }
  return n;
}

namespace {

// Element conversion through double for floats and through int64 for integers.
double load_f(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::f32:
      return static_cast<const float*>(p)[i];
    case DType::f64:
      return static_cast<const double*>(p)[i];
    case DType::f16:
      return half_to_float(static_cast<const Half*>(p)[i]);
    case DType::bf16:
      return bf16_to_float(static_cast<const BFloat16*>(p)[i]);
    case DType::u8:
      return static_cast<const uint8_t*>(p)[i];
    case DType::i8:
      return static_cast<const int8_t*>(p)[i];
    case DType::i32:
      return static_cast<const int32_t*>(p)[i];
    case DType::i64:
      return static_cast<double>(static_cast<const int64_t*>(p)[i]);
  }
  return 0;
}
int64_t load_i(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::u8:
      return static_cast<const uint8_t*>(p)[i];
    case DType::i8:
      return static_cast<const int8_t*>(p)[i];
    case DType::i32:
      return static_cast<const int32_t*>(p)[i];
    case DType::i64:
      return static_cast<const int64_t*>(p)[i];
    default:
      return static_cast<int64_t>(load_f(p, t, i));
  }
}
void store(void* p, DType t, int64_t i, double v, int64_t iv, bool from_int) {
  switch (t) {
    case DType::f32:
      static_cast<float*>(p)[i] = static_cast<float>(v);
      break;
    case DType::f64:
      static_cast<double*>(p)[i] = v;
      break;
    case DType::f16:
      static_cast<Half*>(p)[i] = float_to_half(static_cast<float>(v));
      break;
    case DType::bf16:
      static_cast<BFloat16*>(p)[i] = float_to_bf16(static_cast<float>(v));
      break;
    case DType::u8:
      static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(from_int ? iv : static_cast<int64_t>(v));
      break;
    case DType::i8:
      static_cast<int8_t*>(p)[i] = static_cast<int8_t>(from_int ? iv : static_cast<int64_t>(v));
      break;
    case DType::i32:
      static_cast<int32_t*>(p)[i] = static_cast<int32_t>(from_int ? iv : static_cast<int64_t>(v));
      break;
    case DType::i64:
      static_cast<int64_t*>(p)[i] = from_int ? iv : static_cast<int64_t>(v);
      break;
  }
}
bool is_int(DType t) { return !is_floating(t); }

void convert_cpu(const void* src, DType from, void* dst, DType to, int64_t n) {
  const bool ints = is_int(from);
  parallel_for(0, n, 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      if (ints) {
        const int64_t iv = load_i(src, from, i);
        store(dst, to, i, static_cast<double>(iv), iv, true);
      } else {
        store(dst, to, i, load_f(src, from, i), 0, false);
      }
    }
  });
}

// numel * element size, checked: the product must not wrap around (a wrapped size would allocate a
// tiny block for a huge tensor).
size_t byte_count(const Shape& shape, DType dtype) {
  const int64_t n = shape_numel(shape);
  const int64_t es = static_cast<int64_t>(dtype_size(dtype));
  Y8M_CHECK(n <= std::numeric_limits<int64_t>::max() / es, "tensor: byte size of {}{} overflows",
            dtype_name(dtype), shape_str(shape));
  return static_cast<size_t>(n * es);
}

// The byte pattern of `value` in `dtype`, for fills.
uint64_t fill_pattern(double value, DType dtype) {
  uint64_t bits = 0;
  store(&bits, dtype, 0, value, static_cast<int64_t>(value), false);
  return bits;
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device, bool pinned) {
  Y8M_CHECK(!pinned || device.is_cpu(), "tensor: pinned memory is host memory, not {}",
            device.str());
  auto impl = std::make_shared<TensorImpl>();
  const size_t bytes = byte_count(shape, dtype);
  impl->storage = std::make_shared<Storage>(bytes, device,
                                            pinned ? Storage::Kind::pinned : Storage::Kind::device);
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill(value);
  return t;
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  Y8M_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape),
            "tensor: from_vector got {} values for shape {}", values.size(), shape_str(shape));
  Tensor host = empty(shape, DTypeOf<T>::value, Device::cpu());
  if (!values.empty()) std::memcpy(host.data_ptr(), values.data(), values.size() * sizeof(T));
  return host.to(device);
}

Tensor Tensor::wrap(void* data, const Shape& shape, DType dtype, Device device,
                    std::shared_ptr<void> keep_alive) {
  auto impl = std::make_shared<TensorImpl>();
  const size_t bytes = byte_count(shape, dtype);
  impl->storage = std::make_shared<Storage>(data, bytes, device,
                                            [k = std::move(keep_alive)]() mutable { k.reset(); });
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t d) const {
  const int64_t n = dim();
  const int64_t i = d < 0 ? d + n : d;
  Y8M_CHECK(i >= 0 && i < n, "tensor: dimension {} out of range for {}", d, str());
  return shape()[static_cast<size_t>(i)];
}

std::string Tensor::str() const {
  if (!defined()) return "undefined tensor";
  return fmt::format("{}{} on {}", dtype_name(dtype()), shape_str(shape()), device().str());
}

Tensor Tensor::reshape(Shape shape) const {
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      Y8M_CHECK(infer < 0, "reshape: more than one -1 in {}", shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      Y8M_CHECK(shape[i] >= 0, "reshape: bad dimension in {}", shape_str(shape));
      Y8M_CHECK(shape[i] == 0 || known <= std::numeric_limits<int64_t>::max() / shape[i],
                "reshape: cannot reshape {} to {} (element count overflows)", str(),
                shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    Y8M_CHECK(known > 0 && numel() % known == 0, "reshape: cannot reshape {} to {}", str(),
              shape_str(shape));
    shape[static_cast<size_t>(infer)] = numel() / known;
  }
  Y8M_CHECK(shape_numel(shape) == numel(), "reshape: cannot reshape {} to {} ({} vs {} elements)",
            str(), shape_str(shape), numel(), shape_numel(shape));
  auto v = std::make_shared<TensorImpl>();
  v->storage = impl().storage;
  v->offset = impl().offset;
  v->shape = std::move(shape);
  v->dtype = dtype();
  return Tensor(std::move(v));
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  Y8M_CHECK(dim() >= 1, "slice_rows: needs at least one dimension, got {}", str());
  const int64_t rows = shape()[0];
  Y8M_CHECK(0 <= begin && begin <= end && end <= rows,
            "slice_rows: range [{}, {}) outside {} rows of {}", begin, end, rows, str());
  const int64_t row_elems = rows == 0 ? 0 : numel() / rows;
  auto v = std::make_shared<TensorImpl>();
  v->storage = impl().storage;
  v->offset = impl().offset + static_cast<size_t>(begin * row_elems) * dtype_size(dtype());
  v->shape = shape();
  v->shape[0] = end - begin;
  v->dtype = dtype();
  return Tensor(std::move(v));
}

void Tensor::copy_from(const Tensor& src) {
  Y8M_CHECK(src.dtype() == dtype() && src.numel() == numel(), "copy: cannot copy {} into {}",
            src.str(), str());
  const size_t bytes = nbytes();
  if (bytes == 0) return;
  if (device().is_cpu() && src.device().is_cpu()) {
    std::memcpy(data_ptr(), src.data_ptr(), bytes);
    return;
  }
#ifdef Y8M_WITH_CUDA
  // Queue on the compute stream of the CUDA side so the copy is ordered with kernels; a copy to the
  // host synchronizes because the caller reads the result next.
  const int dev = device().is_cuda() ? device().index : src.device().index;
  cuda::set_device(dev);
  cudaStream_t s = cuda::compute_stream(dev);
  if (device().is_cuda() && src.device().is_cuda() && device().index != src.device().index) {
    Y8M_CUDA_CHECK(cudaMemcpyPeerAsync(data_ptr(), device().index, src.data_ptr(),
                                       src.device().index, bytes, s));
  } else {
    Y8M_CUDA_CHECK(cudaMemcpyAsync(data_ptr(), src.data_ptr(), bytes, cudaMemcpyDefault, s));
  }
  if (device().is_cpu()) Y8M_CUDA_CHECK(cudaStreamSynchronize(s));
#else
  Y8M_FAIL("copy: {}", cuda_unavailable_reason());
#endif
}

void Tensor::fill(double value) {
  const int64_t n = numel();
  if (n == 0) return;
  const uint64_t pattern = fill_pattern(value, dtype());
  const int eb = static_cast<int>(dtype_size(dtype()));
  if (device().is_cpu()) {
    char* p = static_cast<char*>(data_ptr());
    parallel_for(0, n, 1 << 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) std::memcpy(p + i * eb, &pattern, static_cast<size_t>(eb));
    });
    return;
  }
#ifdef Y8M_WITH_CUDA
  cuda::set_device(device().index);
  cuda::fill_pattern(data_ptr(), n, eb, pattern, cuda::compute_stream(device().index));
#endif
}

#ifdef Y8M_WITH_CUDA
namespace {

// Host -> CUDA into a fresh block allocated for the copy stream; the compute stream waits for the
// copy's event, and a pinned source keeps the event until the copy has read it.
Tensor upload(const Tensor& src, const std::shared_ptr<Storage>& src_storage, Device device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(byte_count(src.shape(), src.dtype()), device,
                                            Storage::Kind::device, StreamUse::copy);
  impl->shape = src.shape();
  impl->dtype = src.dtype();
  Tensor out(std::move(impl));
  const size_t bytes = src.nbytes();
  cuda::set_device(device.index);
  if (bytes > 0) {
    Y8M_CUDA_CHECK(cudaMemcpyAsync(out.data_ptr(), src.data_ptr(), bytes, cudaMemcpyHostToDevice,
                                   cuda::copy_stream(device.index)));
  }
  // Even with nothing copied: the block was allocated on the copy stream, and frees are ordered on
  // the compute stream.
  auto done = std::make_shared<Event>();
  done->record(device, /*copy_stream=*/true);
  done->wait_on_compute(device);
  if (src_storage->pinned() && bytes > 0) src_storage->set_pending_read(std::move(done));
  return out;
}

}  // namespace
#endif

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
#ifdef Y8M_WITH_CUDA
  if (this->device().is_cpu() && device.is_cuda() && device.index < cuda_device_count())
    return upload(*this, impl().storage, device);
#endif
  Tensor out = empty(shape(), dtype(), device);
  out.copy_from(*this);
  return out;
}

Tensor Tensor::to(DType to_dtype) const {
  if (to_dtype == dtype()) return *this;
  Tensor out = empty(shape(), to_dtype, device());
  if (numel() == 0) return out;
  if (device().is_cpu()) {
    convert_cpu(data_ptr(), dtype(), out.data_ptr(), to_dtype, numel());
    return out;
  }
#ifdef Y8M_WITH_CUDA
  cuda::set_device(device().index);
  Y8M_CHECK(cuda::cast(dtype(), to_dtype, data_ptr(), out.data_ptr(), numel(),
                       cuda::compute_stream(device().index)),
            "cast: {} -> {} is not supported on CUDA (cast on the CPU)", str(),
            dtype_name(to_dtype));
#endif
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  out.copy_from(*this);
  return out;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = to(Device::cpu());
  std::vector<T> out(static_cast<size_t>(numel()));
  if (host.dtype() == DTypeOf<T>::value) {
    if (!out.empty()) std::memcpy(out.data(), host.data_ptr(), out.size() * sizeof(T));
  } else {
    convert_cpu(host.data_ptr(), host.dtype(), out.data(), DTypeOf<T>::value, numel());
  }
  return out;
}

template <class T>
T Tensor::item() const {
  Y8M_CHECK(numel() == 1, "item: tensor {} has {} elements, not 1", str(), numel());
  return to_vector<T>()[0];
}

#define Y8M_INSTANTIATE(T)                                                             \
  template Tensor Tensor::from_vector<T>(const std::vector<T>&, const Shape&, Device); \
  template std::vector<T> Tensor::to_vector<T>() const;                                \
  template T Tensor::item<T>() const;
Y8M_INSTANTIATE(float)
Y8M_INSTANTIATE(double)
Y8M_INSTANTIATE(uint8_t)
Y8M_INSTANTIATE(int8_t)
Y8M_INSTANTIATE(int32_t)
Y8M_INSTANTIATE(int64_t)
Y8M_INSTANTIATE(Half)
Y8M_INSTANTIATE(BFloat16)
#undef Y8M_INSTANTIATE

void check_dtype(const Tensor& t, DType want, const char* what) {
  Y8M_CHECK(t.dtype() == want, "{}: expected a {} tensor, got {}", what, dtype_name(want), t.str());
}

void check_same_device(const Tensor& a, const Tensor& b, const char* what) {
  Y8M_CHECK(a.device() == b.device(), "{}: tensors on different devices: {} and {}", what, a.str(),
            b.str());
}

Tensor add(const Tensor& a, const Tensor& b) {
  Y8M_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype(), "add: {} and {} differ", a.str(),
            b.str());
  check_same_device(a, b, "add");
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  const int64_t n = a.numel();
  if (a.device().is_cpu()) {
    Y8M_CHECK(a.dtype() == DType::f32 || a.dtype() == DType::f64, "add: unsupported dtype {}",
              a.str());
    parallel_for(0, n, 1 << 15, [&](int64_t b0, int64_t e) {
      if (a.dtype() == DType::f32) {
        const float *x = a.data<float>(), *y = b.data<float>();
        float* o = out.data<float>();
        for (int64_t i = b0; i < e; ++i) o[i] = x[i] + y[i];
      } else {
        const double *x = a.data<double>(), *y = b.data<double>();
        double* o = out.data<double>();
        for (int64_t i = b0; i < e; ++i) o[i] = x[i] + y[i];
      }
    });
    return out;
  }
#ifdef Y8M_WITH_CUDA
  cuda::set_device(a.device().index);
  cuda::add(a.dtype(), a.data_ptr(), b.data_ptr(), out.data_ptr(), n,
            cuda::compute_stream(a.device().index));
#endif
  return out;
}

void scale_(Tensor& t, double s) {
  const int64_t n = t.numel();
  if (t.device().is_cpu()) {
    Y8M_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, "scale: unsupported dtype {}",
              t.str());
    parallel_for(0, n, 1 << 15, [&](int64_t b, int64_t e) {
      if (t.dtype() == DType::f32) {
        float* p = t.data<float>();
        const float fs = static_cast<float>(s);
        for (int64_t i = b; i < e; ++i) p[i] *= fs;
      } else {
        double* p = t.data<double>();
        for (int64_t i = b; i < e; ++i) p[i] *= s;
      }
    });
    return;
  }
#ifdef Y8M_WITH_CUDA
  cuda::set_device(t.device().index);
  cuda::scale(t.dtype(), t.data_ptr(), n, s, cuda::compute_stream(t.device().index));
#endif
}

}  // namespace y8m::engine
