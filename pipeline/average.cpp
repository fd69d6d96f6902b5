#include "pipeline/average.h"

#include "engine/error.h"

#include <memory>

namespace y8m::pipeline {

Averaged average_models(const std::vector<std::string>& paths) {
  Y8M_CHECK(!paths.empty(), "--models: give the models to average");
  std::vector<std::unique_ptr<io::Container>> in;
  for (const auto& p : paths) {
    in.push_back(std::make_unique<io::Container>(p));
    in.back()->verify();
  }
  const io::Container& ref = *in[0];
  Y8M_CHECK(ref.kind() == "archive" || ref.kind() == "checkpoint", "{}: cannot average a '{}'",
            ref.path(), ref.kind());
  for (size_t m = 1; m < in.size(); ++m) {
    const io::Container& c = *in[m];
    Y8M_CHECK(c.kind() == ref.kind(), "{} is a {} but {} is a {}", c.path(), c.kind(), ref.path(),
              ref.kind());
    for (const auto& kv : ref.model_config()) {
      const auto it = c.model_config().find(kv.first);
      Y8M_CHECK(it != c.model_config().end() && it->second == kv.second,
                "different architectures: {} has {}={} but {} has {}", ref.path(), kv.first,
                kv.second, c.path(), it == c.model_config().end() ? "no such setting" : it->second);
    }
    Y8M_CHECK(c.model_config().size() == ref.model_config().size(),
              "different architectures: {} and {}", ref.path(), c.path());
  }
  const bool checkpoint = ref.kind() == "checkpoint";
  Averaged result;
  io::ContainerContents& out = result.contents;
  out.kind = ref.kind();
  out.model_config = ref.model_config();
  out.graph = ref.graph();
  out.metadata = ref.metadata();
  std::string sources;
  for (const auto& p : paths) sources += (sources.empty() ? "" : ",") + p;
  out.metadata["averaged_from"] = sources;
  int64_t step = 0;
  for (const auto& c : in)
    if (c->metadata().count("step"))
      step = std::max<int64_t>(step, std::stoll(c->metadata().at("step")));
  for (const auto& t : ref.tensors()) {
    if (checkpoint && t.name.rfind("optimizer/", 0) == 0)
      continue;  // a fresh optimizer after averaging
    Tensor sum = Tensor::zeros(t.tensor.shape(), DType::f64);
    for (const auto& c : in) {
      const io::ContainerTensor* other = c->find(t.name);
      Y8M_CHECK(other != nullptr, "{} has no tensor '{}' (different architectures)", c->path(),
                t.name);
      Y8M_CHECK(
          other->tensor.shape() == t.tensor.shape() && other->tensor.dtype() == t.tensor.dtype(),
          "tensor '{}' is {} in {} but {} in {}", t.name, t.tensor.str(), ref.path(),
          other->tensor.str(), c->path());
      Y8M_CHECK(engine::is_floating(t.tensor.dtype()) && t.codebook.empty(),
                "tensor '{}' is quantized ({}); average float models before quantizing", t.name,
                engine::dtype_name(t.tensor.dtype()));
      const std::vector<double> v = other->tensor.to_vector<double>();
      double* s = sum.data<double>();
      for (size_t i = 0; i < v.size(); ++i) s[i] += v[i];
    }
    double* s = sum.data<double>();
    for (int64_t i = 0; i < sum.numel(); ++i) s[i] /= static_cast<double>(in.size());
    out.tensors.push_back({t.name, sum.to(t.tensor.dtype()), ""});
  }
  result.step = step;
  return result;
}

}  // namespace y8m::pipeline
