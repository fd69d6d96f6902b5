// TensorBoard event files: scalar summaries written as TensorFlow Event protos in TFRecord framing,
// in <dir>/events.out.tfevents.<unix time>.<host>, readable by TensorBoard while training runs.
#pragma once
#include "io/io_layer.h"

#include "io/tfrecord.h"

#include <memory>
#include <string>

namespace y8m::io {

class EventWriter {
 public:
  explicit EventWriter(const std::string& dir);
  void scalar(const std::string& tag, double value, int64_t step);
  void flush() { writer_->flush(); }
  const std::string& path() const { return writer_->path(); }

 private:
  std::unique_ptr<RecordWriter> writer_;
};

}  // namespace y8m::io
