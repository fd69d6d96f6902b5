#include "io/events.h"

#include "engine/error.h"
#include "io/proto/event.pb.h"

#include <unistd.h>

#include <chrono>

namespace y8m::io {

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

EventWriter::EventWriter(const std::string& dir) {
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  const double t = now_seconds();
  std::string path =
      fmt::format("{}/events.out.tfevents.{}.{}", dir, static_cast<int64_t>(t), host);
  for (int i = 1; ::access(path.c_str(), F_OK) == 0; ++i)  // a second writer in the same second
    path = fmt::format("{}/events.out.tfevents.{}.{}.{}", dir, static_cast<int64_t>(t), host, i);
  writer_ = std::make_unique<RecordWriter>(path, /*atomic=*/false);
  tensorflow::Event e;
  e.set_wall_time(t);
  e.set_file_version("brain.Event:2");
  writer_->write(e.SerializeAsString());
  writer_->flush();
}

void EventWriter::scalar(const std::string& tag, double value, int64_t step) {
  tensorflow::Event e;
  e.set_wall_time(now_seconds());
  e.set_step(step);
  auto* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
  writer_->write(e.SerializeAsString());
}

}  // namespace y8m::io
