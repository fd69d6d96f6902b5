// Tensor: shape, dtype, device and a reference-counted Storage. Always contiguous row-major; views
// are made only by reshape and by slicing the leading dimension, so a view is (storage, byte
// offset, shape). Copying a Tensor copies the handle (both refer to the same tensor, as in
// PyTorch); clone() copies data.
//
// The engine knows nothing of autograd: a tensor carries an opaque AutogradMetaBase slot that the
// autograd layer fills (requires_grad, grad, grad_fn). Functions here never record gradients.
#pragma once
#include "engine/engine_layer.h"

#include "engine/device.h"
#include "engine/dtype.h"
#include "engine/error.h"
#include "engine/memory.h"

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace y8m::engine {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[2, 3]"
int64_t shape_numel(const Shape& s);    // overflow-checked product

// Autograd's per-tensor state lives behind this interface (autograd/variable.h).
struct AutogradMetaBase {
  virtual ~AutogradMetaBase() = default;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // bytes into storage
  Shape shape;
  DType dtype = DType::f32;
  std::shared_ptr<AutogradMetaBase> autograd;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Factories. `pinned` allocates page-locked host memory (only for the CPU device).
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu(),
                      bool pinned = false);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
                     Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu()) {
    return full(shape, 1.0, dtype, device);
  }
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape,
                            Device device = Device::cpu());
  static Tensor scalar(double value, DType dtype = DType::f32, Device device = Device::cpu()) {
    return full({}, value, dtype, device);
  }
  // A tensor over memory owned elsewhere; `keep_alive` is held as long as the data is used.
  static Tensor wrap(void* data, const Shape& shape, DType dtype, Device device,
                     std::shared_ptr<void> keep_alive);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  bool is_pinned() const { return impl().storage->pinned(); }
  std::string str() const;  // "f32[2, 3] on cpu"

  void* data_ptr() const { return static_cast<char*>(impl().storage->data()) + impl().offset; }
  template <class T>
  T* data() const {
    Y8M_CHECK(DTypeOf<T>::value == dtype(), "tensor: data<{}>() on a {} tensor",
              dtype_name(DTypeOf<T>::value), str());
    return static_cast<T*>(data_ptr());
  }

  // Views (share storage; no autograd: ops::reshape records the gradient).
  Tensor reshape(Shape shape) const;                    // one dimension may be -1
  Tensor slice_rows(int64_t begin, int64_t end) const;  // [begin, end) along dimension 0
  Tensor row(int64_t i) const {
    return slice_rows(i, i + 1).reshape(Shape(shape().begin() + 1, shape().end()));
  }

  // Copies. Host -> CUDA runs on the device's copy stream, so the upload of the next batch overlaps
  // the kernels still queued on the compute stream, which waits for it (no host blocking). From
  // pinned memory the copy reads the host block after `to` returns: see host_read_pending().
  Tensor to(Device device) const;  // same tensor if already there
  Tensor to(DType dtype) const;    // element conversion (CPU, and f32<->f16/bf16/f64 on CUDA)
  Tensor clone() const;
  void copy_from(const Tensor& src);  // same dtype and element count; any pair of devices
  void fill(double value);

  // Host copies of the elements, converted to T (any dtype; synchronizes a CUDA device).
  template <class T>
  std::vector<T> to_vector() const;
  template <class T>
  T item() const;

  bool same(const Tensor& o) const { return impl_ == o.impl_; }
  bool shares_storage(const Tensor& o) const {
    return defined() && o.defined() && impl_->storage == o.impl_->storage;
  }
  long storage_use_count() const { return impl().storage.use_count(); }
  // Pinned host tensors: whether an upload may still be reading this memory (a buffer pool must
  // not refill it yet), and waiting for such reads to finish.
  bool host_read_pending() const { return impl().storage->read_pending(); }
  void wait_host_reads() const { impl().storage->wait_reads(); }
  long use_count() const { return impl_.use_count(); }
  AutogradMetaBase* autograd_meta() const { return impl().autograd.get(); }
  void set_autograd_meta(std::shared_ptr<AutogradMetaBase> m) const {
    impl().autograd = std::move(m);
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  TensorImpl& impl() const {
    Y8M_CHECK(impl_ != nullptr, "tensor: use of an undefined tensor");
    return *impl_;
  }
  std::shared_ptr<TensorImpl> impl_;
};

// Raw (non-differentiable) element-wise helpers used by autograd and optimizers.
Tensor add(const Tensor& a, const Tensor& b);  // same shape, dtype and device
void scale_(Tensor& t, double s);              // t *= s (floating dtypes)

// Throws "<what>: expected <dtype>, got <tensor>" style errors.
void check_dtype(const Tensor& t, DType want, const char* what);
void check_same_device(const Tensor& a, const Tensor& b, const char* what);

}  // namespace y8m::engine

namespace y8m {
using engine::Device;
using engine::DType;
using engine::Shape;
using engine::Tensor;
}  // namespace y8m
